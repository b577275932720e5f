"""Benchmark: what an ETL execution costs per symbol as the watchlist grows, at AWS list prices.

For watchlists of 1, 10, 100, 200 and 500 symbols, ETL executions on template.yaml deployed offline: one
each, but a watchlist longer than an execution takes (MAX_SYMBOLS_PER_EXECUTION, 200) is split over as
many executions as it needs, as a user must, and its figures are their sums
(RapidApiRequestsPerMinute set high, so that pacing waits do not dominate the offline wall time; the
Wait states are entered and billed all the same): state transitions (every state entered, Map
iterations' included, plus every retry), Lambda invocations and their GB-seconds, Glue runs and billed
DPU-seconds, the raw objects put, the history events and the largest state, and the list-price cost in
all and per symbol.

    python -m bench.bench_watchlist_cost                 # 1, 10, 100, 200, 500 symbols
    python -m bench.bench_watchlist_cost --quick         # 1, 10
    python -m bench.bench_watchlist_cost --sizes 1 50

Prices: us-east-1 list prices as the README's cost section gives them (Step Functions Standard $0.025
per 1,000 transitions; Lambda $0.20 per million requests and $0.0000166667 per GB-second on x86; Glue
Flex $0.29 per DPU-hour, per second with a 1-minute minimum; S3 PUT $0.005 per 1,000). Offline figures:
a Lambda invocation's duration is the local subprocess's and the Glue run's the local Spark's, so the
GB-seconds and DPU-seconds beyond the Glue minimum are estimates; the counts are the definition's own.
Prints figures, asserts nothing.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "layers" / "requests"):  # the repository, and the layer's execution_input
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench.bench_workflows import DOLLARS_PER_TRANSITION, figures_of, timestamp  # noqa: E402
from execution_input.rules import MAX_SYMBOLS_PER_EXECUTION  # noqa: E402
from offline_aws.emulation import ExecutionResult  # noqa: E402
from offline_pipeline.stack import OfflinePipeline, offline_pipeline  # noqa: E402

DEFAULT_SIZES = (1, 10, 100, 200, 500)
QUICK_SIZES = (1, 10)
DOLLARS_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
DOLLARS_PER_GB_SECOND = 0.0000166667
DOLLARS_PER_DPU_HOUR_FLEX = 0.29
DOLLARS_PER_S3_PUT = 0.005 / 1000
GLUE_DPU = 2  # G.1X, 2 workers (template.yaml)
GLUE_MINIMUM_SECONDS = 60
# template.yaml: Globals MemorySize, and ValidateExecutionInputFunction's own.
FUNCTION_MEMORY_MB = {"validate": 128, "fetch": 256}
STATE_LIMIT_BYTES = 256 * 1024
HISTORY_EVENT_LIMIT = 25_000


@dataclass
class Costs:
    symbols: int
    executions: int
    transitions: int
    lambda_invocations: int
    lambda_gb_seconds: float
    glue_runs: int
    glue_dpu_seconds: float
    s3_puts: int
    history_events: int
    largest_state_bytes: int

    @property
    def dollars(self) -> dict[str, float]:
        return {
            "Step Functions": self.transitions * DOLLARS_PER_TRANSITION,
            "Lambda": self.lambda_invocations * DOLLARS_PER_LAMBDA_REQUEST
            + self.lambda_gb_seconds * DOLLARS_PER_GB_SECOND,
            "Glue": self.glue_dpu_seconds / 3600 * DOLLARS_PER_DPU_HOUR_FLEX,
            "S3": self.s3_puts * DOLLARS_PER_S3_PUT,
        }

    @property
    def total(self) -> float:
        return sum(self.dollars.values())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_watchlist_cost", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    return parser.parse_args(argv)


def lambda_calls(result: ExecutionResult, validate_arn: str) -> list[tuple[str, float]]:
    """(which function, seconds) of every Lambda invocation the execution made, retries included."""
    calls: list[tuple[str, float]] = []
    scheduled: dict[int, tuple[str, Any]] = {}
    for event in result.history:
        details = event.get("taskScheduledEventDetails")
        if details and details.get("resourceType") == "lambda":
            function = json.loads(details["parameters"]).get("FunctionName", "")
            scheduled[int(event["id"])] = ("validate" if function == validate_arn else "fetch", event)
    by_id = {int(event["id"]): event for event in result.history}
    for event in result.history:
        if event["type"] not in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
            continue
        # The task's events chain back to its TaskScheduled (through TaskStarted).
        previous = by_id.get(int(event.get("previousEventId") or 0))
        if previous is not None and previous["type"] == "TaskStarted":
            previous = by_id.get(int(previous.get("previousEventId") or 0))
        if previous is not None and int(previous["id"]) in scheduled:
            kind, started = scheduled[int(previous["id"])]
            calls.append((kind, (timestamp(event) - timestamp(started)).total_seconds()))
    return calls


def largest_state(result: ExecutionResult) -> int:
    sizes = [0]
    for event in result.history:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key) or {}
            for field in ("input", "output"):
                if isinstance(details.get(field), str):
                    sizes.append(len(details[field].encode()))
    return max(sizes)


def measure(pipeline: OfflinePipeline, size: int) -> Costs:
    symbols = [f"B{size}X{index}"[:10] for index in range(size)]
    parts = [
        measure_execution(pipeline, symbols[start : start + MAX_SYMBOLS_PER_EXECUTION])
        for start in range(0, size, MAX_SYMBOLS_PER_EXECUTION)
    ]
    return Costs(
        symbols=size,
        executions=len(parts),
        transitions=sum(p.transitions for p in parts),
        lambda_invocations=sum(p.lambda_invocations for p in parts),
        lambda_gb_seconds=sum(p.lambda_gb_seconds for p in parts),
        glue_runs=sum(p.glue_runs for p in parts),
        glue_dpu_seconds=sum(p.glue_dpu_seconds for p in parts),
        s3_puts=sum(p.s3_puts for p in parts),
        history_events=max(p.history_events for p in parts),
        largest_state_bytes=max(p.largest_state_bytes for p in parts),
    )


def measure_execution(pipeline: OfflinePipeline, symbols: list[str]) -> Costs:
    size = len(symbols)
    result = pipeline.run({"workflow": "etl", "symbols": symbols}, timeout=3600)
    if result.status != "SUCCEEDED":
        raise SystemExit(f"{size} symbols: {result.status} {result.error}: {result.cause}")
    validate_arn = pipeline.function_arns()["ValidateExecutionInputFunction"]
    calls = lambda_calls(result, validate_arn)
    gb_seconds = sum(FUNCTION_MEMORY_MB[kind] / 1024 * seconds for kind, seconds in calls)
    run_seconds = float(result.output["runSummary"]["durationSeconds"])
    figures = figures_of(result)
    puts = len([call for call in pipeline_calls(result) if call == "putObject"])
    return Costs(
        symbols=size,
        executions=1,
        transitions=figures.transitions,
        lambda_invocations=len(calls),
        lambda_gb_seconds=gb_seconds,
        glue_runs=1,
        glue_dpu_seconds=GLUE_DPU * max(GLUE_MINIMUM_SECONDS, run_seconds),
        s3_puts=puts,
        history_events=len(result.history),
        largest_state_bytes=largest_state(result),
    )


def pipeline_calls(result: ExecutionResult) -> list[str]:
    return [
        event["taskScheduledEventDetails"]["resource"]
        for event in result.history
        if event.get("taskScheduledEventDetails", {}).get("resourceType") == "aws-sdk:s3"
    ]


def print_table(rows: list[Costs]) -> None:
    print(
        f"{'symbols':>7} {'executions':>10} {'transitions':>11} {'per symbol':>10} {'Lambda':>7}"
        f" {'GB-s':>7} {'Glue runs':>9}"
        f" {'DPU-s':>6} {'S3 PUTs':>7} {'events':>7} {'largest state':>13} {'$ total':>9} {'$ / symbol':>10}"
    )
    for row in rows:
        print(
            f"{row.symbols:>7} {row.executions:>10} {row.transitions:>11}"
            f" {row.transitions / row.symbols:>10.1f}"
            f" {row.lambda_invocations:>7} {row.lambda_gb_seconds:>7.2f} {row.glue_runs:>9}"
            f" {row.glue_dpu_seconds:>6.0f} {row.s3_puts:>7} {row.history_events:>7}"
            f" {row.largest_state_bytes / 1024:>10.0f} KiB {row.total:>9.4f} {row.total / row.symbols:>10.5f}"
        )
    print()
    print("cost per watchlist by service ($, all its executions):")
    for row in rows:
        parts = ", ".join(f"{name} {dollars:.5f}" for name, dollars in row.dollars.items())
        print(f"  {row.symbols:>4} symbols: {parts}")
    first = rows[0]
    print()
    print(f"per-symbol cost against {first.symbols} symbol(s), measured in this run:")
    for row in rows[1:]:
        ratio = (row.total / row.symbols) / (first.total / first.symbols)
        print(f"  {row.symbols:>4} symbols: {ratio:.3f}x")
    print(
        f"limits (per execution): history events at most {max(r.history_events for r in rows)}"
        f" of {HISTORY_EVENT_LIMIT};"
        f" largest state {max(r.largest_state_bytes for r in rows) / 1024:.0f} KiB of"
        f" {STATE_LIMIT_BYTES // 1024} KiB"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else args.sizes
    rows = []
    # One emulation per process (moto's state is process-wide): every size runs on one deployment.
    overrides = {"RapidApiRequestsPerMinute": "6000"}
    with offline_pipeline(parameter_overrides=overrides, time_scale=0.001) as pipeline:
        for size in sizes:
            print(f"running an ETL execution for {size} symbol(s) ...", flush=True)
            rows.append(measure(pipeline, size))
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
