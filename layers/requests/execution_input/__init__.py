"""The execution input's one schema: AWS's naming rules, the project's formats and the stack's bounds."""

from typing import TYPE_CHECKING, Any

from execution_input.errors import InvalidInputError, InvalidStackParameterError
from execution_input.rules import NameRule, normalise_country, normalise_symbol

if TYPE_CHECKING:
    from execution_input.schema import (
        ExecutionRequest,
        StackBounds,
        math_random_bound,
        validate_execution_input,
    )

# The schema's models load on first use: the fetch functions import this package for its rules and error
# only, and should not build the execution input's models at their init.
_SCHEMA_NAMES = ("ExecutionRequest", "StackBounds", "math_random_bound", "validate_execution_input")


def __getattr__(name: str) -> Any:
    if name in _SCHEMA_NAMES:
        from execution_input import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ExecutionRequest",
    "InvalidInputError",
    "InvalidStackParameterError",
    "NameRule",
    "StackBounds",
    "math_random_bound",
    "normalise_country",
    "normalise_symbol",
    "validate_execution_input",
]
