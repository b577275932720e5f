"""Invalid input ends in InvalidInputError naming field and rule, before anything is fetched or written.

ValidateExecutionInput checks every field against AWS's naming rules and the stack's bounds; the fetch
functions refuse only what upstream alone knows (a country Streaming Availability does not list). The
bounds are checked on a stack deployed with the template's defaults.
"""

import json

import pytest
from emulation_helpers import resource_names, stream_names, subscriptions, unique
from pipeline_helpers import Pipeline, load_event, observed_pipeline, reference

from offline_pipeline.report import error_message

REJECTED_PATH = ["ValidateExecutionInput", "ExecutionFailed"]


def fresh_names() -> dict[str, str]:
    """Names that would be created if validation let the input through."""
    return {
        "batchBucketName": unique("invalid"),
        "streamName": unique("invalid"),
        "topicName": unique("invalid"),
    }


# What a new user tried: each accepted by the emulation before, each refused by AWS.
REJECTED_FIELDS = [
    pytest.param({"workflow": "streaming", "streamName": "my stream"}, "streamName", id="stream-space"),
    pytest.param({"workflow": "streaming", "streamName": "s" * 129}, "streamName", id="stream-129"),
    pytest.param(
        {"workflow": "etl", "batchBucketName": "StockData2810"}, "batchBucketName", id="bucket-caps"
    ),
    pytest.param({"workflow": "etl", "batchBucketName": "stock..data"}, "batchBucketName", id="bucket-dots"),
    pytest.param({"workflow": "etl", "batchBucketName": "10.0.0.1"}, "batchBucketName", id="bucket-ip"),
    pytest.param({"workflow": "streaming", "email": "@."}, "email", id="email"),
    pytest.param({"workflow": "streaming", "topicName": "my.topic"}, "topicName", id="topic-dot"),
    pytest.param({"workflow": "streaming", "topicName": "tópico"}, "topicName", id="topic-non-ascii"),
    pytest.param({"workflow": "batch"}, "workflow", id="workflow"),
    pytest.param({"start": 3, "end": 1}, "start' and 'end", id="range"),
    pytest.param({"workflow": "etl", "symbol": "MS FT"}, "symbol", id="symbol"),
    pytest.param({"workflow": "streaming", "country": "uae"}, "country", id="country"),
    pytest.param({"workflow": "etl", "glueJobName": "SomeOtherJob"}, "glueJobName", id="glue-job"),
    pytest.param({"workflow": "etl", "bucket": "x"}, "bucket", id="unknown-field"),
    # Case folding maps these into the rules' ASCII ('SS', 'ke'): refused as given instead.
    pytest.param({"workflow": "etl", "symbol": "ß"}, "symbol", id="symbol-sharp-s"),
    pytest.param({"workflow": "streaming", "country": "\u212ae"}, "country", id="country-kelvin-sign"),
]


def assert_refused_before_anything(pipeline: Pipeline, result, before) -> None:
    assert (result.status, result.error) == ("FAILED", "InvalidInputError"), result.cause
    assert result.states_entered() == REJECTED_PATH
    assert pipeline.requests("alpha-vantage") == pipeline.requests("streaming-availability") == 0
    assert resource_names(pipeline.emulation) == before
    # A person's typo, not an operational failure: no notification.
    assert pipeline.notifications.for_execution(result.execution_arn) == []


@pytest.mark.parametrize(("given", "field"), REJECTED_FIELDS)
def test_a_field_breaking_a_rule_is_refused_by_name_before_anything(pipeline, given, field) -> None:
    before = resource_names(pipeline.emulation)
    result = pipeline.run({**fresh_names(), **given})

    assert_refused_before_anything(pipeline, result, before)
    # The cause is the Lambda error document, as on AWS; its errorMessage names the field first.
    assert error_message(result.cause).startswith(f"Field{'s' if ' and ' in field else ''} '{field}'")


@pytest.mark.parametrize("text", ['{"start": 1e309, "end": 2}', '{"start": 1, "end": -1e309}'])
def test_a_number_beyond_a_doubles_range_is_refused_by_name(pipeline, text) -> None:
    before = resource_names(pipeline.emulation)
    result = pipeline.run(text)  # valid JSON; it parses as infinity

    assert_refused_before_anything(pipeline, result, before)
    assert "must be a finite number" in error_message(result.cause)


@pytest.mark.parametrize(("value", "kind"), [([], "array"), (2, "number"), ("etl", "string"), (None, "null")])
def test_an_input_that_is_not_an_object_gets_the_named_error(pipeline, value, kind) -> None:
    before = resource_names(pipeline.emulation)
    result = pipeline.run(json.dumps(value))  # StartExecution accepts any JSON value, as AWS does

    assert_refused_before_anything(pipeline, result, before)
    assert error_message(result.cause).endswith(f"got a JSON {kind}.")


def test_a_country_upstream_does_not_know_fails_naming_the_field(pipeline) -> None:
    stream = unique("invalid-country")
    result = pipeline.run({"workflow": "streaming", "country": "zz", "streamName": stream, "email": ""})

    assert (result.status, result.error) == ("FAILED", "InvalidInputError")
    assert "Field 'country': 'zz'" in result.cause
    entered = result.states_entered()
    assert entered[-3:] == ["RecordCountriesNotWritten", "NotifyFailure", "ExecutionFailed"]
    assert "CreateStream" not in entered
    assert pipeline.requests("streaming-availability") == 1
    assert stream not in stream_names(pipeline.emulation)
    (notification,) = pipeline.notifications.for_execution(result.execution_arn)
    assert notification.subject == "Data pipeline execution failed: InvalidInputError"


# ---------------------------------------------------------------- the stack's bounds, as deployed by default


@pytest.fixture(scope="module")
def default_stack(emulation, rapidapi_standin) -> Pipeline:
    """template.yaml with its defaults but for account-wide names (Glue job, catalog database)."""
    return observed_pipeline(emulation, rapidapi_standin, prefix="defaults")


@pytest.mark.parametrize(
    ("field", "parameter"),
    [
        ("batchBucketName", "InputBucketName"),
        ("streamName", "InputStreamName"),
        ("topicName", "InputTopicName"),
    ],
)
def test_a_resource_outside_the_stacks_bounds_is_refused(default_stack, field, parameter) -> None:
    pipeline = default_stack.fresh()
    before = resource_names(pipeline.emulation)
    outside = {
        "batchBucketName": unique("outside"),
        "streamName": unique("outside"),
        "topicName": unique("x"),
    }
    result = pipeline.run(
        {"workflow": "streaming" if field != "batchBucketName" else "etl", field: outside[field]}
    )

    assert_refused_before_anything(pipeline, result, before)
    assert f"Field '{field}': '{outside[field]}' is not a name this stack may write" in error_message(
        result.cause
    )
    assert parameter in result.cause


def test_someone_elses_topic_and_address_are_refused_by_default(default_stack) -> None:
    # The confused deputy the default `*` allowed: subscribing an outside address to any topic.
    pipeline = default_stack.fresh()
    other = pipeline.emulation.client("sns").create_topic(Name=unique("not-the-stacks"))["TopicArn"]
    result = pipeline.run(
        {"workflow": "streaming", "topicName": other.rsplit(":", 1)[1], "email": "outsider@example.net"}
    )
    assert (result.status, result.error) == ("FAILED", "InvalidInputError")
    assert subscriptions(pipeline.emulation, other) == []


def test_the_original_input_runs_unchanged_within_the_default_bounds(default_stack) -> None:
    pipeline = default_stack.fresh()
    original = reference("original_workflow_input.json")
    assert load_event("execution_original.json") == original
    # The default bounds hold the original's names; only its Glue job name is this stack's own here.
    result = pipeline.run({**original, "glueJobName": pipeline.glue_job, "workflow": "streaming"})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["streamName"] == original["streamName"]
    assert result.output["topicArn"] == pipeline.topic_arn_for(original["topicName"])


def test_a_default_watchlist_breaking_the_rules_fails_by_name_and_is_notified(emulation, rapidapi_standin):
    too_many = ",".join(f"S{i}" for i in range(201))
    stack = observed_pipeline(
        emulation,
        rapidapi_standin,
        prefix="bad-defaults",
        overrides={"StockSymbols": too_many, "RapidApiRequestsPerMinute": "6000"},
    )
    before = resource_names(emulation)
    result = stack.run({"workflow": "etl"})

    assert (result.status, result.error) == ("FAILED", "InvalidStackParameterError"), result.cause
    assert "Template parameter StockSymbols (the default list): names 201 distinct items" in result.cause
    assert result.states_entered() == ["ValidateExecutionInput", "NotifyFailure", "ExecutionFailed"]
    (notification,) = stack.notifications.for_execution(result.execution_arn)
    assert notification.subject == "Data pipeline execution failed: InvalidStackParameterError"
    assert resource_names(emulation) == before
    assert stack.requests("alpha-vantage") == 0
