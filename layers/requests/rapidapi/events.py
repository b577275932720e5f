"""Turns an invalid event into InvalidInputError naming the field and what was expected."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rapidapi.errors import InvalidInputError

Model = TypeVar("Model", bound=BaseModel)


def parse_event(model: type[Model], event: Any) -> Model:
    if not isinstance(event, dict):
        raise InvalidInputError(f"The event must be a JSON object, got {type(event).__name__}.")
    try:
        return model.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(
            f"field '{'.'.join(str(part) for part in issue['loc']) or '(event)'}': {issue['msg']}"
            f" (got {issue['input']!r})"
            for issue in error.errors(include_url=False)
        )
        raise InvalidInputError(f"Invalid event: {problems}.") from None
