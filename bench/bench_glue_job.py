"""Benchmark of the Glue job on local Spark: prints figures, asserts nothing.

1. One symbol-day fed many times (overlapping fetches of 100 bars): time per run as that partition fills.
2. One new fetch against 1, 30 and 365 days of stored history: time per run as history grows.
   Per-run work should follow the new data: only the touched partition is read and rewritten.
3. Transform throughput (raw JSON -> typed, validated, deduplicated, derived, partitioned Parquet) at
   10k and 1M bars, and the same transform in DuckDB on the same files as a reference ratio, in wall
   time and in CPU seconds (Spark's JVM against this process, which runs DuckDB; on a shared machine the
   CPU ratio is the steadier one). Then where the largest Spark run's time went, action by action.

What costs most (1M bars: 100 objects, 1100 partitions; local[2] on a busy 2-core machine, four runs of
each version): writing the 1100 partition files, 16-34 s of 29-61 s, before and after the changes
below. Most of that is Hadoop's local file system: without the native Hadoop library it forks `chmod`
for every file it creates (each Parquet file and its .crc), which took 13 of 20 stack samples of the
write. S3 on Glue has no such cost, and the script cannot avoid it on local disk (the files are the
dataset's partitions). The rest, before: the raw JSON read into a cache and counted (3-12 s), exploded
and checked from the cache into a checkpoint (4-11 s), three more counting actions (1-2 s), the merge's two
windows with a shuffle each (4-10 s), a third shuffle inside the write, and an exists call per partition.
Now the raw JSON is read, exploded and checked in one pass, one aggregate gives every count, one shuffle
by (symbol, trade_date) serves the dedupe, the session windows and the write, and stored partitions are
found with one listing per symbol: Spark's CPU for the run went from 47-53 s to 40-51 s (CPU ratio to
DuckDB 10.9-11.5x before, 8.2-10.2x after); the wall ratio stayed 7-12.5x, within the machine's noise.

    python -m bench.bench_glue_job            # full sizes
    python -m bench.bench_glue_job --quick    # small sizes, a minute or two
    python bench/bench_glue_job.py --sizes 10000,200000 --history-days 1,30 --same-day-runs 5

Spark runs local[N] with few shuffle partitions, so absolute times say little about Glue workers; the
shape of the curves and the ratios are the point.
"""

import argparse
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "glue"))

import duckdb  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

import stock_data_etl  # noqa: E402

FIRST_DAY = date(2024, 1, 2)
SESSION_MINUTES = 16 * 60  # 04:00-20:00 exchange time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: 10k/100k rows, 1/7/30 days")
    parser.add_argument("--sizes", help="comma-separated bar counts for the throughput runs")
    parser.add_argument("--history-days", help="comma-separated days of stored history")
    parser.add_argument("--same-day-runs", type=int, help="fetches fed into one symbol-day")
    parser.add_argument("--cores", type=int, default=min(4, os.cpu_count() or 2))
    parser.add_argument("--work-dir", help="where files go (default: a temporary directory)")
    args = parser.parse_args(argv)
    args.sizes = [
        int(s) for s in (args.sizes or ("10000,100000" if args.quick else "10000,1000000")).split(",")
    ]
    args.history_days = [
        int(d) for d in (args.history_days or ("1,7,30" if args.quick else "1,30,365")).split(",")
    ]
    args.same_day_runs = args.same_day_runs or (5 if args.quick else 18)
    return args


# ------------------------------------------------------------------ synthetic data


def bars_for(day: date, first_minute: int, count: int, seed: int) -> dict[str, dict[str, str]]:
    """`count` consecutive minute bars of one exchange day, as upstream strings."""
    rng = random.Random(seed)
    start = datetime(day.year, day.month, day.day, 4, 0)
    price = 100 + (seed % 50)
    bars = {}
    for m in range(first_minute, first_minute + count):
        open_ = price
        close = max(1.0, open_ + rng.uniform(-0.2, 0.2))
        high, low = max(open_, close) + rng.uniform(0, 0.1), min(open_, close) - rng.uniform(0, 0.1)
        key = (start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S")
        bars[key] = {
            "open": f"{open_:.4f}",
            "high": f"{high:.4f}",
            "low": f"{low:.4f}",
            "close": f"{close:.4f}",
            "volume": str(rng.randint(0, 5000)),
        }
        price = close
    return bars


def raw_document(symbol: str, bars: dict[str, dict[str, str]], fetched_at: datetime) -> dict[str, Any]:
    return {
        "metadata": {
            "symbol": symbol,
            "interval": "1min",
            "timeZone": "US/Eastern",
            "lastRefreshed": max(bars),
            "barCount": len(bars),
            "fetchedAt": fetched_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "source": "alpha-vantage",
        },
        "timeSeries": bars,
    }


def put_raw(root: Path, fetch_id: str, document: dict[str, Any]) -> Path:
    symbol = document["metadata"]["symbol"]
    path = root / "raw" / "stock" / f"symbol={symbol}" / "ingest_date=2026-11-21" / f"{fetch_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def throughput_inputs(root: Path, rows: int) -> list[Path]:
    """`rows` bars as documents of at most 10k bars (about ten sessions), one symbol each."""
    per_document = min(rows, 10_000)
    paths = []
    for i in range(math.ceil(rows / per_document)):
        count = min(per_document, rows - i * per_document)
        bars: dict[str, dict[str, str]] = {}
        day, left = FIRST_DAY, count
        while left:
            take = min(left, SESSION_MINUTES)
            bars |= bars_for(day, 0, take, seed=i * 1000 + day.toordinal())
            day, left = day + timedelta(days=1), left - take
        document = raw_document(f"S{i:04d}", bars, datetime(2026, 11, 21, 10, 0))
        paths.append(put_raw(root, f"throughput-{i:04d}", document))
    return paths


def write_history(spark: SparkSession, curated: Path, days: int) -> int:
    """`days` full sessions of stored MSFT history, written as the job would have written them."""
    minutes = spark.range(days * SESSION_MINUTES)
    day_index = (F.col("id") / SESSION_MINUTES).cast("int")
    local = F.to_timestamp(
        F.concat(
            F.date_format(F.date_add(F.lit(FIRST_DAY.isoformat()).cast("date"), day_index), "yyyy-MM-dd"),
            F.lit(" 04:00:00"),
        )
    ) + F.make_interval(mins=(F.col("id") % SESSION_MINUTES).cast("int"))
    close = F.lit(100.0) + F.sin(F.col("id") / 97) * 5
    frame = minutes.select(
        F.lit("MSFT").alias("symbol"),
        F.to_utc_timestamp(local, stock_data_etl.EXCHANGE_TIME_ZONE).alias("ts"),
        F.date_format(local, "yyyy-MM-dd").alias("trade_date"),
        (close - 0.05).alias("open"),
        (close + 0.1).alias("high"),
        (close - 0.1).alias("low"),
        close.alias("close"),
        (F.col("id") % 5000).alias("volume"),
        F.lit("history").alias("fetch_id"),
        F.lit(datetime(2024, 1, 1)).alias("fetched_at"),
    )
    stored = stock_data_etl.with_derived_columns(frame).select(*stock_data_etl._curated_columns())
    stored.write.mode("overwrite").partitionBy("symbol", "trade_date").parquet(str(curated))
    return days * SESSION_MINUTES


# ------------------------------------------------------------------ running


class Runner:
    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.root = root
        self.curated = root / "curated"
        self.runs = 0
        self.last_cpu_seconds = 0.0
        self.last_started = 0.0

    def run(self, *raw: Path, curated: Path | None = None) -> tuple[float, dict[str, Any]]:
        self.runs += 1
        fetch_id = f"run-{self.runs:04d}"
        summary_path = self.root / "summaries" / f"{fetch_id}.json"
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        # The run's raw folder, as the state machine gives it: one file per document.
        folder = self.root / "runs" / fetch_id
        folder.mkdir(parents=True)
        for number, path in enumerate(raw):
            (folder / f"{number:04d}.json").symlink_to(path)
        argv = [
            "--JOB_NAME", "bench",
            "--raw_path", str(folder),
            "--pending_path", str(self.root / "pending"),
            "--staging_path", str(self.root / "staging"),
            "--curated_path", str(curated or self.curated),
            "--quarantine_path", str(self.root / "quarantine"),
            "--run_summary_path", str(summary_path),
            "--fetch_id", fetch_id,
        ]  # fmt: skip
        started, started_at, cpu = time.perf_counter(), time.time(), cpu_seconds(self.spark)
        summary = stock_data_etl.run(self.spark, stock_data_etl.parse_arguments(argv))
        self.last_cpu_seconds = cpu_seconds(self.spark) - cpu
        self.last_started = started_at
        return time.perf_counter() - started, summary


def cpu_seconds(spark: SparkSession | None = None) -> float:
    """CPU seconds used so far by this process (DuckDB runs in it) plus, given a session, Spark's JVM."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    seconds = used.ru_utime + used.ru_stime
    if spark is not None:
        jvm_pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        fields = Path(f"/proc/{jvm_pid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return seconds


def spark_actions(event_log_dir: Path, since: float) -> list[tuple[str, float]]:
    """(action, wall seconds) of each Spark action started after `since` (epoch seconds), from Spark's
    event log: a SQL execution from its start to its end (planning, jobs, commit), and a job outside any
    SQL execution (a file listing)."""
    for _ in range(100):  # the listener bus writes the log behind the driver: wait for the last ends
        spans: dict[str, list[Any]] = {}  # id -> [action, start ms, end ms or None]
        for log in event_log_dir.iterdir():
            for event in map(json.loads, log.read_text().splitlines()):
                kind = event["Event"]
                if kind.endswith("SQLExecutionStart") and event["time"] >= since * 1000:
                    if event.get("rootExecutionId", event["executionId"]) != event["executionId"]:
                        continue  # nested in another execution, already timed by it
                    action, _, site = event["description"].partition(" at ")
                    if "stock_data_etl.py:" in site:
                        action += " at stock_data_etl.py:" + site.rsplit(":", 1)[1]
                    spans[f"sql {event['executionId']}"] = [action, event["time"], None]
                elif kind.endswith("SQLExecutionEnd") and f"sql {event['executionId']}" in spans:
                    spans[f"sql {event['executionId']}"][2] = event["time"]
                elif kind == "SparkListenerJobStart" and event["Submission Time"] >= since * 1000:
                    if "spark.sql.execution.id" not in event["Properties"]:
                        action = event["Properties"].get("spark.job.description", "job").split(":")[0]
                        spans[f"job {event['Job ID']}"] = [action, event["Submission Time"], None]
                elif kind == "SparkListenerJobEnd" and f"job {event['Job ID']}" in spans:
                    spans[f"job {event['Job ID']}"][2] = event["Completion Time"]
        if all(end is not None for _, _, end in spans.values()):
            break
        time.sleep(0.1)
    in_order = sorted(spans.values(), key=lambda span: span[1])
    return [(action, ((end or start) - start) / 1000) for action, start, end in in_order]


def size_of(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*.parquet")] if path.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def same_day(runner: Runner, runs: int) -> None:
    print(f"\n## 1. One symbol-day fed {runs} times (fetches of 100 bars, each overlapping the last by 50)")
    print(f"{'run':>4} {'stored before':>14} {'written':>8} {'overlap':>8} {'seconds':>8}")
    root = runner.root / "same-day"
    day = FIRST_DAY
    for k in range(runs):
        bars = bars_for(day, (50 * k) % (SESSION_MINUTES - 100), 100, seed=k)
        fetched = datetime(day.year, day.month, day.day, 9, 0) + timedelta(minutes=50 * k)
        raw = put_raw(root, f"same-day-{k}", raw_document("MSFT", bars, fetched))
        seconds, s = runner.run(raw, curated=root / "curated")
        stored, written = s["rowsStoredBefore"], s["rowsWritten"]
        overlap = s["rowsUpdated"] + s["rowsUnchanged"] + s["rowsOutdated"]  # bars of minutes already stored
        print(f"{k + 1:>4} {stored:>14} {written:>8} {overlap:>8} {seconds:>8.2f}")


def growing_history(runner: Runner, history_days: list[int]) -> None:
    print("\n## 2. One new fetch (100 bars, 50 overlapping the last stored day) against stored history")
    print(f"{'days':>5} {'stored rows':>12} {'files':>6} {'MiB':>7}", end=" ")
    print(f"{'rows read':>10} {'written':>8} {'seconds':>8}")
    for days in history_days:
        curated = runner.root / f"history-{days}" / "curated"
        stored_rows = write_history(runner.spark, curated, days)
        files, size = size_of(curated)
        last_day = FIRST_DAY + timedelta(days=days - 1)
        bars = bars_for(last_day, SESSION_MINUTES - 50, 50, seed=days) | bars_for(
            last_day + timedelta(days=1), 0, 50, seed=days + 1
        )
        raw = put_raw(
            runner.root / f"history-{days}", "new", raw_document("MSFT", bars, datetime(2026, 11, 21))
        )
        times = []
        for _ in range(3):  # the same fetch again is idempotent, so the three runs do equal work
            seconds, s = runner.run(raw, curated=curated)
            times.append(seconds)
        print(
            f"{days:>5} {stored_rows:>12} {files:>6} {size / 2**20:>7.1f} "
            f"{s['rowsStoredBefore'] + s['rowsValid']:>10} {s['rowsWritten']:>8} {min(times):>8.2f}"
        )


DUCKDB_TRANSFORM = """
COPY (
  WITH raw AS (
    SELECT metadata, unnest(map_entries(timeSeries)) AS e
    FROM read_json({files}, format = 'auto', maximum_object_size = 268435456, columns = {{
      metadata: 'STRUCT(symbol VARCHAR, "interval" VARCHAR, timeZone VARCHAR, fetchedAt VARCHAR)',
      timeSeries: 'MAP(VARCHAR,
                       STRUCT(open VARCHAR, high VARCHAR, low VARCHAR, close VARCHAR, volume VARCHAR))'
    }})
  ),
  typed AS (
    SELECT upper(trim(metadata.symbol)) AS symbol,
           try_strptime(e.key, '%Y-%m-%d %H:%M:%S') AS local_ts,
           try_cast(e.value.open AS DOUBLE) AS open, try_cast(e.value.high AS DOUBLE) AS high,
           try_cast(e.value.low AS DOUBLE) AS low, try_cast(e.value.close AS DOUBLE) AS close,
           try_cast(e.value.volume AS BIGINT) AS volume,
           'bench' AS fetch_id, try_cast(metadata.fetchedAt AS TIMESTAMPTZ) AS fetched_at,
           metadata.timeZone AS time_zone, metadata."interval" AS bar_interval
    FROM raw
  ),
  valid AS (
    SELECT symbol, (local_ts AT TIME ZONE 'America/New_York') AT TIME ZONE 'UTC' AS ts,
           strftime(local_ts, '%Y-%m-%d') AS trade_date, open, high, low, close, volume, fetch_id,
           fetched_at AT TIME ZONE 'UTC' AS fetched_at
    FROM typed
    WHERE local_ts IS NOT NULL AND open > 0 AND high > 0 AND low > 0 AND close > 0 AND volume >= 0
      AND high >= low AND greatest(open, close) <= high AND least(open, close) >= low
      AND time_zone IN ('US/Eastern', 'America/New_York') AND bar_interval = '1min'
      AND fetched_at IS NOT NULL AND regexp_full_match(symbol, '[A-Z0-9][A-Z0-9.\\-]{{0,19}}')
  ),
  newest AS (
    SELECT * FROM valid
    QUALIFY row_number() OVER (PARTITION BY symbol, ts ORDER BY fetched_at DESC, fetch_id DESC) = 1
  )
  SELECT ts, open, high, low, close, volume,
         (high + low + close) / 3 AS typical_price,
         sum((high + low + close) / 3 * volume) OVER w / nullif(sum(volume) OVER w, 0) AS vwap,
         close / lag(close) OVER (PARTITION BY symbol, trade_date ORDER BY ts) - 1 AS minute_return,
         fetch_id, fetched_at, symbol, trade_date
  FROM newest
  WINDOW w AS (PARTITION BY symbol, trade_date ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
) TO '{target}' (FORMAT parquet, PARTITION_BY (symbol, trade_date), OVERWRITE_OR_IGNORE)
"""


def duckdb_transform(raw: list[Path], target: Path, threads: int) -> tuple[float, int]:
    connection = duckdb.connect()
    connection.execute(f"SET threads = {threads}")
    connection.execute("SET TimeZone = 'UTC'")
    files = "[" + ", ".join(f"'{p}'" for p in raw) + "]"
    started = time.perf_counter()
    connection.execute(DUCKDB_TRANSFORM.format(files=files, target=target))
    seconds = time.perf_counter() - started
    (rows,) = connection.execute(f"SELECT count(*) FROM read_parquet('{target}/**/*.parquet')").fetchone()
    return seconds, rows


def throughput(runner: Runner, sizes: list[int], threads: int, event_log: Path) -> None:
    print(
        f"\n## 3. Transform throughput, raw JSON -> curated Parquet into an empty dataset ({threads} cores)"
    )
    print(
        f"{'bars':>9} {'objects':>8} {'partitions':>10} {'spark s':>8} {'spark bars/s':>13} "
        f"{'duckdb s':>9} {'duckdb bars/s':>14} {'spark/duckdb':>13} {'cpu s spark/duckdb':>19}"
    )
    breakdown: list[tuple[str, float]] = []
    for rows in sizes:
        root = runner.root / f"throughput-{rows}"
        raw = throughput_inputs(root, rows)
        spark_seconds, s = runner.run(*raw, curated=root / "curated")
        spark_cpu, breakdown = runner.last_cpu_seconds, spark_actions(event_log, runner.last_started)
        duck_cpu = cpu_seconds()
        duck_seconds, duck_rows = duckdb_transform(raw, root / "duckdb", threads)
        duck_cpu = cpu_seconds() - duck_cpu
        if duck_rows != s["rowsWritten"]:
            print(f"  note: DuckDB wrote {duck_rows} rows, Spark {s['rowsWritten']}: not the same transform")
        print(
            f"{rows:>9} {len(raw):>8} {len(s['partitionsTouched']):>10} {spark_seconds:>8.2f} "
            f"{rows / spark_seconds:>13,.0f} {duck_seconds:>9.2f} {rows / duck_seconds:>14,.0f} "
            f"{spark_seconds / duck_seconds:>12.1f}x {spark_cpu:>8.1f} / {duck_cpu:<5.1f}"
        )
    print(f"\nWhere the {sizes[-1]}-bar Spark run's {spark_seconds:.2f} s went (Spark's event log):")
    for action, seconds in breakdown:
        print(f"  {seconds:>7.2f}  {action}")
    print(f"  {spark_seconds - sum(seconds for _, seconds in breakdown):>7.2f}  driver, between actions")


@contextmanager
def work_dir(path: str | None) -> Iterator[Path]:
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        yield Path(path)
        return
    root = Path(tempfile.mkdtemp(prefix="bench-glue-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with work_dir(args.work_dir) as root:
        event_log = root / "spark-events"
        event_log.mkdir(exist_ok=True)
        spark = (
            SparkSession.builder.master(f"local[{args.cores}]")
            .appName("bench-glue-job")
            .config("spark.sql.shuffle.partitions", str(args.cores * 2))
            .config("spark.driver.memory", "4g")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.eventLog.enabled", "true")  # for the breakdown of the throughput run
            .config("spark.eventLog.dir", event_log.as_uri())
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        print(f"# Glue job benchmark: Spark {spark.version} local[{args.cores}], DuckDB {duckdb.__version__}")
        runner = Runner(spark, root)
        warm = put_raw(
            root / "warm-up",
            "warm",
            raw_document("MSFT", bars_for(FIRST_DAY, 0, 100, 0), datetime(2026, 1, 1)),
        )
        runner.run(warm, curated=root / "warm-up" / "curated")  # JVM and code paths warm
        same_day(runner, args.same_day_runs)
        growing_history(runner, args.history_days)
        throughput(runner, args.sizes, args.cores, event_log)
        spark.stop()


if __name__ == "__main__":
    main()
