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

Prices and counting are offline_aws/cost.py's, the estimate the offline run's summary shows (us-east-1
list prices, dated there). Offline figures: a Lambda invocation's duration is the local subprocess's and
the Glue run's the local Spark's, so the GB-seconds and DPU-seconds beyond the Glue minimum are
estimates; the counts are the definition's own. Prints figures, asserts nothing.
"""

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "layers" / "requests"):  # the repository, and the layer's execution_input
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from execution_input.rules import MAX_SYMBOLS_PER_EXECUTION  # noqa: E402
from offline_aws.cost import CostEstimate, billing_facts, estimate  # noqa: E402
from offline_aws.emulation import ExecutionResult  # noqa: E402
from offline_pipeline.stack import OfflinePipeline, offline_pipeline  # noqa: E402

DEFAULT_SIZES = (1, 10, 100, 200, 500)
QUICK_SIZES = (1, 10)
STATE_LIMIT_BYTES = 256 * 1024
HISTORY_EVENT_LIMIT = 25_000


@dataclass
class Watchlist:
    symbols: int
    executions: list[CostEstimate]
    history_events: int  # the most in one execution
    largest_state_bytes: int

    def sum(self, figure: str) -> float:
        return sum(getattr(cost, figure) for cost in self.executions)

    @property
    def dollars(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for cost in self.executions:
            for service, dollars in cost.dollars.items():
                totals[service] = totals.get(service, 0.0) + dollars
        return totals

    @property
    def total(self) -> float:
        return sum(self.dollars.values())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_watchlist_cost", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    return parser.parse_args(argv)


def largest_state(result: ExecutionResult) -> int:
    sizes = [0]
    for event in result.history:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key) or {}
            for field in ("input", "output"):
                if isinstance(details.get(field), str):
                    sizes.append(len(details[field].encode()))
    return max(sizes)


def measure(pipeline: OfflinePipeline, size: int) -> Watchlist:
    symbols = [f"B{size}X{index}"[:10] for index in range(size)]
    prices = billing_facts(pipeline.emulation.client)
    costs, events, largest = [], 0, 0
    for start in range(0, size, MAX_SYMBOLS_PER_EXECUTION):
        part = symbols[start : start + MAX_SYMBOLS_PER_EXECUTION]
        result = pipeline.run({"workflow": "etl", "symbols": part}, timeout=3600)
        if result.status != "SUCCEEDED":
            raise SystemExit(f"{len(part)} symbols: {result.status} {result.error}: {result.cause}")
        costs.append(estimate(result.history, **prices))
        events, largest = max(events, len(result.history)), max(largest, largest_state(result))
    return Watchlist(size, costs, events, largest)


def print_table(rows: list[Watchlist]) -> None:
    print(
        f"{'symbols':>7} {'executions':>10} {'transitions':>11} {'per symbol':>10} {'Lambda':>7}"
        f" {'GB-s':>7} {'Glue runs':>9} {'DPU-s':>6} {'S3 requests':>11} {'events':>7}"
        f" {'largest state':>13} {'$ total':>9} {'$ / symbol':>10}"
    )
    for row in rows:
        s3 = sum(sum(cost.s3_requests.values()) for cost in row.executions)
        glue_runs = sum(len(cost.glue_runs) for cost in row.executions)
        print(
            f"{row.symbols:>7} {len(row.executions):>10} {row.sum('transitions'):>11.0f}"
            f" {row.sum('transitions') / row.symbols:>10.1f} {row.sum('lambda_requests'):>7.0f}"
            f" {row.sum('lambda_gb_seconds'):>7.2f} {glue_runs:>9} {row.sum('glue_dpu_seconds'):>6.0f}"
            f" {s3:>11} {row.history_events:>7} {row.largest_state_bytes / 1024:>10.0f} KiB"
            f" {row.total:>9.4f} {row.total / row.symbols:>10.5f}"
        )
    print()
    print("cost per watchlist by service ($, all its executions):")
    for row in rows:
        parts = ", ".join(f"{name} {dollars:.5f}" for name, dollars in row.dollars.items() if dollars)
        print(f"  {row.symbols:>4} symbols: {parts}")
    first = rows[0]
    print()
    print(f"per-symbol cost against {first.symbols} symbol(s), measured in this run:")
    for row in rows[1:]:
        ratio = (row.total / row.symbols) / (first.total / first.symbols)
        print(f"  {row.symbols:>4} symbols: {ratio:.3f}x")
    print(
        f"limits (per execution): history events at most {max(r.history_events for r in rows)}"
        f" of {HISTORY_EVENT_LIMIT}; largest state {max(r.largest_state_bytes for r in rows) / 1024:.0f} KiB"
        f" of {STATE_LIMIT_BYTES // 1024} KiB"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else args.sizes
    rows = []
    # One emulation per process (moto's state is process-wide): every size runs on one deployment.
    overrides = {"RapidApiRequestsPerMinute": "6000"}
    with offline_pipeline(parameter_overrides=overrides, time_scale=0.001) as pipeline:
        for size in sizes:
            print(f"running an ETL watchlist of {size} symbol(s) ...", flush=True)
            rows.append(measure(pipeline, size))
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
