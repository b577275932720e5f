"""Runs both workflows on a real deployment. Needs the RapidAPI key stored in the stack's secret.

Besides the workflows, these settle what neither AWS's documentation nor the recordings in
shared/reference/aws_recorded do (the README lists them as unverified): Kinesis `Data` given a JSON value,
the throttling error names of SNS and Kinesis calls, a JSON number past a double's range reaching the
input check, the ListBuckets result's size per bucket, the alarm publishing through the key policy's
source conditions, a JSONPath filter matching one element giving a list, and a Wait whose timestamp has
passed going on at once, and the name of Glue's refusal of a second concurrent run."""

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


def test_a_number_beyond_a_doubles_range_reaches_validation_and_is_refused_by_name(aws, stack_outputs):
    # Valid JSON; whether Step Functions passes 1e309 on to Lambda as a number is not documented.
    sfn = aws["stepfunctions"]
    execution_arn = sfn.start_execution(
        stateMachineArn=stack_outputs["StateMachineArn"], input='{"start": 1e309, "end": 2}'
    )["executionArn"]
    deadline = time.monotonic() + 300
    while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(2)
    assert (described["status"], described["error"]) == ("FAILED", "InvalidInputError")
    assert "must be a finite number" in described["cause"]


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
    (symbol,) = output["symbols"]
    bucket, prefix = output["rawObjects"].removeprefix("s3://").split("/", 1)
    stored = aws["s3"].get_object(Bucket=bucket, Key=f"{prefix}{symbol}.json")["Body"].read()
    raw = json.loads(stored)
    # The document itself, compact, as Step Functions serialises a JSON-value Body: not a quoted string.
    assert isinstance(raw, dict) and stored.startswith(b"{")
    assert stored == json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode()
    assert raw["metadata"]["barCount"] == output["runSummary"]["bySymbol"][symbol]["barsRead"]
    assert raw["metadata"]["barCount"] == len(raw["timeSeries"])
    assert output["glueJobRun"]["state"] == "SUCCEEDED"
    curated_prefix = output["curatedDataset"].removeprefix(f"s3://{stack_outputs['DataBucketName']}/")
    listed = aws["s3"].list_objects_v2(
        Bucket=stack_outputs["DataBucketName"], Prefix=f"{curated_prefix}symbol={symbol}/"
    )
    assert any(obj["Key"].endswith(".parquet") for obj in listed.get("Contents", []))


def test_streaming_workflow_records_and_announces_the_record(aws, stack_outputs):
    described = run_execution(aws, stack_outputs["StateMachineArn"], {"workflow": "streaming"})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    (written,) = output["records"]
    iterator = aws["kinesis"].get_shard_iterator(
        StreamName=output["streamName"],
        ShardId=written["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=written["sequenceNumber"],
    )["ShardIterator"]
    record = aws["kinesis"].get_records(ShardIterator=iterator, Limit=1)["Records"][0]
    # Unrecorded on AWS: a JSON-value Data arrives as the compact JSON of the document, as S3's Body does.
    document = json.loads(record["Data"])
    assert isinstance(document, dict) and record["Data"].startswith(b"{")
    assert document["country"] == written["country"]
    assert output["notificationMessageId"]


def test_a_two_symbol_watchlist_lists_its_one_fetched_symbol_and_its_one_failure(aws, stack_outputs):
    # A filter matching one element must give a one-item list (ListUncuratedRawObjects' ItemsPath and
    # ListWrittenRecords' attributes depend on it); "ZZZZZZZZZ" is no symbol Alpha Vantage knows.
    described = run_execution(
        aws, stack_outputs["StateMachineArn"], {"workflow": "etl", "symbols": ["MSFT", "ZZZZZZZZZ"]}
    )
    output = json.loads(described["output"]) if described.get("output") else {}
    history = aws["stepfunctions"].get_execution_history(
        executionArn=described["executionArn"], maxResults=1000
    )["events"]
    counted = [
        json.loads(e["stateExitedEventDetails"]["output"])["fetchFailures"]
        for e in history
        if e.get("stateExitedEventDetails", {}).get("name") == "CountStockFetchFailures"
    ]
    assert counted and isinstance(counted[0]["failed"], list) and counted[0]["count"] == 1
    if described["status"] == "SUCCEEDED":  # ToleratedFetchFailures >= 1
        assert list(output["runSummary"]["bySymbol"]) == ["MSFT"]


def test_a_wait_whose_timestamp_has_passed_goes_on_at_once(aws, stack_outputs):
    # The first item's slot is the time ValidateExecutionInput ran: already past when its Wait begins.
    described = run_execution(aws, stack_outputs["StateMachineArn"], {"workflow": "streaming"})
    history = aws["stepfunctions"].get_execution_history(
        executionArn=described["executionArn"], maxResults=1000
    )["events"]
    waits = [e for e in history if e["type"] in ("WaitStateEntered", "WaitStateExited")]
    entered, exited = waits[0]["timestamp"], waits[1]["timestamp"]
    assert (exited - entered).total_seconds() < 1


def test_an_input_that_is_not_an_object_fails_by_name(aws, stack_outputs):
    sfn = aws["stepfunctions"]
    arn = sfn.start_execution(stateMachineArn=stack_outputs["StateMachineArn"], input='"etl"')["executionArn"]
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        time.sleep(2)
    assert (described["status"], described["error"]) == ("FAILED", "InvalidInputError")
    assert "must be a JSON object" in described["cause"]


def test_list_buckets_result_size_per_bucket_is_as_the_readme_says(aws, stack_outputs):
    described = run_execution(aws, stack_outputs["StateMachineArn"], {"workflow": "etl"})
    history = aws["stepfunctions"].get_execution_history(
        executionArn=described["executionArn"], maxResults=1000
    )
    outputs = [
        json.loads(event["taskSucceededEventDetails"]["output"])
        for event in history["events"]
        if event["type"] == "TaskSucceeded" and "Buckets" in event["taskSucceededEventDetails"]["output"]
    ]
    (listed,) = outputs
    for bucket in listed["Buckets"]:
        assert set(bucket) <= {"Name", "CreationDate", "BucketRegion"}
        # The README's limit assumes about 50 bytes per bucket besides its name.
        assert len(json.dumps(bucket, separators=(",", ":"))) - len(bucket["Name"]) <= 50


def throttling_errors(aws: Any, stack_outputs: dict[str, str], resource: str, parameters: dict) -> set[str]:
    """Error names of a burst of the same aws-sdk call, run without retries by a temporary state machine
    with the stack's role (which grants the call)."""
    sfn = aws["stepfunctions"]
    role = sfn.describe_state_machine(stateMachineArn=stack_outputs["StateMachineArn"])["roleArn"]
    call = {"Type": "Task", "Resource": f"arn:aws:states:::aws-sdk:{resource}", "Parameters": parameters}
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "Caught"}]
    iterator = {
        "StartAt": "Call",
        "States": {
            "Call": {**call, "ResultSelector": {"ok": True}, "Catch": catch, "End": True},
            "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True},
        },
    }
    definition = {
        "StartAt": "Burst",
        "States": {
            "Burst": {
                "Type": "Map",
                "MaxConcurrency": 40,
                "ItemsPath": "$.items",
                "Iterator": iterator,
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"throttling-probe-{int(time.time())}", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    try:
        described = run_execution(aws, machine, {"items": list(range(400))})
        return {item["error"] for item in json.loads(described["output"]) if "error" in item}
    finally:
        sfn.delete_state_machine(stateMachineArn=machine)


def test_throttled_sns_and_kinesis_calls_carry_the_names_the_definition_retries(aws, stack_outputs):
    stream = stack_outputs["SubscriptionStreamName"]
    sns = throttling_errors(aws, stack_outputs, "sns:listTopics", {})
    kinesis = throttling_errors(aws, stack_outputs, "kinesis:describeStreamSummary", {"StreamName": stream})
    assert sns <= {"Sns.SnsException", "Sns.InternalErrorException"}, sns
    assert kinesis <= {"Kinesis.LimitExceededException", "Kinesis.KinesisException"}, kinesis


def test_the_alarm_can_publish_to_the_encrypted_topic(aws, stack_outputs):
    # The key policy's grant to CloudWatch carries aws:SourceAccount/aws:SourceArn conditions.
    cloudwatch = aws["cloudwatch"]
    alarm = next(
        a["AlarmName"]
        for a in cloudwatch.describe_alarms()["MetricAlarms"]
        if stack_outputs["NotificationTopicArn"] in a.get("AlarmActions", [])
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="tests/deployed: key policy")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        actions = cloudwatch.describe_alarm_history(AlarmName=alarm, HistoryItemType="Action", MaxRecords=5)
        summaries = [item["HistorySummary"] for item in actions["AlarmHistoryItems"]]
        if summaries:
            assert summaries[0].startswith("Successfully executed action"), summaries[0]
            return
        time.sleep(5)
    pytest.fail("the alarm recorded no action within 2 minutes")


def test_two_etl_executions_at_once_both_succeed_the_second_waiting_its_turn(aws, stack_outputs):
    # Settles the name Step Functions gives Glue's refusal (Glue.ConcurrentRunsExceededException).
    sfn = aws["stepfunctions"]
    arns = [
        sfn.start_execution(stateMachineArn=stack_outputs["StateMachineArn"], input='{"workflow": "etl"}')[
            "executionArn"
        ]
        for _ in range(2)
    ]
    deadline = time.monotonic() + 2 * GLUE_PATIENCE_SECONDS
    described = []
    for arn in arns:
        while (status := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(10)
        described.append(status)
    assert [d["status"] for d in described] == ["SUCCEEDED", "SUCCEEDED"]
    errors = {
        e["taskFailedEventDetails"]["error"]
        for arn in arns
        for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if e["type"] == "TaskFailed"
    }
    assert errors <= {"Glue.ConcurrentRunsExceededException"}
