"""Hook aws-validation: the emulation refuses the requests AWS refuses, with AWS's error codes."""

import json

import pytest
from botocore.exceptions import ClientError
from emulation_helpers import unique

from offline_aws.moto_hooks.validation import bucket_name_problem
from tests.unit.test_execution_input import BAD_FIELDS


def refused(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as error:
        call(*args, **kwargs)
    return error.value.response["Error"]


@pytest.mark.parametrize(
    "name", ["StockData", "stock..data", "192.168.5.4", "ab", "xn--stock", "a-s3alias", "a_b"]
)
def test_s3_refuses_bucket_names_that_break_its_rules(emulation, name) -> None:
    error = refused(emulation.client("s3").create_bucket, Bucket=name)
    assert error["Code"] == "InvalidBucketName"


def test_the_emulations_bucket_rule_agrees_with_the_execution_inputs():
    from execution_input.rules import BUCKET_NAME

    names = [p.values[0]["batchBucketName"] for p in BAD_FIELDS if "batchBucketName" in p.values[0]]
    names += ["stockdatabucket2810202312", "a.b-c", "abc", "-abc", "abc-", "a" * 64, "x" * 63]
    assert [bucket_name_problem(n) is None for n in names] == [BUCKET_NAME.problem(n) is None for n in names]


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("my stream", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
        ("s" * 129, "Member must have length less than or equal to 128"),
    ],
)
def test_kinesis_refuses_stream_names_with_a_validation_exception(emulation, name, constraint) -> None:
    error = refused(emulation.client("kinesis").create_stream, StreamName=name, ShardCount=1)
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '{name[:100]}' at 'streamName'"
        f" failed to satisfy constraint: {constraint}"
    )


def test_a_valid_stream_name_still_works(emulation) -> None:
    name = unique("valid.stream_name")
    emulation.client("kinesis").create_stream(StreamName=name, ShardCount=1)
    assert emulation.client("kinesis").describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def test_sns_refuses_an_email_endpoint_that_is_no_address(emulation) -> None:
    sns = emulation.client("sns")
    topic = sns.create_topic(Name=unique("topic"))["TopicArn"]
    for endpoint in ("@.", "nobody", "a@b"):
        error = refused(sns.subscribe, TopicArn=topic, Protocol="email", Endpoint=endpoint)
        assert (error["Code"], error["Message"]) == ("InvalidParameter", "Invalid parameter: Email address")
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="reader@example.com")


def test_start_execution_refuses_an_input_over_262144_bytes_without_starting(
    emulation, create_state_machine
) -> None:
    machine = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    sfn = emulation.client("stepfunctions")
    oversized = json.dumps({"padding": "x" * 262_144})
    error = refused(sfn.start_execution, stateMachineArn=machine, input=oversized)
    assert error["Code"] == "ValidationException"
    # The input is sensitive: AWS's message names the member, not its value.
    assert error["Message"] == (
        "1 validation error detected: Value at 'input' failed to satisfy constraint:"
        " Member must have length less than or equal to 262144"
    )
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


def test_a_state_machine_task_gets_the_refusal_under_its_sdk_name(emulation, create_state_machine) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:kinesis:createStream",
        "Parameters": {"StreamName": "my stream", "ShardCount": 1},
        "End": True,
    }
    result = emulation.run_execution(
        create_state_machine({"StartAt": "Create", "States": {"Create": task}}), {}
    )
    assert (result.status, result.error) == ("FAILED", "Kinesis.ValidationException")
