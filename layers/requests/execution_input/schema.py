"""The execution input: its fields, the stack's defaults, AWS's rules and the stack's IAM bounds.

`validate_execution_input` runs first in every execution (ValidateExecutionInputFunction), before anything
is fetched or written, and returns the complete request the state machine works from.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from execution_input.errors import InvalidInputError, InvalidStackParameterError
from execution_input.rules import (
    ANY_NAME,
    BUCKET_NAME,
    EMAIL,
    MATH_RANDOM_MAX,
    MATH_RANDOM_MIN,
    MAX_COUNTRIES_PER_EXECUTION,
    MAX_SYMBOLS_PER_EXECUTION,
    STREAM_NAME,
    TOPIC_NAME,
    normalise_country,
    normalise_symbol,
)


@dataclass(frozen=True)
class StackBounds:
    """The stack's defaults for fields an input leaves out, the names beyond its own it may write, and how
    fast and how tolerantly a watchlist is fetched."""

    default_symbols: str  # comma-separated, as the template's StockSymbols parameter holds them
    default_countries: str
    data_bucket_name: str
    subscription_stream_name: str
    notification_topic_name: str
    notification_email: str
    glue_job_name: str
    # One extra name per kind ("" for none, "*" for any), as the template's Input*Name parameters say.
    input_bucket_name: str = ""
    input_stream_name: str = ""
    input_topic_name: str = ""
    # Requests per minute to each RapidAPI API (the plan's limit), and fetches that may fail for good
    # before the execution fails.
    requests_per_minute: str = "5"
    tolerated_fetch_failures: str = "0"

    # The environment variables the template gives ValidateExecutionInputFunction.
    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "default_symbols": "DEFAULT_SYMBOLS",
        "default_countries": "DEFAULT_COUNTRIES",
        "data_bucket_name": "DATA_BUCKET_NAME",
        "subscription_stream_name": "SUBSCRIPTION_STREAM_NAME",
        "notification_topic_name": "NOTIFICATION_TOPIC_NAME",
        "notification_email": "NOTIFICATION_EMAIL",
        "glue_job_name": "GLUE_JOB_NAME",
        "input_bucket_name": "INPUT_BUCKET_NAME",
        "input_stream_name": "INPUT_STREAM_NAME",
        "input_topic_name": "INPUT_TOPIC_NAME",
        "requests_per_minute": "RAPIDAPI_REQUESTS_PER_MINUTE",
        "tolerated_fetch_failures": "TOLERATED_FETCH_FAILURES",
    }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "StackBounds":
        missing = [name for name in cls.ENVIRONMENT.values() if name not in environ]
        if missing:
            raise RuntimeError(f"Environment variables not set: {', '.join(missing)}")
        return cls(**{field: environ[name] for field, name in cls.ENVIRONMENT.items()})


class StockFetch(BaseModel):
    """One symbol of the watchlist, and the instant its request may go out (the rate limit's pacing)."""

    symbol: str
    notBefore: str


class SubscriptionFetch(BaseModel):
    country: str
    notBefore: str


class ExecutionRequest(BaseModel):
    """The request every later state reads: each field present, valid and within the stack's bounds."""

    workflow: Literal["etl", "streaming"] | None
    start: int | float | None
    end: int | float | None
    symbols: list[str]
    countries: list[str]
    stockFetches: list[StockFetch]
    subscriptionFetches: list[SubscriptionFetch]
    toleratedFetchFailures: int
    batchBucketName: str
    streamName: str
    topicName: str
    email: str
    glueJobName: str


# The input fields that name AWS resources, and each one's naming rule.
_RESOURCE_NAME_RULES = {"batchBucketName": BUCKET_NAME, "streamName": STREAM_NAME, "topicName": TOPIC_NAME}


class _ExecutionInput(BaseModel):
    """What an execution input may hold; every field optional, none other allowed."""

    model_config = ConfigDict(extra="forbid")

    workflow: Literal["etl", "streaming"] | None = Field(
        None, description='"etl" or "streaming"; leave it out to choose by States.MathRandom(start, end)'
    )
    start: Any = None
    end: Any = None
    symbol: str | None = Field(None, description="one stock symbol: a watchlist of one")
    symbols: list[str] | None = Field(None, description="the watchlist: a list of stock symbols")
    country: str | None = Field(None, description="one country code: a list of one")
    countries: list[str] | None = Field(None, description="a list of country codes")
    batchBucketName: str | None = None
    streamName: str | None = None
    topicName: str | None = None
    email: str | None = None
    glueJobName: str | None = None

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str | None) -> str | None:
        return None if value is None else normalise_symbol(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else normalise_country(value)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _watchlist(value, normalise_symbol, MAX_SYMBOLS_PER_EXECUTION)

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _watchlist(value, normalise_country, MAX_COUNTRIES_PER_EXECUTION)

    @field_validator("start", "end")
    @classmethod
    def _number(cls, value: Any) -> int | float | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, float):
            # JSON has no infinity or NaN, but a number past a double's range (1e309) parses as infinity.
            if math.isinf(value):
                raise ValueError("must be a finite number, got one beyond a double's range (such as 1e309)")
            if math.isnan(value):
                raise ValueError("must be a finite number, got NaN")
            return value
        raise ValueError(f"must be a number, got {_json_type(value)} {value!r:.60}")

    @field_validator(*_RESOURCE_NAME_RULES)
    @classmethod
    def _resource_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        rule = _RESOURCE_NAME_RULES[str(info.field_name)]
        return None if value is None else rule.checked(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return value  # "" subscribes nobody
        return EMAIL.checked(value)


def _watchlist(items: list[str], normalise: Callable[[str], str], most: int) -> list[str]:
    """The items normalised, duplicates removed and order kept; ValueError naming every bad item."""
    if not items:
        raise ValueError("must name at least one item, got an empty list")
    problems, normalised = [], []
    for position, item in enumerate(items):
        try:
            normalised.append(normalise(item))
        except ValueError as error:
            problems.append(f"item {position}: {error}")
    if problems:
        raise ValueError("; ".join(problems))
    unique = list(dict.fromkeys(normalised))
    if len(unique) > most:
        raise ValueError(
            f"names {len(unique)} distinct items, at most {most} per execution; split the list over"
            " several executions"
        )
    return unique


def _paced(items: list[str], requests_per_minute: int, now: datetime) -> list[str]:
    """When each item's request may go out: the one at position i at `now` plus i * 60/rate seconds,
    rounded down to a whole second, as a Wait state reads a timestamp (it truncates milliseconds). So any
    60 seconds hold at most `requests_per_minute` of an execution's slots, however many run at once."""
    start = now.astimezone(UTC).replace(microsecond=0)
    return [
        _timestamp(start + timedelta(seconds=position * 60 // requests_per_minute))
        for position in range(len(items))
    ]


# How long an execution may spend pacing its fetches: the rest of its time is for the Glue run (and its
# wait for other executions' runs); the state machine's TimeoutSeconds bounds the whole.
FETCH_WINDOW_MINUTES = 30


def _pacing_problem(field: str, count: int, requests_per_minute: int) -> str | None:
    minutes = (count - 1) / requests_per_minute
    if minutes <= FETCH_WINDOW_MINUTES:
        return None
    return (
        f"Field '{field}': {count} items at {requests_per_minute} requests a minute (template parameter"
        f" RapidApiRequestsPerMinute) take {minutes:.0f} minutes to fetch, more than the"
        f" {FETCH_WINDOW_MINUTES} an execution allows; split the list, or raise the rate to your plan's"
    )


def _timestamp(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _list_from_parameter(
    value: str, normalise: Callable[[str], str], most: int, parameter: str, problems: list[str]
) -> list[str]:
    """The stack's default list, under the input's own rules: a problem names the template parameter."""
    try:
        return _watchlist([item.strip() for item in value.split(",") if item.strip()], normalise, most)
    except ValueError as error:
        problems.append(f"Template parameter {parameter} (the default list): {error}")
        return []


def math_random_bound(value: float) -> int:
    """A bound as States.MathRandom uses it: rounded half up to an integer (Java's Math.round)."""
    return math.floor(value + 0.5)


def _json_type(value: Any) -> str:
    for python_type, name in ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number")):
        if isinstance(value, python_type):
            return name
    if isinstance(value, list):
        return "array"
    return "null" if value is None else type(value).__name__


def _describe(error: ValidationError) -> list[str]:
    problems = []
    for issue in error.errors(include_url=False):
        location = str(issue["loc"][0]) + "".join(f"[{part}]" for part in issue["loc"][1:])
        if issue["type"] == "extra_forbidden":
            fields = ", ".join(_ExecutionInput.model_fields)
            problems.append(f"Field '{location}' is not an input field (fields: {fields})")
            continue
        message = str(issue["msg"]).removeprefix("Value error, ")
        if issue["type"] in ("string_type", "int_type", "float_type", "literal_error"):
            message = f"{message}, got {_json_type(issue['input'])} {issue['input']!r:.60}"
        if issue["type"] == "list_type":
            message = f"must be a list of strings, got {_json_type(issue['input'])} {issue['input']!r:.60}"
        field = _ExecutionInput.model_fields.get(location)
        if issue["type"] == "literal_error" and field is not None and field.description:
            message = f"must be {field.description}, got {issue['input']!r:.60}"
        problems.append(f"Field '{location}': {message}")
    return problems


def _bound(field: str, value: str, own: str, extra: str, parameter: str) -> str | None:
    if value in (own, extra) or extra == ANY_NAME:
        return None
    allowed = f"the stack's own {own!r}" + (f" or {extra!r}" if extra else "")
    return (
        f"Field '{field}': {value!r} is not a name this stack may write; it allows {allowed}"
        f" (widen with the template parameter {parameter})"
    )


def _range_problems(request: _ExecutionInput) -> list[str]:
    if request.workflow is not None:
        return []
    problems = [
        f"Field '{name}': must be a number without 'workflow': States.MathRandom(start, end) picks the"
        " workflow (1 = ETL)"
        for name in ("start", "end")
        if getattr(request, name) is None
    ]
    if problems:
        return problems
    assert request.start is not None and request.end is not None
    start, end = math_random_bound(request.start), math_random_bound(request.end)
    if not (MATH_RANDOM_MIN <= start < end <= MATH_RANDOM_MAX):
        return [
            f"Fields 'start' and 'end': must satisfy start < end once rounded to integers, both within"
            f" {MATH_RANDOM_MIN}..{MATH_RANDOM_MAX} (got {request.start!r}, {request.end!r})"
        ]
    return []


def _one_or_list(given: "_ExecutionInput", single: str, several: str) -> list[str] | str | None:
    """The list an input names through `single` or `several`; a message when it gives both."""
    one, many = getattr(given, single), getattr(given, several)
    if one is not None and many is not None:
        return f"Fields '{single}' and '{several}': give one of them, not both"
    return [one] if one is not None else many


def validate_execution_input(raw: Any, bounds: StackBounds, now: datetime | None = None) -> ExecutionRequest:
    """The complete request for `raw`, or InvalidInputError naming each field and the rule it breaks.
    `now` is when the first request of each watchlist may go out (the others follow at the plan's rate)."""
    if not isinstance(raw, dict):
        raise InvalidInputError(
            f'The execution input must be a JSON object such as {{"workflow": "etl"}}, got a JSON'
            f" {_json_type(raw)}."
        )
    try:
        given = _ExecutionInput.model_validate(raw)
    except ValidationError as error:
        raise InvalidInputError("; ".join(_describe(error)) + ".") from None

    problems = _range_problems(given)
    symbols = _one_or_list(given, "symbol", "symbols")
    countries = _one_or_list(given, "country", "countries")
    if isinstance(symbols, str):
        problems.append(symbols)
        symbols = []
    if isinstance(countries, str):
        problems.append(countries)
        countries = []
    # A default list that breaks the rules fails the executions of its workflow (a random draw may run
    # either), not the other's.
    symbol_defaults: list[str] = []
    country_defaults: list[str] = []
    if not symbols:
        symbols = _list_from_parameter(
            bounds.default_symbols,
            normalise_symbol,
            MAX_SYMBOLS_PER_EXECUTION,
            "StockSymbols",
            symbol_defaults,
        )
    if not countries:
        countries = _list_from_parameter(
            bounds.default_countries,
            normalise_country,
            MAX_COUNTRIES_PER_EXECUTION,
            "CountryCodes",
            country_defaults,
        )
    stack_problems = [
        *(symbol_defaults if given.workflow in (None, "etl") else []),
        *(country_defaults if given.workflow in (None, "streaming") else []),
    ]
    rate = int(bounds.requests_per_minute)
    start = now or datetime.now(UTC)
    # Only the workflow that runs fetches; a random draw may run either.
    for field, items, workflow in (("symbols", symbols, "etl"), ("countries", countries, "streaming")):
        if given.workflow in (None, workflow) and (problem := _pacing_problem(field, len(items), rate)):
            problems.append(problem)
    request = ExecutionRequest(
        workflow=given.workflow,
        start=given.start,
        end=given.end,
        symbols=symbols,
        countries=countries,
        stockFetches=[
            StockFetch(symbol=s, notBefore=t)
            for s, t in zip(symbols, _paced(symbols, rate, start), strict=True)
        ],
        subscriptionFetches=[
            SubscriptionFetch(country=c, notBefore=t)
            for c, t in zip(countries, _paced(countries, rate, start), strict=True)
        ],
        toleratedFetchFailures=int(bounds.tolerated_fetch_failures),
        batchBucketName=given.batchBucketName or bounds.data_bucket_name,
        streamName=given.streamName or bounds.subscription_stream_name,
        topicName=given.topicName or bounds.notification_topic_name,
        email=bounds.notification_email if given.email is None else given.email,
        glueJobName=given.glueJobName or bounds.glue_job_name,
    )
    for problem in (
        _bound(
            "batchBucketName",
            request.batchBucketName,
            bounds.data_bucket_name,
            bounds.input_bucket_name,
            "InputBucketName",
        ),
        _bound(
            "streamName",
            request.streamName,
            bounds.subscription_stream_name,
            bounds.input_stream_name,
            "InputStreamName",
        ),
        _bound(
            "topicName",
            request.topicName,
            bounds.notification_topic_name,
            bounds.input_topic_name,
            "InputTopicName",
        ),
    ):
        if problem is not None:
            problems.append(problem)
    if request.glueJobName != bounds.glue_job_name:
        problems.append(
            f"Field 'glueJobName': must name the Glue job this stack deploys, {bounds.glue_job_name!r}"
            f" (got {request.glueJobName!r:.80}); leave it out to use it"
        )
    if problems:
        raise InvalidInputError("; ".join(problems) + ".")
    if stack_problems:
        raise InvalidStackParameterError(
            "; ".join(stack_problems) + "; update the stack (sam deploy --parameter-overrides) or name the"
            " list in the input."
        )
    return request
