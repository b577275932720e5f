"""Runs both workflows on a real deployment. Needs the RapidAPI key stored in the stack's secret."""

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.deployed

GLUE_PATIENCE_SECONDS = 1800


def run_execution(aws: Any, state_machine_arn: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = aws["stepfunctions"]
    execution_arn = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(execution_input))[
        "executionArn"
    ]
    deadline = time.monotonic() + GLUE_PATIENCE_SECONDS
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(5)
    pytest.fail(f"{execution_arn} still running after {GLUE_PATIENCE_SECONDS} s")


def test_outputs_name_everything_a_user_needs(stack_outputs):
    expected = {
        "StateMachineArn",
        "RapidApiKeySecretArn",
        "DataBucketName",
        "GlueJobName",
        "NotificationTopicArn",
    }
    assert expected <= set(stack_outputs)


def test_invalid_input_fails_with_a_named_error(aws, stack_outputs):
    described = run_execution(aws, stack_outputs["StateMachineArn"], {"workflow": "batch"})
    assert described["status"] == "FAILED"
    assert described["error"] == "InvalidInputError"
    assert "'workflow'" in described["cause"]


def test_fetch_function_rejects_a_bad_event_by_name(aws, stack_outputs):
    response = aws["lambda"].invoke(
        FunctionName=stack_outputs["FetchStockDataFunctionName"],
        Payload=json.dumps({"symbol": "not a symbol!"}),
    )
    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "InvalidInputError"


def test_etl_workflow_lands_raw_data_and_curates_it(aws, stack_outputs):
    described = run_execution(aws, stack_outputs["StateMachineArn"], {"workflow": "etl"})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    bucket, key = output["rawObject"].removeprefix("s3://").split("/", 1)
    raw = json.loads(aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read())
    assert raw["metadata"]["barCount"] == output["barCount"] == len(raw["timeSeries"])
    assert output["glueJobRun"]["state"] == "SUCCEEDED"
    curated_prefix = output["curatedDataset"].removeprefix(f"s3://{stack_outputs['DataBucketName']}/")
    listed = aws["s3"].list_objects_v2(
        Bucket=stack_outputs["DataBucketName"], Prefix=f"{curated_prefix}symbol={output['symbol']}/"
    )
    assert any(obj["Key"].endswith(".parquet") for obj in listed.get("Contents", []))


def test_streaming_workflow_records_and_announces_the_record(aws, stack_outputs):
    described = run_execution(aws, stack_outputs["StateMachineArn"], {"workflow": "streaming"})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    iterator = aws["kinesis"].get_shard_iterator(
        StreamName=output["streamName"],
        ShardId=output["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=output["sequenceNumber"],
    )["ShardIterator"]
    record = aws["kinesis"].get_records(ShardIterator=iterator, Limit=1)["Records"][0]
    assert json.loads(record["Data"])["country"] == output["country"]
    assert output["notificationMessageId"]
