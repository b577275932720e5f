"""The execution input's one schema: AWS's naming rules, the project's formats and the stack's bounds."""

from execution_input.errors import InvalidInputError
from execution_input.rules import NameRule
from execution_input.schema import (
    ExecutionRequest,
    StackBounds,
    math_random_bound,
    normalise_country,
    normalise_symbol,
    validate_execution_input,
)

__all__ = [
    "ExecutionRequest",
    "InvalidInputError",
    "NameRule",
    "StackBounds",
    "math_random_bound",
    "normalise_country",
    "normalise_symbol",
    "validate_execution_input",
]
