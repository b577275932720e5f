"""Benchmark: one full ETL execution offline as the stored curated history grows (1, 30, 365 days).

template.yaml is deployed on the emulation with the RapidAPI stand-in (offline_pipeline.stack, as
`make run` does). A first execution starts Spark and names the partition the stand-in's
payload touches; two more warm the JVM. Then, R rounds over the history sizes: the curated prefix is
emptied, N days of stored history of that symbol ending on that partition's day are seeded into the
emulated S3 (Parquet as the job writes it, one partition per day), and one ETL execution runs: state
machine, fetch Lambda, Glue run on the warm local Spark, summary and notification. Per-run time is the
execution's wall time from its history. On AWS the job reads and rewrites only the partition it touches,
so the time should not grow with N.

    python -m bench.bench_etl_history                  # 1/30/365 days, 3 executions each
    python -m bench.bench_etl_history --quick          # 1/30/365 days, 1 execution each
    python -m bench.bench_etl_history --history-days 1,90 --runs 5

Prints figures, asserts nothing.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from bench.bench_workflows import RunFigures, figures_of  # noqa: E402
from offline_aws.deployer import DeployedStack  # noqa: E402
from offline_aws.emulation import Emulation  # noqa: E402
from offline_aws.glue_runner import parse_s3_uri  # noqa: E402
from offline_pipeline.stack import offline_pipeline  # noqa: E402

EXECUTION_INPUT = REPO / "events/execution_etl.json"
SESSION_MINUTES = 16 * 60  # 04:00-20:00 exchange time
# After Spark's start, a few more executions before timing: the JVM's first runs are slower still.
WARM_UP_EXECUTIONS = 2

# N full sessions ending on `last_day`, columns and types as glue/stock_data_etl.py writes the dataset.
HISTORY = """
COPY (
  WITH minutes AS (
    SELECT range AS i, DATE '{first_day}' + CAST(range // {session} AS INTEGER) AS day
    FROM range({days} * {session})
  ), bars AS (
    SELECT i, day, timezone('America/New_York', day + INTERVAL 4 HOUR + to_minutes(i % {session})) AS ts,
           100 + 5 * sin(i / 97) AS close
    FROM minutes
  )
  SELECT ts, close - 0.05 AS open, close + 0.1 AS high, close - 0.1 AS low, close,
         CAST(i % 5000 AS BIGINT) AS volume, close AS typical_price, close AS vwap,
         CAST(NULL AS DOUBLE) AS minute_return, 'history' AS fetch_id,
         TIMESTAMPTZ '2023-01-01 00:00:00+00' AS fetched_at,
         '{symbol}' AS symbol, strftime(day, '%Y-%m-%d') AS trade_date
  FROM bars ORDER BY ts
) TO '{target}' (FORMAT parquet, PARTITION_BY (symbol, trade_date))
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 execution per history size")
    parser.add_argument("--history-days", default="1,30,365", help="comma-separated days of stored history")
    parser.add_argument("--runs", type=int, help="executions per history size (default 3)")
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    args.history_days = [int(days) for days in args.history_days.split(",") if days]
    return args


def progress(text: str) -> None:
    sys.stdout.flush()
    print(text, file=sys.stderr, flush=True)


def run_etl(emulation: Emulation, stack: DeployedStack) -> tuple[RunFigures, dict[str, Any]]:
    execution_input = json.loads(EXECUTION_INPUT.read_text())
    result = emulation.run_execution(stack.outputs["StateMachineArn"], execution_input, timeout=1800)
    if result.status != "SUCCEEDED":
        raise SystemExit(f"ETL execution ended {result.status}: {result.error}: {result.cause}")
    return figures_of(result), (result.output or {}).get("runSummary") or {}


def curated_location(emulation: Emulation, stack: DeployedStack) -> tuple[str, str]:
    job = emulation.client("glue").get_job(JobName=stack.ref("StockDataGlueJob"))["Job"]
    bucket, prefix = parse_s3_uri(job["DefaultArguments"]["--curated_path"])
    return bucket, prefix.rstrip("/") + "/"


def empty_prefix(s3: Any, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})


def seed_history(
    s3: Any, bucket: str, prefix: str, symbol: str, last_day: date, days: int, scratch: Path
) -> tuple[int, int]:
    """`days` partitions of stored history in the emulated S3; (objects, bytes)."""
    target = scratch / f"history-{days}"
    if not target.exists():
        first_day = last_day - timedelta(days=days - 1)
        sql = HISTORY.format(
            first_day=first_day, days=days, session=SESSION_MINUTES, symbol=symbol, target=target
        )
        with duckdb.connect() as connection:
            connection.execute(sql)
    files = sorted(path for path in target.rglob("*.parquet"))
    for path in files:
        s3.upload_file(str(path), bucket, prefix + path.relative_to(target).as_posix())
    return len(files), sum(path.stat().st_size for path in files)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(
        f"# ETL execution against stored curated history: {', '.join(map(str, args.history_days))} days, "
        f"{args.runs} execution(s) each"
    )
    with (
        offline_pipeline() as pipeline,
        tempfile.TemporaryDirectory(prefix="bench-etl-history-") as scratch_name,
    ):
        emulation, stack = pipeline.emulation, pipeline.stack
        s3 = emulation.client("s3")
        bucket, prefix = curated_location(emulation, stack)
        started = time.perf_counter()
        first, summary = run_etl(emulation, stack)
        progress(f"  first execution (starts Spark): {first.wall_seconds:.2f} s")
        print(f"First execution, no history (Spark starts): {first.wall_seconds:.2f} s")
        for _ in range(WARM_UP_EXECUTIONS):
            run_etl(emulation, stack)
        touched = dict(part.split("=", 1) for part in summary["partitionsTouched"][0].split("/"))
        symbol, last_day = touched["symbol"], date.fromisoformat(touched["trade_date"])
        stored: dict[int, tuple[int, int]] = {}
        figures: dict[int, list[RunFigures]] = {days: [] for days in args.history_days}
        # Sizes interleaved round by round, so that a busy spell of the machine hits them alike.
        for number in range(1, args.runs + 1):
            for days in args.history_days:
                empty_prefix(s3, bucket, prefix)
                stored[days] = seed_history(s3, bucket, prefix, symbol, last_day, days, Path(scratch_name))
                run, _ = run_etl(emulation, stack)
                figures[days].append(run)
                progress(f"  {days} days, run {number}/{args.runs}: {run.wall_seconds:.2f} s")
        rows = [(days, *stored[days], figures[days]) for days in args.history_days]
        total = time.perf_counter() - started

    print(f"\nOne ETL execution per history size (median of {args.runs}; min-max in brackets)")
    header = (
        f"{'days':>5} {'objects':>8} {'MiB':>6} {'execution':>20} {'Glue step':>20} {'excluding Glue':>15}"
    )
    print(header)
    print("-" * len(header))

    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"

    medians: dict[int, tuple[float, float]] = {}
    for days, objects, size, runs in rows:
        walls = [f.wall_seconds for f in runs]
        glue = [f.glue_seconds or 0.0 for f in runs]
        medians[days] = statistics.median(walls), statistics.median(glue)
        print(
            f"{days:>5} {objects:>8} {size / 2**20:>6.1f} {spread(walls):>20} {spread(glue):>20} "
            f"{statistics.median(w - g for w, g in zip(walls, glue, strict=True)):>13.2f} s"
        )
    smallest, largest = min(medians), max(medians)
    if largest != smallest:
        (wall_large, glue_large), (wall_small, glue_small) = medians[largest], medians[smallest]
        print(
            f"\nper-run time, {largest} days / {smallest} day(s) of history: execution "
            f"{wall_large / wall_small:.2f}x, Glue step {glue_large / glue_small:.2f}x "
            f"(whole bench {total:.0f} s)"
        )


if __name__ == "__main__":
    main()
