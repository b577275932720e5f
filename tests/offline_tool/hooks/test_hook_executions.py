"""Hooks execution-start, context-times, reraise-states-errors and mock-invocations."""

import re
import uuid

import pytest
from botocore.exceptions import ClientError
from emulation_helpers import unique

from offline_aws import moto_hooks

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
PASS_ONLY = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}


def test_unnamed_executions_get_unique_uuid_names(emulation, create_state_machine) -> None:
    machine = create_state_machine(PASS_ONLY)
    sfn = emulation.client("stepfunctions")
    arns = [sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(3)]
    names = [sfn.describe_execution(executionArn=arn)["name"] for arn in arns]
    assert len(set(arns)) == 3
    for arn, name in zip(arns, names, strict=True):
        assert str(uuid.UUID(name)) == name
        assert arn.endswith(f":{name}")


def test_a_given_name_is_kept_and_an_invalid_one_refused(emulation, create_state_machine) -> None:
    machine = create_state_machine(PASS_ONLY)
    assert emulation.run_execution(machine, {}, name="nightly-run-1").name == "nightly-run-1"
    with pytest.raises(ClientError) as refused:
        emulation.client("stepfunctions").start_execution(stateMachineArn=machine, name="has space")
    assert refused.value.response["Error"]["Code"] == "InvalidName"


def test_context_times_are_in_aws_format(emulation, create_state_machine) -> None:
    machine = {
        "StartAt": "Times",
        "States": {
            "Times": {
                "Type": "Pass",
                "Parameters": {
                    "started.$": "$$.Execution.StartTime",
                    "entered.$": "$$.State.EnteredTime",
                    "day.$": "States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0)",
                },
                "End": True,
            }
        },
    }
    output = emulation.run_execution(create_state_machine(machine), {}).output
    assert ISO_Z.match(output["started"])
    assert ISO_Z.match(output["entered"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", output["day"])


def test_a_fail_state_can_re_raise_a_states_error(emulation, create_state_machine) -> None:
    machine = {
        "StartAt": "Raise",
        "States": {
            "Raise": {
                "Type": "Pass",
                "Result": {"Error": "States.TaskFailed", "Cause": "the job failed"},
                "Next": "Fail",
            },
            "Fail": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {})
    assert (result.status, result.error, result.cause) == ("FAILED", "States.TaskFailed", "the job failed")


def put_record_machine(stream: str) -> dict:
    return {
        "StartAt": "PutRecord",
        "States": {
            "PutRecord": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:kinesis:putRecord",
                "Parameters": {"StreamName": stream, "PartitionKey": "ae", "Data": "{}"},
                "ResultSelector": {"shardId.$": "$.ShardId", "sequenceNumber.$": "$.SequenceNumber"},
                "Retry": [
                    {"ErrorEquals": ["Kinesis.ProvisionedThroughputExceededException"], "IntervalSeconds": 1}
                ],
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timedOut", "Next": "TimedOut"}
                ],
                "End": True,
            },
            "TimedOut": {"Type": "Pass", "End": True},
        },
    }


@pytest.fixture
def mocked_machine(emulation, create_state_machine):
    name = unique("mocked")
    arn = create_state_machine(put_record_machine(unique("never-created")), name=name)
    emulation.load_mock_config(
        {
            "StateMachines": {
                name: {
                    "TestCases": {
                        "ThrottledOnce": {"PutRecord": "ThrottledThenWritten"},
                        "TimesOut": {"PutRecord": "TimeOut"},
                    }
                }
            },
            "MockedResponses": {
                "ThrottledThenWritten": {
                    "0": {
                        "Throw": {
                            "Error": "Kinesis.ProvisionedThroughputExceededException",
                            "Cause": "slow down",
                        }
                    },
                    "1": {"Return": {"ShardId": "shardId-000000000000", "SequenceNumber": "4960"}},
                },
                "TimeOut": {"0": {"Throw": {"Error": "States.Timeout", "Cause": "no answer"}}},
            },
        }
    )
    return arn


def test_a_mock_config_makes_a_call_throw_once_then_succeed(emulation, mocked_machine) -> None:
    result = emulation.run_execution(mocked_machine, {}, test_case="ThrottledOnce")
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"shardId": "shardId-000000000000", "sequenceNumber": "4960"}
    failures = [e["taskFailedEventDetails"]["error"] for e in result.history if e["type"] == "TaskFailed"]
    assert failures == ["Kinesis.ProvisionedThroughputExceededException"]


def test_the_state_machine_arn_with_a_test_case_selects_it(emulation, mocked_machine) -> None:
    sfn = emulation.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=f"{mocked_machine}#TimesOut", input="{}")["executionArn"]
    result = emulation.wait_for_execution(arn)
    assert result.states_entered() == ["PutRecord", "TimedOut"]
    assert result.output["timedOut"]["Error"] == "States.Timeout"


def test_without_a_test_case_the_same_machine_calls_the_service(emulation, mocked_machine) -> None:
    result = emulation.run_execution(mocked_machine, {})
    assert result.error == "Kinesis.ResourceNotFoundException"


def test_an_unknown_test_case_is_refused(emulation, mocked_machine) -> None:
    with pytest.raises(ClientError) as refused:
        emulation.start_execution(mocked_machine, {}, test_case="NoSuchCase")
    assert refused.value.response["Error"]["Code"] == "InvalidName"


def test_a_state_entered_again_gets_the_next_mocked_response(emulation, create_state_machine) -> None:
    name = unique("polling")
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:kinesis:describeStreamSummary",
                "Parameters": {"StreamName": "never-created"},
                "ResultSelector": {"status.$": "$.StreamDescriptionSummary.StreamStatus"},
                "ResultPath": "$.stream",
                "Next": "Active?",
            },
            "Active?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stream.status", "StringEquals": "ACTIVE", "Next": "Done"}],
                "Default": "Describe",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    arn = create_state_machine(definition, name=name)
    creating = {"Return": {"StreamDescriptionSummary": {"StreamStatus": "CREATING"}}}
    emulation.load_mock_config(
        {
            "StateMachines": {name: {"TestCases": {"ActiveOnThird": {"Describe": "CreatingTwice"}}}},
            "MockedResponses": {
                "CreatingTwice": {
                    "0-1": creating,
                    "2": {"Return": {"StreamDescriptionSummary": {"StreamStatus": "ACTIVE"}}},
                }
            },
        }
    )
    result = emulation.run_execution(arn, {}, test_case="ActiveOnThird")
    assert result.status == "SUCCEEDED", result.cause
    assert result.states_entered() == ["Describe", "Active?"] * 3 + ["Done"]


def test_mock_configs_are_validated_before_use() -> None:
    with pytest.raises(ValueError, match="no MockedResponses entry"):
        moto_hooks.validate_mock_config({"StateMachines": {"m": {"TestCases": {"c": {"S": "missing"}}}}})
    with pytest.raises(ValueError, match="exactly one of Return and Throw"):
        moto_hooks.validate_mock_config({"MockedResponses": {"r": {"0": {}}}})
    with pytest.raises(ValueError, match="not an attempt number"):
        moto_hooks.validate_mock_config({"MockedResponses": {"r": {"first": {"Return": {}}}}})
