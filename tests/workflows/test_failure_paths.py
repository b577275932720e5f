"""Failure paths: each ends in its named error, a failure notification on the stack's topic, no partial data.

Inputs name buckets, streams and topics that do not exist yet, so "no partial data" is checked as "none of
them was created". RapidAPI faults are scripted on the stand-in, which also counts the requests (retries).
"""

import json
from contextlib import contextmanager

import pytest
from emulation_helpers import (
    bucket_names,
    lambda_env,
    object_versions,
    stream_names,
    task_attempts,
    task_failures,
    topic_arns,
    unique,
)

from offline_pipeline.rapidapi_standin import ScriptedResponse

# Workflow -> (fetch state, stand-in API).
FETCH = {
    "etl": ("FetchStockData", "alpha-vantage"),
    "streaming": ("FetchSubscriptionData", "streaming-availability"),
}
# The fetch tasks' retry budget for UpstreamUnavailableError: the first attempt and 3 retries.
UNAVAILABLE_ATTEMPTS = 4


def fresh_input(workflow: str) -> dict:
    """Input naming resources that do not exist, so that anything created shows."""
    return {
        "workflow": workflow,
        "batchBucketName": unique("failure-bucket"),
        "streamName": unique("failure-stream"),
        "topicName": unique("failure-topic"),
        "email": f"{unique('reader')}@example.com",
    }


def assert_failed_cleanly(pipeline, result, execution_input: dict, error: str) -> None:
    """Named error, via NotifyFailure; one notification naming it; nothing the input names was created."""
    assert (result.status, result.error) == ("FAILED", error), result.cause
    assert result.states_entered()[-2:] == ["NotifyFailure", "ExecutionFailed"]
    (notification,) = pipeline.notifications.for_execution(result.execution_arn)
    assert notification.topic_arn == pipeline.topic_arn
    assert notification.subject == f"Data pipeline execution failed: {error}"
    assert f"Error: {error}" in notification.message

    emulation = pipeline.emulation
    assert execution_input["batchBucketName"] not in bucket_names(emulation)
    assert execution_input["streamName"] not in stream_names(emulation)
    assert pipeline.topic_arn_for(execution_input["topicName"]) not in topic_arns(emulation)
    assert not [key for key in object_versions(emulation, pipeline.data_bucket, "") if result.name in key]


# ---------------------------------------------------------------- Lambda errors


@contextmanager
def key_secret_holding(pipeline, value: str):
    secrets = pipeline.emulation.client("secretsmanager")
    secret_id = pipeline.stack.ref("RapidApiKeySecret")
    secrets.put_secret_value(SecretId=secret_id, SecretString=value)
    # Warm functions hold the key for their cache's 300 s, as on AWS: start them cold to see the change.
    pipeline.emulation.recycle_lambda_environments()
    try:
        yield
    finally:
        secrets.put_secret_value(SecretId=secret_id, SecretString=pipeline.standin.api_key)
        pipeline.emulation.recycle_lambda_environments()


@pytest.mark.parametrize("workflow", ["etl", "streaming"])
def test_a_blank_key_secret_fails_with_rapidapi_key_not_set_error(pipeline, workflow) -> None:
    state, api = FETCH[workflow]
    execution_input = fresh_input(workflow)
    # A blank value: Secrets Manager refuses an empty one, the function treats both as "not set".
    with key_secret_holding(pipeline, " "):
        result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "RapidApiKeyNotSetError")
    assert "is empty" in result.cause
    assert task_failures(result) == [(state, "RapidApiKeyNotSetError")]  # not retried
    assert pipeline.requests(api) == 0
    assert pipeline.standin.api_key not in result.cause


def lambda_log_text(pipeline) -> str:
    logs = pipeline.emulation.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    return "\n".join(
        event["message"]
        for group in groups
        for event in logs.filter_log_events(logGroupName=group["logGroupName"])["events"]
    )


@pytest.mark.parametrize("workflow", ["etl", "streaming"])
def test_a_key_stored_with_its_line_end_is_refused_and_shown_nowhere(pipeline, workflow) -> None:
    state, api = FETCH[workflow]
    execution_input = fresh_input(workflow)
    key = pipeline.standin.api_key
    with key_secret_holding(pipeline, f"{key}\r\n"):  # pasted from a file saved with CRLF line ends
        result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "RapidApiKeyMalformedError")
    assert "it has a carriage return (U+000D)" in result.cause
    assert task_failures(result) == [(state, "RapidApiKeyMalformedError")]  # not retried
    assert pipeline.requests(api) == 0
    logs = lambda_log_text(pipeline)
    assert "RapidApiKeyMalformedError" in logs  # the logs were read
    everything = "\n".join(
        [
            json.dumps(result.history, default=str),
            json.dumps(result.output),
            result.cause or "",
            *(n.message + (n.subject or "") for n in pipeline.notifications.delivered()),
            logs,
        ]
    )
    for text in (key, key[:16], key[-16:]):
        assert text not in everything


# ---------------------------------------------------------------- RapidAPI faults


@pytest.mark.parametrize("workflow", ["etl", "streaming"])
def test_a_401_fails_at_once_with_upstream_auth_error(pipeline, workflow) -> None:
    state, api = FETCH[workflow]
    pipeline.standin.script(api, ScriptedResponse.error(401, "rapidapi_401_invalid_key"))
    execution_input = fresh_input(workflow)
    result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "UpstreamAuthError")
    assert "HTTP 401" in result.cause
    assert task_failures(result) == [(state, "UpstreamAuthError")]
    assert pipeline.requests(api) == 1


def test_a_429_is_retried_and_the_run_succeeds(pipeline) -> None:
    # The streaming workflow: the retry is the fetch task's either way, and it runs no Spark job.
    state, api = FETCH["streaming"]
    pipeline.standin.script(api, ScriptedResponse.error(429, "rapidapi_429_quota"))
    result = pipeline.run({"workflow": "streaming", "email": ""})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert task_failures(result) == [(state, "UpstreamRateLimitError")]
    assert task_attempts(result, state) == 2
    assert result.states_entered().count(state) == 1  # a retry stays in the state
    assert pipeline.requests(api) == 2
    (record,) = result.output["records"]
    assert record["serviceCount"] == 4


@pytest.mark.parametrize("workflow", ["etl", "streaming"])
def test_a_500_is_retried_until_the_budget_is_spent(pipeline, workflow) -> None:
    state, api = FETCH[workflow]
    pipeline.standin.script(api, *[ScriptedResponse.status_only(500)] * UNAVAILABLE_ATTEMPTS)
    execution_input = fresh_input(workflow)
    result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "UpstreamUnavailableError")
    assert "HTTP 500" in result.cause
    assert task_failures(result) == [(state, "UpstreamUnavailableError")] * UNAVAILABLE_ATTEMPTS
    assert pipeline.requests(api) == UNAVAILABLE_ATTEMPTS


def test_an_upstream_read_timeout_is_retried_then_fails(pipeline) -> None:
    state, api = FETCH["etl"]
    # A short read timeout keeps the test quick; the stand-in answers well after it.
    pipeline.standin.script(api, *[ScriptedResponse.slow(1.5)] * UNAVAILABLE_ATTEMPTS)
    execution_input = fresh_input("etl")
    with lambda_env(pipeline.emulation, {"UPSTREAM_READ_TIMEOUT_SECONDS": "0.2"}):
        result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "UpstreamUnavailableError")
    assert "did not answer within" in result.cause
    assert task_failures(result) == [(state, "UpstreamUnavailableError")] * UNAVAILABLE_ATTEMPTS
    assert pipeline.requests(api) == UNAVAILABLE_ATTEMPTS


def test_alpha_vantages_daily_quota_body_fails_at_once_with_upstream_quota_exhausted_error(pipeline) -> None:
    state, api = FETCH["etl"]
    pipeline.standin.script(api, ScriptedResponse.http_200_error("http_200_information_rate_limit"))
    execution_input = fresh_input("etl")
    result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "UpstreamQuotaExhaustedError")
    assert "Alpha Vantage answered 'Information'" in result.cause
    assert task_failures(result) == [(state, "UpstreamQuotaExhaustedError")]  # not retried
    assert pipeline.requests(api) == 1


def test_alpha_vantages_per_minute_limit_body_is_retried_as_a_rate_limit(pipeline) -> None:
    state, api = FETCH["etl"]
    note = ScriptedResponse.http_200_error("http_200_note_legacy_rate_limit")
    pipeline.standin.script(api, *[note] * UNAVAILABLE_ATTEMPTS)  # the retries' whole budget, and no Spark
    execution_input = fresh_input("etl")
    result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "UpstreamRateLimitError")
    assert task_failures(result) == [(state, "UpstreamRateLimitError")] * UNAVAILABLE_ATTEMPTS
    assert pipeline.requests(api) == UNAVAILABLE_ATTEMPTS


def test_a_malformed_body_fails_with_invalid_upstream_response_error(pipeline) -> None:
    state, api = FETCH["streaming"]
    pipeline.standin.script(api, ScriptedResponse.malformed())
    execution_input = fresh_input("streaming")
    result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "InvalidUpstreamResponseError")
    assert task_failures(result) == [(state, "InvalidUpstreamResponseError")]
    assert pipeline.requests(api) == 1


# ---------------------------------------------------------------- Glue


@contextmanager
def failing_glue_script(pipeline):
    """The job's packaged script replaced in S3 by one that exits 1, restored afterwards."""
    s3 = pipeline.emulation.client("s3")
    job = pipeline.emulation.client("glue").get_job(JobName=pipeline.glue_job)["Job"]
    bucket, key = job["Command"]["ScriptLocation"].removeprefix("s3://").split("/", 1)
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    failing = b"import sys\nprint('curation failed on purpose', file=sys.stderr)\nsys.exit(1)\n"
    s3.put_object(Bucket=bucket, Key=key, Body=failing)
    try:
        yield
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=original)


def test_a_failing_glue_job_fails_the_run_and_leaves_curated_data_unchanged(pipeline) -> None:
    emulation, data_bucket = pipeline.emulation, pipeline.data_bucket
    curated_before = object_versions(emulation, data_bucket, "curated/")
    with failing_glue_script(pipeline):
        result = pipeline.run({"workflow": "etl"})

    assert (result.status, result.error) == ("FAILED", "States.TaskFailed"), result.cause
    entered = result.states_entered()
    assert entered[-3:] == ["RecordGlueRunFailed", "NotifyFailure", "ExecutionFailed"]
    assert entered.index("RunStockDataGlueJob") < entered.index("KeepUncuratedRawObjects")
    # The definition retries a failed job run once.
    assert task_failures(result) == [("RunStockDataGlueJob", "States.TaskFailed")] * 2
    assert '"JobRunState": "FAILED"' in result.cause
    assert "curation failed on purpose" in result.cause
    (notification,) = pipeline.notifications.for_execution(result.execution_arn)
    assert notification.subject == "Data pipeline execution failed: States.TaskFailed"

    runs = emulation.client("glue").get_job_runs(JobName=pipeline.glue_job)["JobRuns"]
    mine = [run for run in runs if run["Arguments"].get("--fetch_id") == result.name]
    assert [run["JobRunState"] for run in mine] == ["FAILED", "FAILED"]
    assert object_versions(emulation, data_bucket, "curated/") == curated_before
    for prefix in ("run-summaries/stock_minute_bars/", "quarantine/stock_minute_bars/fetch_id="):
        assert object_versions(emulation, data_bucket, prefix + result.name) == {}
    # Kept for the next run to curate (tests/workflows/test_watchlists.py follows that through); removed
    # here, so that the ETL tests sharing this stack see only their own raw objects.
    pending = f"pending/stock_minute_bars/execution={result.name}/"
    kept = object_versions(emulation, data_bucket, pending)
    assert sorted(kept) == [f"{pending}MSFT.json"]
    for key in kept:
        emulation.client("s3").delete_object(Bucket=data_bucket, Key=key)


# ---------------------------------------------------------------- an account with too many buckets


@contextmanager
def account_buckets(emulation, count: int):
    """`count` more buckets with 63-character names, seeded in moto's backend (setup only: creating them
    one request at a time would take most of a minute), removed afterwards."""
    from moto.s3.models import s3_backends

    backend = s3_backends[emulation.account_id]["aws"]
    names = [f"seeded-{i:06d}-{unique('b')}".ljust(63, "x") for i in range(count)]
    for name in names:
        backend.create_bucket(name, emulation.region)
    try:
        yield
    finally:
        for name in names:
            backend.delete_bucket(name)


def test_an_account_with_too_many_buckets_fails_by_name_before_writing(pipeline) -> None:
    # About 50 bytes plus the name per bucket: 2,400 such buckets exceed a state's 256 KiB.
    execution_input = fresh_input("etl")
    with account_buckets(pipeline.emulation, 2400):
        result = pipeline.run(execution_input)

    assert_failed_cleanly(pipeline, result, execution_input, "BucketListTooLargeError")
    assert result.states_entered()[-4:] == [
        "ListBuckets",
        "RecordBucketListTooLarge",
        "NotifyFailure",
        "ExecutionFailed",
    ]
    assert "exceeding the maximum number of bytes" in result.cause
