"""What an offline run shows: progress read from the execution history, and the summary per execution.

`HistoryTracker` turns history events into one line per state as it exits (with its duration, retries and
caught failures) and keeps each service call's resource and parameters. `summarize` reads back what the
execution left in the emulation: S3 objects (curated rows counted in the Parquet files with DuckDB), the
Kinesis record, the SNS messages, or the error and cause. What it reads comes from the execution's output
and from the calls in its history, never from state names, so renaming a state changes no summary.
"""

import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from botocore.exceptions import ClientError

from offline_aws.cost import billing_facts, estimate
from offline_aws.emulation import Emulation, ExecutionResult
from offline_pipeline.stack import OfflinePipeline

_STATE_ENTERED = "StateEntered"
_STATE_EXITED = "StateExited"
_TASK_FAILURES = frozenset(
    {"TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed", "LambdaFunctionFailed"}
)
_EXECUTION_ENDS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)
_ITERATION_ENDS = frozenset({"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"})
_ITEM_FIELDS = ("symbol", "country")  # what names a Map iteration's item, in its first state's input
Context = int  # 0: the execution's top level; else the id of the MapIterationStarted event
_OBSERVER_QUEUE = "offline-run-sns-observer"
_LABEL_WIDTH = 16
_MESSAGE_LIMIT = 600  # a failure notification carries the whole Lambda error document
# The workflow each fetch function belongs to: a failed execution's path is the function it invoked.
_WORKFLOW_OF_FUNCTION = {"FetchStockDataFunction": "etl", "FetchSubscriptionDataFunction": "streaming"}


# ---------------------------------------------------------------- history


@dataclass
class StateRecord:
    name: str
    state_type: str
    entered: datetime
    item: str | None = None  # inside a Map iteration: its item (symbol or country), or its index
    exited: datetime | None = None
    failures: list[str] = field(default_factory=list)  # error names, in order
    retries: int = 0
    caught: str | None = None  # error a Catch routed away
    resource_type: str = ""  # of a Task: its service integration, e.g. `glue` or `aws-sdk:s3`

    @property
    def seconds(self) -> float | None:
        return (self.exited - self.entered).total_seconds() if self.exited else None


@dataclass
class TaskCall:
    """One scheduled task attempt: which integration, with what parameters, and how it ended."""

    resource_type: str
    resource: str
    parameters: Mapping[str, Any]
    succeeded: bool | None = None  # None: still running


@dataclass(frozen=True)
class Published:
    topic_arn: str
    subject: str | None
    message: str
    message_id: str


class HistoryTracker:
    """Feed it history events in order (repeats are skipped); `emit` gets each progress line.

    Map iterations run side by side: each event belongs to the iteration its `previousEventId` chain
    leads to (a MapIterationStarted), so a state and its task events are matched within one iteration.
    """

    def __init__(self, emit: Callable[[str], None], *, verbose: bool = False) -> None:
        self.emit = emit
        self.verbose = verbose
        self.states: list[StateRecord] = []
        self.published: list[Published] = []
        self.started: datetime | None = None
        self._seen: set[int] = set()
        self._open: dict[tuple[Context, str], StateRecord] = {}
        self._task: dict[Context, StateRecord] = {}
        self._call: dict[Context, TaskCall] = {}
        self.calls: list[TaskCall] = []
        self._pending_publish: dict[Context, dict[str, Any]] = {}
        self._context_of: dict[int, Context] = {}
        self._outer: dict[Context, Context] = {}  # iteration -> the context its Map runs in
        self._item: dict[Context, str] = {}

    def feed(self, events: Iterable[Mapping[str, Any]]) -> None:
        for event in sorted(events, key=lambda e: int(e["id"])):
            if int(event["id"]) not in self._seen:
                self._seen.add(int(event["id"]))
                self._event(event)

    def _context(self, event: Mapping[str, Any]) -> Context:
        """The iteration the event belongs to (0: none), recorded for the events that follow it."""
        kind, event_id = event["type"], int(event["id"])
        previous = self._context_of.get(int(event.get("previousEventId") or 0), 0)
        if kind == "MapIterationStarted":
            context = event_id
            self._outer[context] = previous
            index = (event.get("mapIterationStartedEventDetails") or {}).get("index")
            self._item[context] = f"#{index}" if index is not None else "?"
        elif kind in _ITERATION_ENDS:
            context = self._outer.get(previous, 0)
            self._context_of[event_id] = context
            return previous
        else:
            context = previous
        self._context_of[event_id] = context
        return context

    def _event(self, event: Mapping[str, Any]) -> None:
        kind: str = event["type"]
        when: datetime = event["timestamp"]
        context = self._context(event)
        if self.verbose:
            self.emit(f"      [{event['id']:>3}] {kind}{_event_detail(event)}")
        task = self._task.get(context)
        if kind == "ExecutionStarted":
            self.started = when
        elif kind.endswith(_STATE_ENTERED):
            details = event["stateEnteredEventDetails"]
            if context and self._item.get(context, "").startswith("#"):
                named = _json_or_none(details.get("input"))
                if isinstance(named, Mapping):
                    item = next((str(named[f]) for f in _ITEM_FIELDS if isinstance(named.get(f), str)), None)
                    self._item[context] = item or self._item[context]
            record = StateRecord(details["name"], kind[: -len(_STATE_ENTERED)], when, self._item.get(context))
            self.states.append(record)
            self._open[(context, record.name)] = record
            if record.state_type == "Task":
                self._task[context] = record
        elif kind.endswith(_STATE_EXITED):
            record = self._open.pop((context, event["stateExitedEventDetails"]["name"]), None)
            if record is not None:
                record.exited = when
                if record.failures and record.retries < len(record.failures):
                    record.caught = record.failures[-1]
                self._line(record)
        elif kind == "TaskScheduled" and task is not None:
            self._scheduled(context, task, event["taskScheduledEventDetails"])
        elif kind in _TASK_FAILURES and task is not None:
            if context in self._call:
                self._call[context].succeeded = False
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            error = str(details.get("error") or kind)
            task.failures.append(error)
            self.emit(
                f"{'':9}! {_labelled(task)} failed: {error}: {_shorten(error_message(details.get('cause')))}"
            )
        elif kind == "TaskSucceeded" and context in self._call:
            self._call[context].succeeded = True
            self._published(context, event)
        elif kind in _EXECUTION_ENDS:
            # Fail and Succeed states may end the execution without an exit event of their own.
            for record in list(self._open.values()):
                record.exited = when
                self._line(record)
            self._open.clear()

    def _published(self, context: Context, event: Mapping[str, Any]) -> None:
        pending = self._pending_publish.pop(context, None)
        if pending is not None:
            output = _json_or_none(event["taskSucceededEventDetails"].get("output")) or {}
            self.published.append(
                Published(
                    topic_arn=str(pending.get("TopicArn", "")),
                    subject=pending.get("Subject"),
                    message=str(pending.get("Message", "")),
                    message_id=str(output.get("MessageId", "")),
                )
            )

    def _scheduled(self, context: Context, task: StateRecord, details: Mapping[str, Any]) -> None:
        if task.failures:
            task.retries += 1
            self.emit(f"{'':9}  retrying {_labelled(task)} (attempt {task.retries + 1})")
        resource_type, resource = str(details.get("resourceType", "")), str(details.get("resource", ""))
        task.resource_type = resource_type
        parameters = _json_or_none(details.get("parameters"))
        call = TaskCall(resource_type, resource, parameters if isinstance(parameters, Mapping) else {})
        self.calls.append(call)
        self._call[context] = call
        if resource_type == "glue" and resource.startswith("startJobRun") and not task.failures:
            self.emit(
                f"{'':9}  {task.name}: running the Glue script on local Spark"
                " (starting Spark takes about 10 s) ..."
            )
        self._pending_publish.pop(context, None)
        if resource_type == "aws-sdk:sns" and resource == "publish":
            self._pending_publish[context] = dict(call.parameters)

    def _line(self, record: StateRecord) -> None:
        elapsed = (record.entered - self.started).total_seconds() if self.started else 0.0
        notes = []
        if record.retries:
            notes.append(f"retried {record.retries}x")
        if record.caught:
            notes.append(f"failed: {record.caught}, caught")
        elif len(record.failures) > record.retries:  # ended the execution: no Catch matched
            notes.append(f"failed: {record.failures[-1]}")
        seconds = record.seconds
        duration = _duration(seconds) if seconds is not None else ""
        note = f"  {', '.join(notes)}" if notes else ""
        self.emit(f"  {elapsed:6.2f}s {_labelled(record):<28} {record.state_type:<8}{duration:>8}{note}")

    def task_of(self, resource_type: str) -> StateRecord | None:
        """The last task state calling this integration (e.g. `glue`)."""
        return next((r for r in reversed(self.states) if r.resource_type == resource_type), None)

    def calls_to(self, resource_type: str, resource: str) -> list[TaskCall]:
        return [c for c in self.calls if c.resource_type == resource_type and c.resource == resource]


def _labelled(record: StateRecord) -> str:
    """A state's name, with the item of the Map iteration it ran in."""
    return f"{record.name} [{record.item}]" if record.item else record.name


def _event_detail(event: Mapping[str, Any]) -> str:
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), None)
    if not isinstance(details, Mapping):
        return ""
    shown = {k: details[k] for k in ("name", "resourceType", "resource", "error") if k in details}
    return f" {json.dumps(shown)}" if shown else ""


# ---------------------------------------------------------------- formatting helpers


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def error_message(cause: Any) -> str:
    """A Lambda error's cause is its error document: show its message, not the stack trace."""
    document = _json_or_none(cause)
    if isinstance(document, Mapping):
        for key in ("errorMessage", "ErrorMessage", "Cause"):
            if document.get(key):
                return str(document[key])
    return "" if cause is None else str(cause)


def _tally(errors: list[str]) -> str:
    counts = Counter(errors)
    return ", ".join(name if count == 1 else f"{name} ({count} times)" for name, count in counts.items())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def _s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _name_from_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


class _Block:
    """A labelled block: first line carries the label, continuation lines are indented under the value."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, label: str, value: str = "", *more: str) -> None:
        self.lines.append(f"  {label:<{_LABEL_WIDTH}}{value}".rstrip())
        for line in more:
            self.lines.append(f"  {'':<{_LABEL_WIDTH}}{line}".rstrip())


# ---------------------------------------------------------------- SNS observer


class SnsObserver:
    """An SQS queue subscribed to every topic that exists before an execution, as one would on AWS, so
    the summary can show what SNS delivered. Topics an execution creates are seen in its history only."""

    def __init__(self, emulation: Emulation) -> None:
        self.sns = emulation.client("sns")
        self.sqs = emulation.client("sqs")
        self.queue_url = self.sqs.create_queue(QueueName=_OBSERVER_QUEUE)["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._subscribed: set[str] = set()
        self.received: dict[str, dict[str, Any]] = {}  # message id -> SNS envelope

    def subscribe_to_existing_topics(self) -> None:
        for page in self.sns.get_paginator("list_topics").paginate():
            for topic in page["Topics"]:
                arn = topic["TopicArn"]
                if arn not in self._subscribed:
                    self.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=self.queue_arn)
                    self._subscribed.add(arn)

    def drain(self) -> None:
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                envelope = _json_or_none(message["Body"]) or {}
                if envelope.get("MessageId"):
                    self.received[envelope["MessageId"]] = envelope
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


# ---------------------------------------------------------------- summary


@dataclass
class ExecutionRun:
    label: str  # the input file as given
    result: ExecutionResult
    tracker: HistoryTracker
    pipeline: OfflinePipeline

    @property
    def output(self) -> Mapping[str, Any]:
        return self.result.output if isinstance(self.result.output, Mapping) else {}

    @property
    def path(self) -> str:
        """The workflow the execution took: named in its output, else by the fetch function it invoked."""
        if self.output.get("workflow"):
            return str(self.output["workflow"])
        workflow_of_arn = {
            arn: _WORKFLOW_OF_FUNCTION[logical_id]
            for logical_id, arn in self.pipeline.function_arns().items()
            if logical_id in _WORKFLOW_OF_FUNCTION
        }
        for call in self.tracker.calls_to("lambda", "invoke"):
            if str(call.parameters.get("FunctionName")) in workflow_of_arn:
                return workflow_of_arn[str(call.parameters["FunctionName"])]
        return "none (the execution failed before fetching)"

    @property
    def wall_seconds(self) -> float | None:
        start, stop = self.result.start_date, self.result.stop_date
        return (stop - start).total_seconds() if start and stop else None


def summarize(run: ExecutionRun, observer: SnsObserver | None) -> list[str]:
    result, tracker, emulation = run.result, run.tracker, run.pipeline.emulation
    block = _Block()
    block.add("input", run.label)
    block.add("path", run.path)
    block.add("states entered", str(len(result.states_entered())))
    wall = run.wall_seconds
    glue = tracker.task_of("glue")
    glue_note = f" (Glue step {_duration(glue.seconds)})" if glue and glue.seconds is not None else ""
    block.add("wall time", f"{_duration(wall)}{glue_note}" if wall is not None else "?")
    retried = [
        f"{r.name} {r.retries}x after {_tally(r.failures[: r.retries])}" for r in tracker.states if r.retries
    ]
    if retried:
        block.add("retries", *retried)
    if not result.succeeded:
        failed_at = next((r.name for r in tracker.states if r.caught), None)
        if failed_at is None and tracker.states:
            failed_at = tracker.states[-1].name
        block.add("failed at", failed_at or "?")
        block.add("error", result.error or "?")
        block.add("cause", _shorten(error_message(result.cause), 400))
    output = run.output
    if output.get("workflow") == "etl":
        _etl(emulation, output, block)
    elif not result.succeeded:
        _s3_writes(emulation, run, block)
    if output.get("workflow") == "streaming":
        _kinesis(emulation, output, block)
    _sns(tracker.published, observer, block)
    try:
        cost = estimate(result.history, **billing_facts(emulation.client))
        block.add("AWS cost", *cost.lines())
    except ClientError as error:
        block.add("AWS cost", f"not estimated: {error}")
    status = result.status
    return [f"{result.name}: {status}", *block.lines]


def _etl(emulation: Emulation, output: Mapping[str, Any], block: _Block) -> None:
    s3 = emulation.client("s3")
    counts = output.get("runSummary") or {}
    by_symbol: Mapping[str, Mapping[str, Any]] = counts.get("bySymbol") or {}
    raw_bucket, raw_prefix = _s3_uri(str(output["rawObjects"]))
    raw = {
        item["Key"][len(raw_prefix) :].removesuffix(".json"): item["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=raw_bucket, Prefix=raw_prefix)
        for item in page.get("Contents", [])
    }
    block.add("S3 raw", str(output["rawObjects"]), f"{_plural(len(raw), 'object')}, one per symbol fetched")

    bucket, prefix = _s3_uri(str(output["curatedDataset"]))
    partitions = _parquet_rows(s3, bucket, prefix)
    total = sum(rows for _, rows, _ in partitions)
    files = sum(count for _, _, count in partitions)
    block.add(
        "S3 curated",
        str(output["curatedDataset"]),
        f"{total} rows in {_plural(files, 'Parquet file')} (rows counted with DuckDB)",
    )
    lines = []
    for symbol in output.get("symbols") or []:
        figures = by_symbol.get(symbol)
        failure = next((f for f in output.get("fetchFailures") or [] if f.get("symbol") == symbol), None)
        if failure is not None:
            lines.append(
                f"{symbol}: not fetched: {failure.get('error')}: {_shorten(str(failure.get('cause')), 120)}"
            )
            continue
        size = f", raw {_size(raw[symbol])}" if symbol in raw else ""
        if figures is None:
            lines.append(f"{symbol}: fetched{size}, not in the run summary")
            continue
        lines.append(
            f"{symbol}: {figures.get('barsRead')} bars{size}; written {figures.get('rowsWritten')}"
            f" (new {figures.get('newRows')}, updated {figures.get('rowsUpdated')}),"
            f" quarantined {figures.get('barsQuarantined')}"
        )
        lines.extend(
            f"  {partition}: {rows} rows"
            for partition, rows, _ in partitions
            if partition.startswith(f"symbol={symbol}/")
        )
    if lines:
        block.add("symbols", *lines)
    if counts.get("rowsQuarantined"):
        # From the run summary: offline the job reports its local mirror's path, not the S3 URI.
        reasons = ", ".join(f"{reason} {n}" for reason, n in (counts.get("quarantineReasons") or {}).items())
        block.add(
            "S3 quarantine",
            f"{counts['rowsQuarantined']} rows rejected" + (f": {reasons}" if reasons else ""),
        )
    if output.get("runSummaryObject"):
        block.add("S3 run summary", str(output["runSummaryObject"]))

    job_run = output.get("glueJobRun") or {}
    n = counts.get
    pending = n("pendingRawObjectsCurated") or 0
    block.add(
        "Glue run",
        f"{job_run.get('id', '?')} {job_run.get('state', '?')}",
        f"raw objects {n('rawObjects')}"
        + (f" ({pending} left pending by an earlier failed run)" if pending else ""),
        f"rows read {n('rowsRead')}, valid {n('rowsValid')}, written {n('rowsWritten')}"
        f" (new {n('newRows')}, updated {n('rowsUpdated')}, unchanged {n('rowsUnchanged')})",
        f"duplicates dropped {n('duplicatesDropped')}, outdated {n('rowsOutdated')},"
        f" quarantined {n('rowsQuarantined')}",
        f"Spark {n('sparkVersion', '?')}, job took {n('durationSeconds', '?')} s",
    )


def _s3_writes(emulation: Emulation, run: ExecutionRun, block: _Block) -> None:
    """A failed execution: each object it asked S3 to write, and whether it is there."""
    puts = [c for c in run.tracker.calls_to("aws-sdk:s3", "putObject") if "Bucket" in c.parameters]
    if not puts:
        block.add("S3", "nothing written (the execution failed before writing to S3)")
        return
    s3 = emulation.client("s3")
    for call in puts:
        bucket, key = str(call.parameters["Bucket"]), str(call.parameters.get("Key", ""))
        written = call.succeeded and _exists(s3, bucket, key)
        block.add(
            "S3", f"s3://{bucket}/{key} {'(written before the failure)' if written else '(not written)'}"
        )


def _kinesis(emulation: Emulation, output: Mapping[str, Any], block: _Block) -> None:
    kinesis = emulation.client("kinesis")
    stream = output["streamName"]
    lines = []
    for record in output.get("records") or []:
        lines.append(
            f"{record['country']}: shard id {record['shardId']}, sequence number {record['sequenceNumber']}"
        )
        lines.extend(f"  {line}" for line in _read_back(kinesis, stream, record))
    for failure in output.get("fetchFailures") or []:
        lines.append(
            f"{failure.get('country')}: no record: {failure.get('error')}:"
            f" {_shorten(str(failure.get('cause')), 120)}"
        )
    block.add("Kinesis", f"stream {stream}", *lines)


def _read_back(kinesis: Any, stream: str, record: Mapping[str, Any]) -> list[str]:
    try:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream,
            ShardId=record["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=record["sequenceNumber"],
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"]
    except ClientError as error:
        return [f"cannot read the record back: {error}"]
    if not records:
        return ["not found in the stream"]
    data: bytes = records[0]["Data"]
    lines = [f"read back: partition key {records[0]['PartitionKey']}, {_size(len(data))}"]
    document = _json_or_none(data.decode("utf-8", "replace"))
    if isinstance(document, Mapping):
        services = [
            str(s.get("name", s.get("id", "?")))
            for s in document.get("services", [])
            if isinstance(s, Mapping)
        ]
        lines.append(
            f"{document.get('countryName', document.get('country', '?'))}: {len(services)} services"
            + (f" ({', '.join(services)})" if services else "")
        )
    else:
        lines.append(_shorten(data.decode("utf-8", "replace"), 120))
    return lines


def _sns(published: list[Published], observer: SnsObserver | None, block: _Block) -> None:
    if not published:
        block.add("SNS", "no message published")
        return
    lines: list[str] = []
    for message in published:
        delivered = observer.received.get(message.message_id) if observer else None
        lines.append(f"to {_name_from_arn(message.topic_arn)} (message id {message.message_id})")
        subject = delivered.get("Subject") if delivered else message.subject
        body = str(delivered.get("Message")) if delivered else message.message
        if len(body) > _MESSAGE_LIMIT:
            body = f"{body[: _MESSAGE_LIMIT - 1]}… ({len(body)} characters)"
        if subject:
            lines.append(f"  Subject: {subject}")
        lines.extend(f"  | {line}" for line in body.splitlines())
        lines.append(
            "  received by an SQS queue subscribed to the topic"
            if delivered
            else "  (topic created by this execution: message as published, from the execution history)"
        )
    block.add("SNS", f"{_plural(len(published), 'message')} published", *lines)


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


_PARTITION = re.compile(r"(?:[^/=]+=[^/]+/)+")


def _parquet_rows(s3: Any, bucket: str, prefix: str) -> list[tuple[str, int, int]]:
    """(partition path, rows, files) per partition of the Parquet files under the prefix."""
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(".parquet")
    ]
    if not keys:
        return []
    by_partition: dict[str, list[str]] = {}
    for key in keys:
        relative = key[len(prefix) :]
        match = _PARTITION.match(relative)
        by_partition.setdefault(match.group(0).rstrip("/") if match else ".", []).append(key)
    counts: list[tuple[str, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="offline-run-parquet-") as scratch:
        for partition, partition_keys in sorted(by_partition.items()):
            files = []
            for index, key in enumerate(partition_keys):
                local = Path(scratch) / f"{len(counts)}-{index}.parquet"
                s3.download_file(bucket, key, str(local))
                files.append(str(local))
            connection = duckdb.connect()
            try:
                row = connection.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()
            finally:
                connection.close()
            counts.append((partition, int(row[0]) if row else 0, len(files)))
    return counts
