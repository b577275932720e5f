"""Plain helpers for tests on the emulation, the offline tool's and the workflows' alike (tests/conftest.py
holds the fixtures; tests/workflows/pipeline_helpers.py what is this project's)."""

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from moto import mock_aws

from offline_aws.deployer import zip_directory as zip_directory  # one implementation, the deployer's
from offline_aws.emulation import Emulation, ExecutionResult

# Small enough that a 60 s Wait or a long Retry back-off costs milliseconds.
TEST_TIME_SCALE = 0.001


@contextmanager
def in_process_aws() -> Iterator[None]:
    """moto's in-process mock, started and stopped without resetting moto's backends: the same test
    process may host the session's emulation (tests/conftest.py), whose stacks a reset would delete.
    So nothing is cleared between uses: give what you create a unique name."""
    mock = mock_aws()
    mock.start(reset=False)
    try:
        yield
    finally:
        mock.stop(remove_data=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextmanager
def lambda_env(emulation: Emulation, variables: Mapping[str, str]) -> Iterator[None]:
    """Handler variables for the duration of a block, restored afterwards."""
    extra = emulation.require_lambda_runner().extra_env
    previous = {name: extra.get(name) for name in variables}
    extra.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                extra.pop(name, None)
            else:
                extra[name] = value


# ---------------------------------------------------------------- execution history


def task_failures(result: ExecutionResult) -> list[tuple[str, str]]:
    """(state, error) of every failed task attempt, in order: retries show up here."""
    failures, state = [], ""
    for event in result.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        for key in ("taskFailedEventDetails", "taskTimedOutEventDetails"):
            if key in event:
                failures.append((state, event[key]["error"]))
    return failures


def task_attempts(result: ExecutionResult, state_name: str) -> int:
    """How often the state's task was scheduled (first attempt plus retries)."""
    attempts, state = 0, ""
    for event in result.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        if "taskScheduledEventDetails" in event and state == state_name:
            attempts += 1
    return attempts


def state_output(result: ExecutionResult, state_name: str) -> Any:
    """The output the state exited with (its first exit)."""
    for event in result.history:
        details = event.get("stateExitedEventDetails")
        if details and details["name"] == state_name:
            return json.loads(details["output"])
    raise AssertionError(f"{state_name} never exited; states entered: {result.states_entered()}")


def task_result(result: ExecutionResult, state_name: str) -> Any:
    """The raw result of the state's last successful task attempt (before ResultSelector)."""
    found, state = None, ""
    for event in result.history:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        details = event.get("taskSucceededEventDetails")
        if details and state == state_name:
            found = json.loads(details["output"])
    if found is None:
        raise AssertionError(f"no successful task in {state_name}")
    return found


# ---------------------------------------------------------------- AWS resources, read back


def bucket_names(emulation: Emulation) -> set[str]:
    return {bucket["Name"] for bucket in emulation.client("s3").list_buckets()["Buckets"]}


def stream_names(emulation: Emulation) -> set[str]:
    # Paged by the last name, as the definition's ListMoreStreams does (moto gives no NextToken).
    kinesis, names, kwargs = emulation.client("kinesis"), set(), {}
    while True:
        page = kinesis.list_streams(Limit=100, **kwargs)
        names.update(page["StreamNames"])
        if not page["HasMoreStreams"] or not page["StreamNames"]:
            return names
        kwargs = {"ExclusiveStartStreamName": page["StreamNames"][-1]}


def topic_arns(emulation: Emulation) -> set[str]:
    pages = emulation.client("sns").get_paginator("list_topics").paginate()
    return {topic["TopicArn"] for page in pages for topic in page["Topics"]}


def resource_names(emulation: Emulation) -> dict[str, set[str]]:
    return {
        "buckets": bucket_names(emulation),
        "streams": stream_names(emulation),
        "topics": topic_arns(emulation),
    }


def object_versions(emulation: Emulation, bucket: str, prefix: str) -> dict[str, str]:
    """Key -> ETag of every object under the prefix: equal snapshots mean nothing was written."""
    pages = emulation.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {obj["Key"]: obj["ETag"] for page in pages for obj in page.get("Contents", [])}


def subscriptions(emulation: Emulation, topic_arn: str) -> list[tuple[str, str]]:
    pages = emulation.client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
    return [(sub["Protocol"], sub["Endpoint"]) for page in pages for sub in page["Subscriptions"]]


def kinesis_record(emulation: Emulation, stream: str, shard_id: str, sequence_number: str) -> dict[str, Any]:
    kinesis = emulation.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName=stream,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=sequence_number,
    )["ShardIterator"]
    record = kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"][0]
    assert record["SequenceNumber"] == sequence_number
    return {"PartitionKey": record["PartitionKey"], "Data": json.loads(record["Data"])}


def kinesis_record_count(emulation: Emulation, stream: str) -> int:
    kinesis = emulation.client("kinesis")
    count = 0
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            count += len(page["Records"])
            iterator = page.get("NextShardIterator")
    return count


def curated_rows(emulation: Emulation, bucket: str, prefix: str, local_dir: Path) -> list[dict[str, Any]]:
    """Every row of the Parquet files under the prefix, read with DuckDB; `ts` as an aware UTC datetime."""
    s3 = emulation.client("s3")
    files = [key for key in object_versions(emulation, bucket, prefix) if key.endswith(".parquet")]
    for key in files:
        target = local_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
    if not files:
        return []
    paths = [str(local_dir / key) for key in files]
    with duckdb.connect() as connection:
        # Partition values stay text, as in the table's schema (trade_date is a string there).
        cursor = connection.execute(
            "SELECT epoch_ms(ts) AS ts_ms, * EXCLUDE (ts)"
            " FROM read_parquet(?, hive_partitioning = true, hive_types_autocast = false)",
            [paths],
        )
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["ts"] = datetime.fromtimestamp(row.pop("ts_ms") / 1000, UTC)
    return rows


# ---------------------------------------------------------------- SNS deliveries


@dataclass(frozen=True)
class Notification:
    subject: str | None
    message: str
    attributes: dict[str, str]
    topic_arn: str


class SqsObserver:
    """An SQS queue subscribed to a topic: what SNS delivered, as any subscriber would see it."""

    def __init__(self, emulation: Emulation, topic_arn: str) -> None:
        self._sqs = emulation.client("sqs")
        self.queue_url = self._sqs.create_queue(QueueName=unique("observer"))["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        emulation.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self._seen: list[Notification] = []

    def delivered(self) -> list[Notification]:
        """Everything delivered so far (the queue is drained into memory, so nothing is lost)."""
        while True:
            answer = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return list(self._seen)
            for message in messages:
                envelope = json.loads(message["Body"])
                self._seen.append(
                    Notification(
                        subject=envelope.get("Subject"),
                        message=envelope["Message"],
                        attributes={
                            name: value["Value"]
                            for name, value in envelope.get("MessageAttributes", {}).items()
                        },
                        topic_arn=envelope["TopicArn"],
                    )
                )
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def for_execution(self, execution_arn: str) -> list[Notification]:
        # Both the record notification and the failure notification name the execution.
        return [n for n in self.delivered() if execution_arn in n.message]
