"""Invalid input ends in InvalidInputError naming the field, before anything is fetched or created.

The definition's ValidateInput rejects what it can check (types, emptiness, ranges); the fetch functions
reject what only they know (a symbol's pattern, a country upstream does not list), through NotifyFailure.
"""

import pytest
from emulation_helpers import bucket_names, resource_names, stream_names, task_failures, unique

VALIDATION_PATH = ["ApplyInputDefaults", "MergeInputOverDefaults", "ValidateInput"]

REJECTED = [
    pytest.param({"workflow": "batch"}, "RejectWorkflow", "Field 'workflow'", id="workflow-unknown"),
    pytest.param({"start": "one", "end": 3}, "RejectStart", "Field 'start'", id="start-not-a-number"),
    pytest.param({"start": 1}, "RejectEnd", "Field 'end'", id="end-missing"),
    pytest.param({"start": 3, "end": 1}, "RejectRange", "Fields 'start' and 'end'", id="range-reversed"),
    pytest.param({"workflow": "etl", "symbol": ""}, "RejectSymbol", "Field 'symbol'", id="symbol-empty"),
    pytest.param(
        {"workflow": "streaming", "country": 7}, "RejectCountry", "Field 'country'", id="country-number"
    ),
    pytest.param(
        {"workflow": "etl", "batchBucketName": ""},
        "RejectBatchBucketName",
        "Field 'batchBucketName'",
        id="bucket-empty",
    ),
    pytest.param(
        {"workflow": "streaming", "streamName": None},
        "RejectStreamName",
        "Field 'streamName'",
        id="stream-null",
    ),
    pytest.param(
        {"workflow": "streaming", "topicName": ["a"]}, "RejectTopicName", "Field 'topicName'", id="topic-list"
    ),
    pytest.param(
        {"workflow": "streaming", "email": "nobody"}, "RejectEmail", "Field 'email'", id="email-no-at"
    ),
    pytest.param(
        {"workflow": "etl", "glueJobName": "SomeOtherJob"},
        "RejectGlueJobName",
        "Field 'glueJobName'",
        id="glue-job-not-the-stacks",
    ),
]


@pytest.mark.parametrize(("execution_input", "reject_state", "names_field"), REJECTED)
def test_the_definition_rejects_invalid_input_naming_the_field(
    pipeline, execution_input, reject_state, names_field
) -> None:
    # Names that would be created if validation let the input through.
    names = {"batchBucketName": unique("invalid"), "streamName": unique("invalid"), "topicName": unique("x")}
    execution_input = {**names, **execution_input}
    before = resource_names(pipeline.emulation)
    result = pipeline.run(execution_input)

    assert (result.status, result.error) == ("FAILED", "InvalidInputError")
    assert result.cause.startswith(names_field)
    assert result.states_entered() == [*VALIDATION_PATH, reject_state]
    assert pipeline.requests("alpha-vantage") == pipeline.requests("streaming-availability") == 0
    assert resource_names(pipeline.emulation) == before


def test_a_symbol_the_fetch_function_refuses_fails_naming_the_field(pipeline) -> None:
    bucket = unique("invalid-symbol")
    result = pipeline.run({"workflow": "etl", "symbol": "NOT A SYMBOL", "batchBucketName": bucket})

    assert (result.status, result.error) == ("FAILED", "InvalidInputError")
    assert "field 'symbol'" in result.cause
    assert result.states_entered()[-3:] == ["FetchStockData", "NotifyFailure", "ExecutionFailed"]
    assert task_failures(result) == [("FetchStockData", "InvalidInputError")]  # not retried
    assert pipeline.requests("alpha-vantage") == 0
    assert bucket not in bucket_names(pipeline.emulation)
    (notification,) = pipeline.notifications.for_execution(result.execution_arn)
    assert notification.subject == "Data pipeline execution failed: InvalidInputError"


def test_a_country_upstream_does_not_know_fails_naming_the_field(pipeline) -> None:
    stream = unique("invalid-country")
    result = pipeline.run({"workflow": "streaming", "country": "zz", "streamName": stream, "email": ""})

    assert (result.status, result.error) == ("FAILED", "InvalidInputError")
    assert "Field 'country': 'zz'" in result.cause
    assert result.states_entered()[-3:] == ["FetchSubscriptionData", "NotifyFailure", "ExecutionFailed"]
    assert pipeline.requests("streaming-availability") == 1
    assert stream not in stream_names(pipeline.emulation)
    (notification,) = pipeline.notifications.for_execution(result.execution_arn)
    assert notification.subject == "Data pipeline execution failed: InvalidInputError"
