"""What an execution would cost on AWS, estimated from its history at list prices.

Counted from the history as the services bill it: Step Functions state transitions (every state entered,
Map iterations' included, plus every retry), Lambda requests and GB-seconds, Glue DPU-seconds with the
one-minute minimum, Kinesis PUT payload units (25 KB each), SNS publish requests (64 KB each) and S3
requests. Offline, a Lambda invocation's and a Glue run's lengths are the local ones, so their GB- and
DPU-seconds are estimates; the counts are the definition's own.
"""

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# List prices, us-east-1, as AWS's pricing pages give them (Step Functions, Lambda x86, Glue, Kinesis Data
# Streams provisioned, SNS standard topics, S3 Standard), as of this date.
PRICES_AS_OF = "2026-12-04"
REGION = "us-east-1"
DOLLARS_PER_TRANSITION = 0.025 / 1000
DOLLARS_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
DOLLARS_PER_GB_SECOND = 0.0000166667
DOLLARS_PER_DPU_HOUR = {"STANDARD": 0.44, "FLEX": 0.29}
GLUE_MINIMUM_SECONDS = 60
DOLLARS_PER_KINESIS_PUT_UNIT = 0.014 / 1_000_000
KINESIS_PUT_UNIT_BYTES = 25 * 1024
DOLLARS_PER_SNS_REQUEST = 0.50 / 1_000_000
SNS_REQUEST_BYTES = 64 * 1024
DOLLARS_PER_S3_REQUEST = {"write": 0.005 / 1000, "read": 0.0004 / 1000}
# S3 actions by price tier: PUT, COPY, POST and LIST requests, or GET and the rest.
_S3_WRITES = frozenset({"putObject", "copyObject", "createBucket", "listBuckets", "listObjectsV2"})

_TASK_ENDS = frozenset({"TaskSucceeded", "TaskFailed", "TaskTimedOut"})
_TASK_STEPS = frozenset({"TaskStarted", "TaskSubmitted"})  # between a task's scheduling and its end


@dataclass(frozen=True)
class GlueRun:
    dpu: float
    execution_class: str  # STANDARD | FLEX
    seconds: float


@dataclass
class CostEstimate:
    transitions: int = 0
    lambda_requests: int = 0
    lambda_gb_seconds: float = 0.0
    glue_runs: list[GlueRun] = field(default_factory=list)
    kinesis_put_units: int = 0
    sns_requests: int = 0
    s3_requests: dict[str, int] = field(default_factory=lambda: {"write": 0, "read": 0})

    @property
    def glue_dpu_seconds(self) -> float:
        return sum(run.dpu * max(GLUE_MINIMUM_SECONDS, run.seconds) for run in self.glue_runs)

    @property
    def dollars(self) -> dict[str, float]:
        return {
            "Step Functions": self.transitions * DOLLARS_PER_TRANSITION,
            "Lambda": self.lambda_requests * DOLLARS_PER_LAMBDA_REQUEST
            + self.lambda_gb_seconds * DOLLARS_PER_GB_SECOND,
            "Glue": sum(
                run.dpu
                * max(GLUE_MINIMUM_SECONDS, run.seconds)
                / 3600
                * DOLLARS_PER_DPU_HOUR[run.execution_class]
                for run in self.glue_runs
            ),
            "Kinesis": self.kinesis_put_units * DOLLARS_PER_KINESIS_PUT_UNIT,
            "SNS": self.sns_requests * DOLLARS_PER_SNS_REQUEST,
            "S3": sum(count * DOLLARS_PER_S3_REQUEST[tier] for tier, count in self.s3_requests.items()),
        }

    @property
    def total(self) -> float:
        return sum(self.dollars.values())

    def lines(self) -> list[str]:
        """The estimate as the offline run's summary shows it."""
        dollars = self.dollars
        parts = [
            f"Step Functions {self.transitions} transitions ${dollars['Step Functions']:.5f}",
            f"Lambda {self.lambda_requests} requests, {self.lambda_gb_seconds:.2f} GB-s"
            f" ${dollars['Lambda']:.5f}",
        ]
        if self.glue_runs:
            classes = "/".join(sorted({run.execution_class.title() for run in self.glue_runs}))
            parts.append(
                f"Glue {len(self.glue_runs)} run(s), {self.glue_dpu_seconds:.0f} DPU-s ({classes}, at least"
                f" {GLUE_MINIMUM_SECONDS} s each) ${dollars['Glue']:.5f}"
            )
        if self.kinesis_put_units:
            parts.append(f"Kinesis {self.kinesis_put_units} PUT payload units ${dollars['Kinesis']:.7f}")
        if self.sns_requests:
            parts.append(f"SNS {self.sns_requests} publish requests ${dollars['SNS']:.7f}")
        s3 = self.s3_requests
        if any(s3.values()):
            parts.append(f"S3 {s3['write']} PUT/LIST, {s3['read']} GET requests ${dollars['S3']:.6f}")
        return [
            f"${self.total:.4f}, an estimate at {REGION} list prices of {PRICES_AS_OF} (offline lengths for"
            " Lambda and Glue)",
            *parts,
        ]


# DPUs per Glue worker, by WorkerType.
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0}


def billing_facts(client: Callable[[str], Any]) -> dict[str, Any]:
    """`lambda_memory_mb` and `glue_run` for `estimate`, read through the AWS API (emulated or real) with
    the clients `client(service)` gives."""
    lambda_client, glue = client("lambda"), client("glue")
    memory: dict[str, int] = {}

    def lambda_memory_mb(function: str) -> int:
        if function not in memory:
            memory[function] = int(
                lambda_client.get_function_configuration(FunctionName=function)["MemorySize"]
            )
        return memory[function]

    def glue_run(job_name: str, run_id: str) -> GlueRun | None:
        job = glue.get_job(JobName=job_name)["Job"]
        run = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
        if job.get("WorkerType") and job.get("NumberOfWorkers"):
            dpu = DPU_PER_WORKER.get(job["WorkerType"], 1.0) * int(job["NumberOfWorkers"])
        else:
            dpu = float(job.get("MaxCapacity") or run.get("MaxCapacity") or 10)
        seconds = float(run.get("ExecutionTime") or 0)
        if not seconds and run.get("StartedOn") and run.get("CompletedOn"):
            seconds = (run["CompletedOn"] - run["StartedOn"]).total_seconds()
        return GlueRun(dpu, str(job.get("ExecutionClass") or "STANDARD").upper(), seconds)

    return {"lambda_memory_mb": lambda_memory_mb, "glue_run": glue_run}


def event_time(event: Mapping[str, Any]) -> datetime:
    """A history event's timestamp: a datetime from boto3, ISO text from a JSON dump of the history."""
    value = event["timestamp"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def _blob_bytes(value: Any) -> int:
    """A JSON-value blob member as Step Functions sends it: a string as is, anything else as compact JSON."""
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def estimate(
    history: Iterable[Mapping[str, Any]],
    *,
    lambda_memory_mb: Callable[[str], int],
    glue_run: Callable[[str, str], GlueRun | None],
) -> CostEstimate:
    """The estimate for an execution's history. `lambda_memory_mb` gives a function's memory by the name or
    ARN the task invoked; `glue_run` a job run's capacity, class and length by job name and run id."""
    events = list(history)
    by_id = {int(e["id"]): e for e in events}
    cost = CostEstimate()
    task_entries = 0
    scheduled: dict[int, Mapping[str, Any]] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            cost.transitions += 1
            task_entries += kind == "TaskStateEntered"
        elif kind == "TaskScheduled":
            scheduled[int(event["id"])] = event
            _count_call(cost, event["taskScheduledEventDetails"])
    cost.transitions += max(0, len(scheduled) - task_entries)  # every attempt after a state's first
    for event in events:
        if event["type"] not in _TASK_ENDS:
            continue
        start = _scheduled_of(event, by_id, scheduled)
        if start is None:
            continue
        details = start["taskScheduledEventDetails"]
        resource_type, resource = details.get("resourceType"), details.get("resource", "")
        if resource_type == "lambda":
            function = str((_json(details.get("parameters")) or {}).get("FunctionName", ""))
            seconds = (event_time(event) - event_time(start)).total_seconds()
            billed = math.ceil(max(seconds, 0.001) * 1000) / 1000
            cost.lambda_gb_seconds += lambda_memory_mb(function) / 1024 * billed
        elif (
            resource_type == "glue" and resource.startswith("startJobRun") and event["type"] != "TaskTimedOut"
        ):
            output = _json(
                next(iter(v for k, v in event.items() if k.endswith("EventDetails")), {}).get("output")
            )
            job = str((_json(details.get("parameters")) or {}).get("JobName", ""))
            run_id = (output or {}).get("Id")
            run = glue_run(job, run_id) if run_id else None
            if run is not None:
                cost.glue_runs.append(run)
    return cost


def _scheduled_of(
    event: Mapping[str, Any],
    by_id: Mapping[int, Mapping[str, Any]],
    scheduled: Mapping[int, Mapping[str, Any]],
) -> Mapping[str, Any] | None:
    """The TaskScheduled event a task's end chains back to (through TaskStarted)."""
    previous = by_id.get(int(event.get("previousEventId") or 0))
    while previous is not None and int(previous["id"]) not in scheduled and previous["type"] in _TASK_STEPS:
        previous = by_id.get(int(previous.get("previousEventId") or 0))
    return previous if previous is not None and int(previous["id"]) in scheduled else None


def _count_call(cost: CostEstimate, details: Mapping[str, Any]) -> None:
    resource_type, resource = details.get("resourceType", ""), details.get("resource", "")
    parameters = _json(details.get("parameters")) or {}
    if resource_type == "lambda":
        cost.lambda_requests += 1
    elif resource_type.endswith("kinesis") and resource in ("putRecord", "putRecords"):
        records = parameters.get("Records") if resource == "putRecords" else [parameters]
        for record in records or []:
            size = _blob_bytes(record.get("Data", ""))
            cost.kinesis_put_units += max(1, math.ceil(size / KINESIS_PUT_UNIT_BYTES))
    elif resource_type.endswith("sns") and resource == "publish":
        size = len(str(parameters.get("Message", "")).encode())
        cost.sns_requests += max(1, math.ceil(size / SNS_REQUEST_BYTES))
    elif resource_type.endswith("s3"):
        cost.s3_requests["write" if resource in _S3_WRITES else "read"] += 1
