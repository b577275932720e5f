"""Fault injection with a Step Functions Local mock config on the deployed state machine.

A test case replaces the named states' service calls with scripted answers; every other state calls the
emulation as usual. Started without a test case, the same state machine runs unmocked.
"""

import json

import pytest
from emulation_helpers import kinesis_record, task_attempts, task_failures

MOCKED_SHARD, MOCKED_SEQUENCE = (
    "shardId-000000000000",
    "49650000000000000000000000000000000000000000000000000042",
)
# The definition gives a CREATING stream this many further status checks, a Wait before each.
STATUS_CHECK_BUDGET = 36
CREATING = {"StreamDescriptionSummary": {"StreamStatus": "CREATING"}}
ACTIVE = {"StreamDescriptionSummary": {"StreamStatus": "ACTIVE"}}
MOCKED_SUMMARY = {"fetchId": "mocked", "rowsRead": 100, "rowsValid": 100, "rowsQuarantined": 0}


def the_record(result) -> dict:
    (record,) = result.output["records"]
    return record


@pytest.fixture
def mock_config(pipeline):
    pipeline.emulation.load_mock_config(
        {
            "StateMachines": {
                pipeline.state_machine_name: {
                    "TestCases": {
                        "PutThrottledOnce": {"PutSubscriptionRecord": "ThrottledThenWritten"},
                        "StreamDeleted": {"PutSubscriptionRecord": "StreamNotFound"},
                        "StreamActiveAfterTwoChecks": {"DescribeStream": "CreatingTwiceThenActive"},
                        "StreamNeverActive": {"DescribeStream": "AlwaysCreating"},
                        "GlueBusyOnce": {
                            "RunStockDataGlueJob": "ConcurrentRunThenSucceeded",
                            "ReadGlueRunSummary": "RunSummary",
                        },
                    }
                }
            },
            "MockedResponses": {
                "ThrottledThenWritten": {
                    "0": {
                        "Throw": {
                            "Error": "Kinesis.ProvisionedThroughputExceededException",
                            "Cause": "Rate exceeded for shard shardId-000000000000",
                        }
                    },
                    "1": {"Return": {"ShardId": MOCKED_SHARD, "SequenceNumber": MOCKED_SEQUENCE}},
                },
                "StreamNotFound": {
                    "0": {
                        "Throw": {"Error": "Kinesis.ResourceNotFoundException", "Cause": "Stream was deleted"}
                    }
                },
                "CreatingTwiceThenActive": {"0-1": {"Return": CREATING}, "2": {"Return": ACTIVE}},
                "AlwaysCreating": {f"0-{STATUS_CHECK_BUDGET}": {"Return": CREATING}},
                "ConcurrentRunThenSucceeded": {
                    "0": {
                        "Throw": {
                            "Error": "Glue.ConcurrentRunsExceededException",
                            "Cause": "Concurrent runs exceeded for StockDataETLJOB",
                        }
                    },
                    "1": {"Return": {"Id": "jr_mocked", "JobRunState": "SUCCEEDED"}},
                },
                "RunSummary": {"0": {"Return": {"Body": json.dumps(MOCKED_SUMMARY)}}},
            },
        }
    )
    yield pipeline
    pipeline.emulation.clear_mock_config()


def test_a_throttled_put_record_is_retried_and_the_run_succeeds(mock_config) -> None:
    pipeline = mock_config
    result = pipeline.run({"workflow": "streaming", "email": ""}, test_case="PutThrottledOnce")

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert task_failures(result) == [
        ("PutSubscriptionRecord", "Kinesis.ProvisionedThroughputExceededException")
    ]
    assert task_attempts(result, "PutSubscriptionRecord") == 2
    record = the_record(result)
    assert (record["shardId"], record["sequenceNumber"]) == (MOCKED_SHARD, MOCKED_SEQUENCE)
    # The states after the mocked one ran for real: the announcement carries the mocked record's ids.
    (message,) = pipeline.notifications.for_execution(result.execution_arn)
    assert (message.attributes["ShardId"], message.attributes["SequenceNumber"]) == (
        json.dumps([MOCKED_SHARD]),
        json.dumps([MOCKED_SEQUENCE]),
    )


def test_a_non_retryable_sdk_error_is_caught_by_name_and_notified(mock_config) -> None:
    pipeline = mock_config
    result = pipeline.run({"workflow": "streaming", "email": ""}, test_case="StreamDeleted")

    # The country's record failed for good: with nothing written, the execution fails by its error.
    assert (result.status, result.error) == ("FAILED", "Kinesis.ResourceNotFoundException")
    assert result.cause == (
        'Nothing was written; every item failed: ["ae"].'
        " First, ae: Kinesis.ResourceNotFoundException: Stream was deleted"
    )
    assert task_failures(result) == [("PutSubscriptionRecord", "Kinesis.ResourceNotFoundException")]
    entered = result.states_entered()
    assert entered[entered.index("PutSubscriptionRecord") + 1] == "RecordCountryFailed"
    assert entered[-3:] == ["RecordCountriesNotWritten", "NotifyFailure", "ExecutionFailed"]
    (message,) = pipeline.notifications.for_execution(result.execution_arn)
    assert message.subject == "Data pipeline execution failed: Kinesis.ResourceNotFoundException"


def test_a_stream_still_creating_is_waited_for_then_written(mock_config) -> None:
    # The emulation's streams are ACTIVE at once; the mock makes the readiness loop run.
    # Guards the mock-invocations hook: responses follow the invocation number, not the retry count.
    pipeline = mock_config
    result = pipeline.run({"workflow": "streaming", "email": ""}, test_case="StreamActiveAfterTwoChecks")

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    entered = result.states_entered()
    loop = ["DescribeStream", "ChooseStreamReadiness", "WaitForStreamActive", "CountStreamStatusCheck"]
    start = entered.index("DescribeStream")
    assert entered[start : start + 10] == [*loop, *loop, "DescribeStream", "ChooseStreamReadiness"]
    assert entered[start + 10] == "PutSubscriptionRecord"
    # PutRecord itself was not mocked: the record is really in the stack's stream.
    written = the_record(result)
    record = kinesis_record(
        pipeline.emulation, pipeline.stream, written["shardId"], written["sequenceNumber"]
    )
    assert record["Data"]["country"] == "ae"


def test_a_stream_that_never_becomes_active_fails_after_the_check_budget(mock_config) -> None:
    pipeline = mock_config
    result = pipeline.run({"workflow": "streaming", "email": ""}, test_case="StreamNeverActive")

    assert (result.status, result.error) == ("FAILED", "StreamNotWritableError")
    assert f"is CREATING after {STATUS_CHECK_BUDGET} status checks" in result.cause
    entered = result.states_entered()
    assert entered.count("DescribeStream") == STATUS_CHECK_BUDGET + 1
    assert entered.count("WaitForStreamActive") == STATUS_CHECK_BUDGET
    assert entered[-3:] == ["RecordCountriesNotWritten", "NotifyFailure", "ExecutionFailed"]
    assert entered.index("RecordStreamNotWritable") < entered.index("RecordCountryFailed")
    assert "PutSubscriptionRecord" not in entered
    (message,) = pipeline.notifications.for_execution(result.execution_arn)
    assert message.subject == "Data pipeline execution failed: StreamNotWritableError"


def test_a_busy_glue_job_is_retried_and_the_run_succeeds(mock_config) -> None:
    pipeline = mock_config
    result = pipeline.run({"workflow": "etl"}, test_case="GlueBusyOnce")

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert task_failures(result) == [("RunStockDataGlueJob", "Glue.ConcurrentRunsExceededException")]
    assert task_attempts(result, "RunStockDataGlueJob") == 2
    assert result.output["glueJobRun"] == {"id": "jr_mocked", "state": "SUCCEEDED"}
    assert result.output["runSummary"] == MOCKED_SUMMARY
    # The unmocked states before the job still fetched and stored the data.
    assert pipeline.requests("alpha-vantage") == 1
    bucket, _, prefix = result.output["rawObjects"].removeprefix("s3://").partition("/")
    stored = (
        pipeline.emulation.client("s3").get_object(Bucket=bucket, Key=f"{prefix}MSFT.json")["Body"].read()
    )
    assert json.loads(stored)["metadata"]["barCount"] == 100


def test_without_a_test_case_nothing_is_mocked(mock_config) -> None:
    pipeline = mock_config
    result = pipeline.run({"workflow": "streaming", "email": ""})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert task_failures(result) == []
    assert the_record(result)["sequenceNumber"] != MOCKED_SEQUENCE
