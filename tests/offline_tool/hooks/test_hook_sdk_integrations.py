"""Hooks sdk-error-names, result-json and sdk-request-json: SDK integrations as on AWS."""

import datetime
import json
import re

import pytest
from emulation_helpers import unique

from offline_aws.moto_hooks.sdk_integrations import aws_timestamp, sdk_error_name

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def sdk_task(resource: str, parameters: dict, **extra) -> dict:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::aws-sdk:{resource}",
        "Parameters": parameters,
        **extra,
    }


def catching(task: dict, error: str) -> dict:
    """A machine running `task`, catching `error` into $.caught."""
    task = {
        **task,
        "Catch": [{"ErrorEquals": [error], "ResultPath": "$.caught", "Next": "Caught"}],
        "End": True,
    }
    return {"StartAt": "Call", "States": {"Call": task, "Caught": {"Type": "Pass", "End": True}}}


def test_a_missing_bucket_is_caught_as_s3_no_such_bucket(emulation, create_state_machine) -> None:
    task = sdk_task("s3:getObject", {"Bucket": unique("missing-bucket"), "Key": "k"})
    result = emulation.run_execution(create_state_machine(catching(task, "S3.NoSuchBucketException")), {})
    assert result.status == "SUCCEEDED"
    assert result.states_entered() == ["Call", "Caught"]
    assert result.output["caught"]["Error"] == "S3.NoSuchBucketException"
    assert "(Service: S3, Status Code: 404" in result.output["caught"]["Cause"]


def test_kinesis_errors_carry_their_aws_names(emulation, create_state_machine) -> None:
    stream = unique("stream")
    emulation.client("kinesis").create_stream(StreamName=stream, ShardCount=1)
    in_use = sdk_task("kinesis:createStream", {"StreamName": stream, "ShardCount": 1})
    result = emulation.run_execution(
        create_state_machine(catching(in_use, "Kinesis.ResourceInUseException")), {}
    )
    assert result.output["caught"]["Error"] == "Kinesis.ResourceInUseException"

    missing = sdk_task("kinesis:describeStreamSummary", {"StreamName": unique("missing-stream")})
    result = emulation.run_execution(
        create_state_machine(catching(missing, "Kinesis.ResourceNotFoundException")), {}
    )
    assert result.output["caught"]["Error"] == "Kinesis.ResourceNotFoundException"


def test_a_missing_topic_is_sns_not_found(emulation, create_state_machine) -> None:
    arn = f"arn:aws:sns:{emulation.region}:{emulation.account_id}:{unique('missing-topic')}"
    task = sdk_task("sns:publish", {"TopicArn": arn, "Message": "hello"})
    result = emulation.run_execution(
        create_state_machine({"StartAt": "Call", "States": {"Call": {**task, "End": True}}})
    )
    assert result.status == "FAILED"
    # The SDK's client name, PascalCase: `Sns`, as for DynamoDb, Sfn, AcmPca.
    assert result.error == "Sns.NotFoundException"


def test_list_buckets_timestamps_come_back_as_iso_strings(emulation, create_state_machine) -> None:
    bucket = unique("listed-bucket")
    emulation.client("s3").create_bucket(Bucket=bucket)
    machine = {"StartAt": "List", "States": {"List": {**sdk_task("s3:listBuckets", {}), "End": True}}}
    result = emulation.run_execution(create_state_machine(machine), {})

    assert result.status == "SUCCEEDED"  # DescribeExecution returned the output
    listed = {entry["Name"]: entry for entry in result.output["Buckets"]}
    assert ISO_Z.match(listed[bucket]["CreationDate"])
    succeeded = [e for e in result.history if e["type"] == "TaskSucceeded"]
    assert json.loads(succeeded[0]["taskSucceededEventDetails"]["output"])["Buckets"]


def test_an_object_body_is_text_and_a_json_body_is_sent_as_json(emulation, create_state_machine) -> None:
    bucket = unique("body-bucket")
    emulation.client("s3").create_bucket(Bucket=bucket)
    machine = {
        "StartAt": "Put",
        "States": {
            "Put": {
                **sdk_task("s3:putObject", {"Bucket": bucket, "Key": "doc.json", "Body.$": "$.document"}),
                "ResultPath": None,
                "Next": "Get",
            },
            "Get": {
                **sdk_task("s3:getObject", {"Bucket": bucket, "Key": "doc.json"}),
                "ResultSelector": {
                    "document.$": "States.StringToJson($.Body)",
                    "modified.$": "$.LastModified",
                },
                "End": True,
            },
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {"document": {"rows": [1, 2]}})

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["document"] == {"rows": [1, 2]}
    assert ISO_Z.match(result.output["modified"])
    stored = emulation.client("s3").get_object(Bucket=bucket, Key="doc.json")["Body"].read()
    assert json.loads(stored) == {"rows": [1, 2]}


@pytest.mark.parametrize(
    ("service", "code", "expected"),
    [
        ("s3", "NoSuchBucket", "S3.NoSuchBucketException"),
        ("s3", "BucketAlreadyOwnedByYou", "S3.BucketAlreadyOwnedByYouException"),
        ("s3", "InvalidBucketName", "S3.S3Exception"),  # not a modeled error: the service's base exception
        ("kinesis", "ResourceNotFoundException", "Kinesis.ResourceNotFoundException"),
        ("kinesis", "ResourceInUseException", "Kinesis.ResourceInUseException"),
        ("sns", "NotFound", "Sns.NotFoundException"),
        ("dynamodb", "ConditionalCheckFailedException", "DynamoDb.ConditionalCheckFailedException"),
        ("stepfunctions", "ExecutionAlreadyExists", "Sfn.ExecutionAlreadyExistsException"),
        ("acm-pca", "ResourceNotFoundException", "AcmPca.ResourceNotFoundException"),
    ],
)
def test_sdk_error_names_follow_the_aws_rule(service: str, code: str, expected: str) -> None:
    assert sdk_error_name(service, code) == expected


def test_timestamps_are_written_as_aws_does() -> None:
    utc = datetime.UTC
    assert aws_timestamp(datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=utc)) == (
        "2024-05-01T12:00:00.123Z"
    )
    assert aws_timestamp(datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=utc)) == "2024-05-01T12:00:00Z"
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    assert aws_timestamp(datetime.datetime(2024, 5, 1, 14, 0, tzinfo=plus_two)) == "2024-05-01T12:00:00Z"
