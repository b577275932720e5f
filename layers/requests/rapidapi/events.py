"""Validation messages that name the field and what was expected."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rapidapi.errors import InvalidInputError

Model = TypeVar("Model", bound=BaseModel)


def parse_event(model: type[Model], event: Any) -> Model:
    """Validate `event` with Powertools Parser; every problem is named in one InvalidInputError."""
    # Parser would also accept a JSON string; the state machine always sends an object.
    if not isinstance(event, dict):
        raise InvalidInputError(f"The event must be a JSON object, got {type(event).__name__}.")
    # Imported at the first event, not at the function's init, which needs nothing of Parser.
    from aws_lambda_powertools.utilities.parser import parse

    try:
        return parse(event=event, model=model)
    except ValidationError as error:
        problems = "; ".join(_describe(model, issue) for issue in error.errors(include_url=False))
        raise InvalidInputError(f"Invalid event: {problems}.") from None


def _describe(model: type[BaseModel], issue: Any) -> str:
    name = ".".join(str(part) for part in issue["loc"]) or "(event)"
    if issue["type"] == "value_error":  # a rule of execution_input's, which says what it expects
        return f"field '{name}': {str(issue['msg']).removeprefix('Value error, ')}"
    text = f"field '{name}': {issue['msg']}"
    if issue["type"] != "missing":  # for a missing field the input is the whole event
        text += f" (got {issue['input']!r:.80})"
    field = model.model_fields.get(str(issue["loc"][0])) if issue["loc"] else None
    if field is not None and field.description:
        text += f", expected {field.description}"
    return text


def summarise(error: ValidationError, limit: int = 3) -> str:
    """The first few problems of a validation error, each with where it is, short enough for a Cause."""
    issues = error.errors(include_url=False)
    text = "; ".join(
        f"'{'.'.join(str(part) for part in issue['loc']) or '(body)'}': {issue['msg']}"
        for issue in issues[:limit]
    )
    return text + (f"; and {len(issues) - limit} more" if len(issues) > limit else "")
