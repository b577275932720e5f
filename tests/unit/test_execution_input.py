"""The execution input's one schema: AWS's naming rules, defaults, the stack's bounds, and the handler."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import stock_data_etl
from execution_input import (
    InvalidInputError,
    InvalidStackParameterError,
    StackBounds,
    math_random_bound,
    validate_execution_input,
)
from execution_input.rules import (
    BUCKET_NAME,
    EMAIL,
    INPUT_NAMED_RESOURCE_PARAMETERS,
    MAX_COUNTRIES_PER_EXECUTION,
    MAX_SYMBOLS_PER_EXECUTION,
    STREAM_NAME,
    SYMBOL,
    TEMPLATE_LIST_PARAMETER_RULES,
    TOPIC_NAME,
    template_allowed_pattern,
)
from tests.unit.conftest import load_handler

REPO = Path(__file__).resolve().parents[2]
ORIGINAL = json.loads((REPO / "events" / "execution_original.json").read_text())

BOUNDS = StackBounds(
    default_symbols="MSFT",
    default_countries="ae",
    data_bucket_name="stack-databucket-1a2b3c",
    subscription_stream_name="stack-SubscriptionStream-1A2B",
    notification_topic_name="stack-NotificationTopic-1A2B",
    notification_email="",
    glue_job_name="StockDataETLJOB",
    input_bucket_name=ORIGINAL["batchBucketName"],
    input_stream_name=ORIGINAL["streamName"],
    input_topic_name=ORIGINAL["topicName"],
    requests_per_minute="5",
    tolerated_fetch_failures="0",
)
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def rejected(raw: object, bounds: StackBounds = BOUNDS) -> str:
    with pytest.raises(InvalidInputError) as error:
        validate_execution_input(raw, bounds)
    return str(error.value)


def test_the_original_input_is_accepted_unchanged():
    request = validate_execution_input(ORIGINAL, BOUNDS, NOW)
    assert request.model_dump() == {
        **ORIGINAL,
        "workflow": None,
        "symbols": ["MSFT"],
        "countries": ["ae"],
        "stockFetches": [{"symbol": "MSFT", "notBefore": "2026-12-04T09:30:00Z"}],
        "subscriptionFetches": [{"country": "ae", "notBefore": "2026-12-04T09:30:00Z"}],
        "toleratedFetchFailures": 0,
    }


def test_fields_left_out_take_the_stacks_defaults():
    request = validate_execution_input({"workflow": "etl"}, BOUNDS)
    assert (request.batchBucketName, request.streamName, request.topicName) == (
        BOUNDS.data_bucket_name,
        BOUNDS.subscription_stream_name,
        BOUNDS.notification_topic_name,
    )
    assert (request.symbols, request.countries, request.email, request.glueJobName) == (
        ["MSFT"],
        ["ae"],
        "",
        "StockDataETLJOB",
    )


def test_symbol_and_country_are_normalised():
    request = validate_execution_input({"workflow": "etl", "symbol": "brk.b", "country": "AE"}, BOUNDS)
    assert (request.symbols, request.countries) == (["BRK.B"], ["ae"])


@pytest.mark.parametrize(
    ("raw", "kind"),
    [([], "array"), (2, "number"), ("etl", "string"), (None, "null"), (True, "boolean")],
)
def test_an_input_that_is_not_an_object_is_refused_by_name(raw, kind):
    assert rejected(raw) == (
        f'The execution input must be a JSON object such as {{"workflow": "etl"}}, got a JSON {kind}.'
    )


BAD_FIELDS = [
    pytest.param({"workflow": "batch"}, 'Field \'workflow\': must be "etl" or "streaming"', id="workflow"),
    pytest.param({"start": "one", "end": 3}, "Field 'start': must be a number, got string", id="start-text"),
    pytest.param({"start": True, "end": 3}, "Field 'start': must be a number, got boolean", id="start-bool"),
    pytest.param({"start": 1}, "Field 'end': must be a number without 'workflow'", id="end-missing"),
    pytest.param({"start": 3, "end": 1}, "Fields 'start' and 'end': must satisfy start < end", id="reversed"),
    pytest.param({"start": 1.2, "end": 1.4}, "Fields 'start' and 'end'", id="same-once-rounded"),
    pytest.param({"start": 0, "end": 2**31}, "Fields 'start' and 'end'", id="beyond-java-int"),
    # As the handler gets them: a JSON number past a double's range parses as infinity.
    pytest.param(
        json.loads('{"start": 1e309, "end": 2}'),
        "Field 'start': must be a finite number, got one beyond a double's range",
        id="start-overflows",
    ),
    pytest.param(
        json.loads('{"start": 1, "end": -1e400}'), "Field 'end': must be a finite number", id="end-overflows"
    ),
    pytest.param(json.loads('{"start": NaN, "end": 2}'), "must be a finite number, got NaN", id="start-nan"),
    pytest.param(
        {"workflow": "etl", "symbol": "ß"},
        "Field 'symbol': 'ß' breaks the stock-symbol rule: character 1 is not ASCII (U+00DF)",
        id="sym-sharp-s-is-not-SS",
    ),
    pytest.param(
        {"workflow": "etl", "symbol": "MS\u0131"}, "character 3 is not ASCII (U+0131)", id="sym-dotless-i"
    ),
    pytest.param(
        {"workflow": "streaming", "country": "\u212ae"},
        "Field 'country': '\u212ae' breaks the country-code rule: character 1 is not ASCII (U+212A)",
        id="country-kelvin-sign-is-not-k",
    ),
    pytest.param(
        {"workflow": "streaming", "country": "\uff41\uff45"}, "not ASCII (U+FF41)", id="country-fullwidth"
    ),
    pytest.param(
        {"workflow": "etl", "symbol": ""}, "Field 'symbol': '' breaks the stock-symbol rule", id="sym"
    ),
    pytest.param({"workflow": "etl", "symbol": "MS/FT"}, "Field 'symbol': 'MS/FT' breaks", id="sym-slash"),
    pytest.param({"workflow": "etl", "symbol": "-MSFT"}, "Field 'symbol'", id="sym-leading-dash"),
    pytest.param(
        {"country": 7, "workflow": "streaming"}, "Field 'country': Input should be a valid string", id="c"
    ),
    pytest.param({"country": "uae", "workflow": "streaming"}, "breaks the country-code rule", id="country-3"),
    pytest.param(
        {"workflow": "etl", "batchBucketName": "StockData"},
        "breaks the S3 bucket-name rule",
        id="bucket-caps",
    ),
    pytest.param(
        {"workflow": "etl", "batchBucketName": "stock..data"}, "no two adjacent periods", id="bucket-dots"
    ),
    pytest.param(
        {"workflow": "etl", "batchBucketName": "192.168.5.4"},
        "not formatted as an IP address",
        id="bucket-ip",
    ),
    pytest.param({"workflow": "etl", "batchBucketName": "ab"}, "3-63 characters", id="bucket-short"),
    pytest.param(
        {"workflow": "etl", "batchBucketName": "xn--stock"}, "reserved prefix 'xn--'", id="bucket-prefix"
    ),
    pytest.param(
        {"workflow": "etl", "batchBucketName": "stock-s3alias"},
        "reserved suffix '-s3alias'",
        id="bucket-suffix",
    ),
    pytest.param(
        {"workflow": "streaming", "streamName": "my stream"},
        "breaks the Kinesis stream-name rule",
        id="stream",
    ),
    pytest.param({"workflow": "streaming", "streamName": "s" * 129}, "1-128 characters", id="stream-long"),
    pytest.param(
        {"workflow": "streaming", "topicName": "a.b"}, "breaks the SNS topic-name rule", id="topic-dot"
    ),
    pytest.param({"workflow": "streaming", "topicName": "tópico"}, "SNS topic-name rule", id="topic-accent"),
    pytest.param({"workflow": "streaming", "topicName": "t.fifo"}, "not .fifo", id="topic-fifo"),
    pytest.param(
        {"workflow": "streaming", "email": "@."}, "Field 'email': '@.' breaks the e-mail", id="email"
    ),
    pytest.param(
        {"workflow": "streaming", "email": "a@b"}, "breaks the e-mail address rule", id="email-no-tld"
    ),
    pytest.param(
        {"workflow": "streaming", "email": 5}, "Field 'email': Input should be a valid string", id="e5"
    ),
    pytest.param(
        {"workflow": "etl", "glueJobName": "Other"}, "Field 'glueJobName': must name the Glue job", id="g"
    ),
    pytest.param(
        {"workflow": "etl", "strem": "x"}, "Field 'strem' is not an input field", id="unknown-field"
    ),
]


@pytest.mark.parametrize(("raw", "message"), BAD_FIELDS)
def test_each_rule_is_named_with_its_field(raw, message):
    assert message in rejected(raw)


def test_every_problem_is_reported_at_once():
    cause = rejected({"workflow": "etl", "symbol": "", "streamName": "a b", "email": "x"})
    assert [m.group(1) for m in re.finditer(r"Field '(\w+)'", cause)] == ["symbol", "streamName", "email"]


@pytest.mark.parametrize(
    ("field", "name", "parameter"),
    [
        ("batchBucketName", "someone-elses-bucket", "InputBucketName"),
        ("streamName", "someOtherStream", "InputStreamName"),
        ("topicName", "someOtherTopic", "InputTopicName"),
    ],
)
def test_names_outside_the_stacks_bounds_are_refused(field, name, parameter):
    cause = rejected({"workflow": "etl", field: name})
    assert cause.startswith(f"Field '{field}': '{name}' is not a name this stack may write")
    assert parameter in cause


def test_an_empty_bound_allows_only_the_stacks_own_names():
    bounds = StackBounds(**{**BOUNDS.__dict__, "input_topic_name": ""})
    assert "allows the stack's own" in rejected(
        {"workflow": "streaming", "topicName": ORIGINAL["topicName"]}, bounds
    )
    assert (
        validate_execution_input({"workflow": "streaming"}, bounds).topicName
        == BOUNDS.notification_topic_name
    )


def test_a_star_bound_allows_any_valid_name_but_not_an_invalid_one():
    bounds = StackBounds(**{**BOUNDS.__dict__, "input_stream_name": "*"})
    assert (
        validate_execution_input({"workflow": "streaming", "streamName": "any"}, bounds).streamName == "any"
    )
    assert "stream-name rule" in rejected({"workflow": "streaming", "streamName": "a b"}, bounds)


def test_an_empty_email_subscribes_nobody_and_a_valid_one_is_kept():
    assert validate_execution_input({"workflow": "streaming", "email": ""}, BOUNDS).email == ""
    kept = validate_execution_input(
        {"workflow": "streaming", "email": "first.last+tag@mail.example.co"}, BOUNDS
    )
    assert kept.email == "first.last+tag@mail.example.co"


@pytest.mark.parametrize(("value", "rounded"), [(0.5, 1), (2.5, 3), (-0.5, 0), (-1.5, -1), (1.49, 1)])
def test_math_random_bounds_round_half_up_as_java(value, rounded):
    assert math_random_bound(value) == rounded


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (BUCKET_NAME, ["stockdatabucket2810202312", "a.b-c", "abc"], ["-abc", "abc-", "a_b", "a" * 64]),
        (STREAM_NAME, ["subscriptionStream", "a.b_c-d", "s" * 128], ["", "a b", "a/b"]),
        (TOPIC_NAME, ["serviceSubscriptionptrTopic", "a_b-c", "t" * 256], ["", "a.b", "t" * 257]),
        (EMAIL, ["subscriber@example.com"], ["nobody", "a@@b.com", ".a@b.com", "a@-b.com", "a@b.c"]),
        (SYMBOL, ["MSFT", "BRK.B", "0700"], ["", "msft", "ABCDEFGHIJK", ".A"]),
    ],
)
def test_rules_accept_and_refuse_as_aws_documents(rule, good, bad):
    assert [name for name in good if rule.problem(name)] == []
    assert [name for name in bad if rule.problem(name) is None] == []


def test_template_allowed_patterns_are_the_rules(template_parameters):
    for parameter in [*TEMPLATE_LIST_PARAMETER_RULES, *INPUT_NAMED_RESOURCE_PARAMETERS, "NotificationEmail"]:
        assert template_parameters[parameter]["AllowedPattern"] == template_allowed_pattern(parameter), (
            parameter
        )


def test_template_input_name_defaults_are_the_original_inputs_names(template_parameters):
    assert template_parameters["InputBucketName"]["Default"] == ORIGINAL["batchBucketName"]
    assert template_parameters["InputStreamName"]["Default"] == ORIGINAL["streamName"]
    assert template_parameters["InputTopicName"]["Default"] == ORIGINAL["topicName"]


# ---------------------------------------------------------------- watchlists


def test_a_watchlist_is_normalised_deduplicated_in_order_and_paced_at_the_plans_rate():
    request = validate_execution_input(
        {"workflow": "etl", "symbols": ["aapl", "MSFT", "AAPL", "brk.b"]}, BOUNDS, NOW
    )
    assert request.symbols == ["AAPL", "MSFT", "BRK.B"]
    # 5 requests a minute: one every 12 s from the start.
    assert [(f.symbol, f.notBefore) for f in request.stockFetches] == [
        ("AAPL", "2026-12-04T09:30:00Z"),
        ("MSFT", "2026-12-04T09:30:12Z"),
        ("BRK.B", "2026-12-04T09:30:24Z"),
    ]


@pytest.mark.parametrize("rate", [1, 5, 7, 60, 75, 600])
def test_no_sixty_seconds_hold_more_slots_than_the_rate_and_slots_are_whole_seconds(rate):
    bounds = StackBounds(**{**BOUNDS.__dict__, "requests_per_minute": str(rate)})
    count = min(MAX_SYMBOLS_PER_EXECUTION, rate * 30 + 1)  # as many as 30 minutes of slots hold
    symbols = [f"S{i}" for i in range(count)]
    started = NOW + timedelta(milliseconds=700)  # a Wait state truncates a timestamp's milliseconds
    request = validate_execution_input({"workflow": "etl", "symbols": symbols}, bounds, started)
    slots = [datetime.fromisoformat(f.notBefore) for f in request.stockFetches]
    assert slots[0] == NOW and all(slot.microsecond == 0 for slot in slots)
    assert slots == sorted(slots)
    # The busiest minute holds exactly the rate (or all of them): the plan is used, never exceeded.
    busiest = max(sum(1 for s in slots if start <= s < start + timedelta(seconds=60)) for start in slots)
    assert busiest == min(rate, count)


def test_one_symbol_is_a_watchlist_of_one_and_the_default_watchlist_is_the_parameters():
    bounds = StackBounds(
        **{**BOUNDS.__dict__, "default_symbols": "MSFT,IBM,MSFT", "default_countries": "ae,us"}
    )
    assert validate_execution_input({"workflow": "etl", "symbol": "aapl"}, bounds).symbols == ["AAPL"]
    defaults = validate_execution_input({"workflow": "etl"}, bounds)
    assert (defaults.symbols, defaults.countries) == (["MSFT", "IBM"], ["ae", "us"])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"symbols": []}, "Field 'symbols': must name at least one item, got an empty list."),
        ({"symbols": "MSFT"}, "Field 'symbols': must be a list of strings, got string 'MSFT'."),
        ({"symbols": ["MSFT", 7]}, "Field 'symbols[1]': Input should be a valid string, got number 7."),
        ({"symbols": ["MSFT", "MS/FT"]}, "Field 'symbols': item 1: 'MS/FT' breaks the stock-symbol rule"),
        ({"countries": ["ae", "uae"]}, "Field 'countries': item 1: 'uae' breaks the country-code rule"),
        (
            {"symbol": "MSFT", "symbols": ["IBM"]},
            "Fields 'symbol' and 'symbols': give one of them, not both.",
        ),
        ({"country": "ae", "countries": ["us"]}, "Fields 'country' and 'countries': give one of them"),
    ],
)
def test_a_bad_list_is_refused_naming_the_field_and_item(raw, message):
    assert message in rejected({"workflow": "etl", **raw})


def test_a_list_beyond_the_per_execution_maximum_is_refused_counting_distinct_items():
    symbols = [f"S{i}" for i in range(MAX_SYMBOLS_PER_EXECUTION)]
    bounds = StackBounds(**{**BOUNDS.__dict__, "requests_per_minute": "6000"})
    assert (
        len(validate_execution_input({"workflow": "etl", "symbols": [*symbols, "S0"]}, bounds).symbols)
        == MAX_SYMBOLS_PER_EXECUTION
    )
    cause = rejected({"workflow": "etl", "symbols": [*symbols, "ONE.MORE"]}, bounds)
    assert (
        f"names {MAX_SYMBOLS_PER_EXECUTION + 1} distinct items, at most {MAX_SYMBOLS_PER_EXECUTION}" in cause
    )
    countries = [f"{a}{b}" for a in "abcdefgh" for b in "abcdefgh"][: MAX_COUNTRIES_PER_EXECUTION + 1]
    assert "at most 60 per execution" in rejected({"workflow": "streaming", "countries": countries}, bounds)


def test_a_default_list_breaking_the_inputs_rules_fails_as_the_stacks_own_error_naming_its_parameter():
    too_many = ",".join(f"S{i}" for i in range(MAX_SYMBOLS_PER_EXECUTION + 1))
    bounds = StackBounds(**{**BOUNDS.__dict__, "default_symbols": too_many, "requests_per_minute": "6000"})
    # Not InvalidInputError: the input is fine, the stack is not, and the failure path notifies.
    with pytest.raises(InvalidStackParameterError) as error:
        validate_execution_input({"workflow": "etl"}, bounds)
    assert str(error.value).startswith(
        "Template parameter StockSymbols (the default list): names 201 distinct items"
    )
    assert not isinstance(error.value, InvalidInputError)
    # An input's own list is not the default's, and the other workflow does not use it: both run.
    assert validate_execution_input({"workflow": "etl", "symbol": "MSFT"}, bounds).symbols == ["MSFT"]
    assert validate_execution_input({"workflow": "streaming"}, bounds).countries == ["ae"]
    # An input problem is named first, as the input's.
    assert "Field 'email'" in rejected({"workflow": "etl", "email": "x"}, bounds)


def test_a_watchlist_the_rate_cannot_fetch_in_time_is_refused_naming_the_parameter():
    symbols = [f"S{i}" for i in range(200)]  # 199 slots of 12 s: 40 minutes
    cause = rejected({"workflow": "etl", "symbols": symbols})
    assert (
        "200 items at 5 requests a minute (template parameter RapidApiRequestsPerMinute) take 40 minutes"
        in cause
    )
    # The other workflow's list is not fetched, so not refused.
    assert validate_execution_input({"workflow": "streaming", "symbols": symbols}, BOUNDS).symbols == symbols


def test_the_glue_jobs_symbol_rule_is_the_inputs():
    assert f"^{SYMBOL.pattern}$" == stock_data_etl.SYMBOL


# ---------------------------------------------------------------- the handler


@pytest.fixture
def validate_handler(monkeypatch):
    for field, variable in StackBounds.ENVIRONMENT.items():
        monkeypatch.setenv(variable, getattr(BOUNDS, field))
    return load_handler("validate_execution_input")


def test_handler_returns_the_complete_request(validate_handler, context):
    event = json.loads((REPO / "events" / "validate_execution_input.json").read_text())
    assert (
        validate_handler.lambda_handler(event, context)
        == validate_execution_input(ORIGINAL, BOUNDS).model_dump()
    )


def test_handler_refuses_a_non_object_input(validate_handler, context):
    with pytest.raises(InvalidInputError, match="got a JSON string"):
        validate_handler.lambda_handler({"input": "etl"}, context)


def test_handler_cannot_start_without_its_bounds(monkeypatch):
    monkeypatch.delenv("GLUE_JOB_NAME", raising=False)
    with pytest.raises(RuntimeError, match="GLUE_JOB_NAME"):
        load_handler("validate_execution_input")
