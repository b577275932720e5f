"""The cost estimate (offline_aws/cost.py) counts an execution's billed units from its history as AWS bills
them: transitions with retries, Lambda requests and GB-seconds, SNS 64 KB requests, Kinesis 25 KB PUT
payload units, S3 requests, and a Glue run at its one-minute minimum."""

import pytest
from emulation_helpers import unique

from offline_aws import cost


@pytest.fixture
def billed_execution(emulation, create_state_machine, create_function):
    function = create_function("def handler(event, context):\n    return {'ok': True}\n")
    sns, kinesis, s3 = emulation.client("sns"), emulation.client("kinesis"), emulation.client("s3")
    topic = sns.create_topic(Name=unique("cost-topic"))["TopicArn"]
    stream = unique("cost-stream")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    bucket = unique("cost-bucket")
    s3.create_bucket(Bucket=bucket)
    task = {"Type": "Task", "ResultPath": None}
    machine = {
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Next": "Invoke"},
            "Invoke": {
                **task,
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function["FunctionArn"], "Payload": {}},
                "Next": "Publish",
            },
            "Publish": {
                **task,
                "Resource": "arn:aws:states:::aws-sdk:sns:publish",
                "Parameters": {"TopicArn": topic, "Message": "m" * (70 * 1024)},  # two 64 KB requests
                "Next": "Put",
            },
            "Put": {
                **task,
                "Resource": "arn:aws:states:::aws-sdk:kinesis:putRecord",
                # 30 KB of compact JSON: two 25 KB PUT payload units
                "Parameters": {"StreamName": stream, "PartitionKey": "k", "Data": {"d": "x" * (30 * 1024)}},
                "Next": "Store",
            },
            "Store": {
                **task,
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {"Bucket": bucket, "Key": "k", "Body": "b"},
                "Next": "Read",
            },
            "Read": {
                **task,
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "missing"},
                "Retry": [{"ErrorEquals": ["S3.NoSuchKeyException"], "MaxAttempts": 2, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {})
    assert result.status == "SUCCEEDED", result.cause
    return function, result


def test_the_estimate_counts_what_each_service_bills(emulation, billed_execution) -> None:
    function, result = billed_execution
    estimate = cost.estimate(result.history, **cost.billing_facts(emulation.client))
    # 7 states entered, and the getObject's 2 retries are transitions too.
    assert estimate.transitions == 7 + 2
    assert estimate.lambda_requests == 1
    assert 0 < estimate.lambda_gb_seconds <= function["MemorySize"] / 1024 * 10
    assert (estimate.sns_requests, estimate.kinesis_put_units) == (2, 2)
    assert estimate.s3_requests == {"write": 1, "read": 3}
    assert estimate.glue_runs == []
    assert estimate.dollars["Step Functions"] == pytest.approx(9 * 0.025 / 1000)
    assert estimate.total == pytest.approx(sum(estimate.dollars.values()))
    assert estimate.lines()[0].startswith(f"${estimate.total:.4f}, an estimate at us-east-1 list prices of")


def test_a_glue_run_is_billed_at_least_a_minute_at_its_class_price() -> None:
    short = cost.CostEstimate(glue_runs=[cost.GlueRun(dpu=2, execution_class="FLEX", seconds=7)])
    long = cost.CostEstimate(glue_runs=[cost.GlueRun(dpu=2, execution_class="STANDARD", seconds=600)])
    assert short.glue_dpu_seconds == 120 and short.dollars["Glue"] == pytest.approx(120 / 3600 * 0.29)
    assert long.glue_dpu_seconds == 1200 and long.dollars["Glue"] == pytest.approx(1200 / 3600 * 0.44)
