"""Curates raw stock minute bars into a deduplicated, partitioned Parquet dataset.

A Glue 5.0 job (Spark 3.5, Python 3.11) written as plain PySpark, so it runs the same on local Spark.
Arguments arrive Glue-style, each `--name` followed by its value as the next argv item (Glue adds its own,
which are ignored):

  --raw_path          the folder of this execution's raw objects (one JSON document per symbol)
  --pending_path      the folder of raw objects an earlier failed run left uncurated (execution=<name>/)
  --curated_path      root of the curated dataset, partitioned by symbol and trade_date
  --staging_path      where the run writes the rewritten partitions before they enter the dataset
  --quarantine_path   root for rejected rows, one folder per fetch
  --run_summary_path  object the run summary JSON is written to
  --fetch_id          the fetch (execution name) this run is for

Each run reads its own raw objects, whatever a failed run left pending, and the curated partitions they
touch, keeps one row per (symbol, ts) with the newest fetch winning, and rewrites exactly those
partitions: per-run work follows the new data, not the length of history, and re-running a fetch gives
the same dataset. The pending objects it curated are deleted once the dataset holds them.

Spark writes under its output path first (`_temporary/`, `.spark-staging-*/`) and a killed run leaves that
behind, empty or partial part files included (SPARK-54651), where any reader of the dataset's files would
trip on them. So the run writes under `--staging_path`, outside the dataset, and only then moves each
partition's new file in and deletes its old ones; the next run clears whatever a killed run left there.

Exchange time: Alpha Vantage gives US/Eastern wall-clock times without an offset. `ts` is the UTC
instant under America/New_York rules. A repeated wall-clock time (the fall-back hour, 01:00-01:59 on
the first Sunday of November) takes the earlier, daylight-time offset: the upstream key carries no
offset, so the two occurrences cannot be told apart and both would land on one (symbol, ts). A
wall-clock time that does not exist (the spring-forward gap) is quarantined. Bars only exist between
04:00 and 20:00 exchange time, so neither case occurs in real data. `trade_date` is the exchange-local
date of the bar.

Prices are doubles: upstream sends at most four decimals, which a double holds to well within a
cent, and the derived columns are ratios that are floating point anyway; Athena, pandas and DuckDB read
doubles without decimal-scale surprises.

Derived columns: `typical_price` is (high + low + close) / 3; `vwap` is the session's running
volume-weighted average of the typical price up to and including the bar, sum(typical * volume) /
sum(volume) over the trade_date's bars ordered by ts (a minute bar carries no trades, so the typical
price stands in for the bar's traded price; the session is the whole extended-hours day, 04:00-20:00,
and vwap is null while the running volume is 0); `minute_return` is close over the previous stored
bar's close in the same trade_date, minus one (null for the day's first bar; it spans a gap when
minutes are missing). Both are recomputed for the whole partition on every merge, so bars that arrive
late or out of order still give the same values as one complete fetch.
"""

import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

EXCHANGE_TIME_ZONE = "America/New_York"
ACCEPTED_TIME_ZONES = ("US/Eastern", "America/New_York")

RAW_BAR = T.StructType(
    [T.StructField(name, T.StringType()) for name in ("open", "high", "low", "close", "volume")]
)
# Explicit schema: inferring it would make one struct field per timestamp key. Only the fields the job
# uses, all strings (a JSON number reads as its text), so other metadata cannot fail the read.
RAW_SCHEMA = T.StructType(
    [
        T.StructField(
            "metadata",
            T.StructType(
                [
                    T.StructField(name, T.StringType())
                    for name in ("symbol", "interval", "timeZone", "fetchedAt", "fetchId")
                ]
            ),
        ),
        T.StructField("timeSeries", T.MapType(T.StringType(), RAW_BAR)),
    ]
)

# The curated table's columns as Hive types; template.yaml's StockMinuteBarsTable declares the same.
CURATED_COLUMNS: list[tuple[str, str]] = [
    ("ts", "timestamp"),
    ("open", "double"),
    ("high", "double"),
    ("low", "double"),
    ("close", "double"),
    ("volume", "bigint"),
    ("typical_price", "double"),
    ("vwap", "double"),
    ("minute_return", "double"),
    ("fetch_id", "string"),
    ("fetched_at", "timestamp"),
]
PARTITION_COLUMNS: list[tuple[str, str]] = [("symbol", "string"), ("trade_date", "string")]

DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
INTEGER = r"^-?[0-9]+$"
# Checked before parsing: Spark's parser raises, instead of returning null, on some near-misses.
EXCHANGE_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
# Symbols become partition directory names, so only path-safe ticker characters are accepted.
SYMBOL = r"^[A-Z0-9][A-Z0-9.-]{0,9}$"  # the execution input's stock-symbol rule (tested against it)
PRICES = ("open", "high", "low", "close")
DERIVED = ("typical_price", "vwap", "minute_return")


class JobArguments(NamedTuple):
    raw_path: str
    pending_path: str
    curated_path: str
    staging_path: str
    quarantine_path: str
    run_summary_path: str
    fetch_id: str


class JobArgumentError(ValueError):
    pass


def parse_arguments(argv: Sequence[str]) -> JobArguments:
    """This job's arguments from Glue's argv: the item after each of its `--name`s is the value, as given.

    The fetch id is the execution name, which may be `-x` or `--fetch_id`: argparse (and Glue's
    getResolvedOptions, built on it) would read such a value as an option. Other items are Glue's own and
    skipped one at a time, since some (`--enable-metrics`) can come without a value.
    """
    options = {f"--{name}": name for name in JobArguments._fields}
    found: dict[str, str] = {}
    items = iter(argv)
    for item in items:
        if item not in options:
            continue
        value = next(items, None)
        if value is None:
            raise JobArgumentError(f"{item} has no value")
        if options[item] in found:
            raise JobArgumentError(f"{item} is given twice")
        found[options[item]] = value
    missing = [f"--{name}" for name in JobArguments._fields if name not in found]
    if missing:
        raise JobArgumentError(f"missing job arguments: {', '.join(missing)}")
    return JobArguments(**found)


def configure(spark: SparkSession) -> None:
    conf = spark.conf
    conf.set("spark.sql.session.timeZone", "UTC")
    conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    # trade_date stays a string, as the catalog declares it.
    conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    # Unparseable values must become null (and be quarantined), never fail the run.
    conf.set("spark.sql.ansi.enabled", "false")
    conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")


# A run curates at most this many pending objects, the oldest first: a backlog left by many failed runs
# drains over several runs instead of making each one too long for the job's timeout.
PENDING_OBJECTS_PER_RUN = 2000


def list_json_files(spark: SparkSession, pattern: str, oldest: int | None = None) -> list[str]:
    """The JSON files matching a Hadoop glob, sorted (only the `oldest` ones when given); none when
    nothing matches or the folder is absent."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    statuses = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).globStatus(path) or []
    # Spark skips files named like hidden ones: neither read them nor count (or delete) them as read.
    files = [
        (status.getModificationTime(), str(status.getPath()))
        for status in statuses
        if status.isFile() and not status.getPath().getName().startswith(("_", "."))
    ]
    if oldest is not None:
        files = sorted(files)[:oldest]
    return sorted(name for _, name in files)


def delete_files(spark: SparkSession, files: list[str]) -> list[str]:
    """Deletes the files; returns those still there (a later run curates them again, to the same rows)."""
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    left = []
    for name in files:
        path = jvm.org.apache.hadoop.fs.Path(name)
        if not path.getFileSystem(hadoop_conf).delete(path, False):
            left.append(name)
    return left


def read_raw_documents(spark: SparkSession, raw_paths: list[str]) -> DataFrame:
    """One row per raw object; an object that is not JSON of the contract's shape fails the run."""
    return (
        spark.read.schema(RAW_SCHEMA)
        .option("multiLine", "true")
        .option("mode", "FAILFAST")
        .json(raw_paths)
        .withColumn("raw_path", F.input_file_name())
    )


def explode_bars(documents: DataFrame, fetch_id: str) -> DataFrame:
    """One row per raw minute bar, values still strings, with its fetch and `bar_position` in its document.

    A document without bars gives one row with a null `bar_position`, so that one pass over the exploded
    rows also counts the documents.
    """
    return documents.select(
        F.col("metadata.symbol").alias("raw_symbol"),
        F.col("metadata.timeZone").alias("time_zone"),
        F.col("metadata.interval").alias("interval"),
        F.to_timestamp("metadata.fetchedAt").alias("fetched_at"),
        # The execution that fetched the document; objects written before it was recorded are this run's.
        F.coalesce("metadata.fetchId", F.lit(fetch_id)).alias("fetch_id"),
        "raw_path",
        F.posexplode_outer("timeSeries").alias("bar_position", "exchange_time", "bar"),
    ).select("*", *(F.col(f"bar.{name}").alias(f"raw_{name}") for name in (*PRICES, "volume")))


def _first_failure(checks: list[tuple[Column, str]]) -> Column:
    reason = F.lit(None).cast("string")
    for failed, name in reversed(checks):
        reason = F.when(failed, F.lit(name)).otherwise(reason)
    return reason


def type_and_validate(raw: DataFrame) -> DataFrame:
    """Typed columns plus `reject_reason` (null for a valid bar)."""
    local = F.when(
        F.col("exchange_time").rlike(EXCHANGE_TIME), F.to_timestamp("exchange_time", "yyyy-MM-dd HH:mm:ss")
    )
    typed = raw.select(
        "*",
        F.upper(F.trim("raw_symbol")).alias("symbol"),
        local.alias("local_ts"),
        F.to_utc_timestamp(local, EXCHANGE_TIME_ZONE).alias("ts"),
        F.date_format(local, "yyyy-MM-dd").alias("trade_date"),
        *(
            F.when(F.trim(f"raw_{p}").rlike(DECIMAL), F.trim(f"raw_{p}").cast("double")).alias(p)
            for p in PRICES
        ),
        # An integer beyond the long range casts to null: quarantined as unparseable.
        F.when(F.trim("raw_volume").rlike(INTEGER), F.trim("raw_volume").cast("long")).alias("volume"),
    )
    any_price_unparseable = F.lit(False)
    for p in PRICES:
        any_price_unparseable = any_price_unparseable | F.col(p).isNull()
    checks = [
        (F.col("symbol").isNull() | (F.col("symbol") == ""), "missing symbol"),
        (~F.col("symbol").rlike(SYMBOL), "invalid symbol"),
        (
            ~F.col("time_zone").isin(*ACCEPTED_TIME_ZONES) | F.col("time_zone").isNull(),
            "unexpected time zone",
        ),
        (F.col("interval").isNull() | (F.col("interval") != "1min"), "unexpected interval"),
        (F.col("fetched_at").isNull(), "unparseable fetch time"),
        (F.col("local_ts").isNull(), "unparseable timestamp"),
        (F.second("local_ts") != 0, "timestamp not on a minute"),
        # The wall-clock time must survive the round trip, or it fell in the spring-forward gap.
        (F.from_utc_timestamp("ts", EXCHANGE_TIME_ZONE) != F.col("local_ts"), "nonexistent exchange time"),
        (any_price_unparseable, "unparseable price"),
        (F.col("volume").isNull(), "unparseable volume"),
        (F.least(*PRICES) <= 0, "non-positive price"),
        (F.col("high") < F.col("low"), "high below low"),
        (
            (F.greatest("open", "close") > F.col("high")) | (F.least("open", "close") < F.col("low")),
            "open or close outside high-low range",
        ),
        (F.col("volume") < 0, "negative volume"),
    ]
    return typed.withColumn("reject_reason", _first_failure(checks))


def with_derived_columns(bars: DataFrame) -> DataFrame:
    session = Window.partitionBy("symbol", "trade_date").orderBy("ts")
    running = session.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    typical = (F.col("high") + F.col("low") + F.col("close")) / 3
    traded = F.sum(typical * F.col("volume")).over(running)
    volume = F.sum("volume").over(running)
    return bars.select(
        "*",
        typical.alias("typical_price"),
        F.when(volume > 0, traded / volume).alias("vwap"),
        (F.col("close") / F.lag("close").over(session) - 1).alias("minute_return"),
    )


def _curated_columns() -> list[str]:
    return [name for name, _ in CURATED_COLUMNS + PARTITION_COLUMNS]


def _stored_columns() -> list[str]:
    return [c for c in _curated_columns() if c not in DERIVED]


# Stored partitions are read with the catalog's schema: no inference, and an empty directory reads as empty.
CURATED_DDL = ", ".join(f"{name} {hive_type}" for name, hive_type in CURATED_COLUMNS + PARTITION_COLUMNS)


def existing_partitions(
    spark: SparkSession, curated_path: str, partitions: list[tuple[str, str]]
) -> list[str]:
    """The stored ones among `partitions`, in their order: one listing per symbol (a glob of its trade
    dates), not a call per partition, which on S3 is a request or two each."""
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    dates_of_symbol: dict[str, list[str]] = {}
    for symbol, trade_date in partitions:
        dates_of_symbol.setdefault(symbol, []).append(trade_date)
    stored = set()
    for symbol, trade_dates in dates_of_symbol.items():
        pattern = jvm.org.apache.hadoop.fs.Path(
            f"{curated_path}/symbol={symbol}/trade_date={{{','.join(trade_dates)}}}"
        )
        for status in pattern.getFileSystem(hadoop_conf).globStatus(pattern) or []:
            stored.add((symbol, status.getPath().getName().removeprefix("trade_date=")))
    return [
        f"{curated_path}/symbol={symbol}/trade_date={trade_date}"
        for symbol, trade_date in partitions
        if (symbol, trade_date) in stored
    ]


def write_summary(path: str, summary: dict[str, Any]) -> None:
    body = json.dumps(summary, indent=2, sort_keys=True)
    if path.startswith("s3://"):
        import boto3  # present on Glue; only needed for S3 paths

        bucket, key = path.removeprefix("s3://").split("/", 1)
        boto3.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json"
        )
    else:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as summary_file:
            summary_file.write(body)


def quarantine(rejected: DataFrame, quarantine_path: str) -> None:
    # One folder per fetch, overwritten whole: a re-run rewrites the same rejects.
    rejected.select(
        F.col("raw_symbol").alias("symbol"),
        "exchange_time",
        *(F.col(f"raw_{name}").alias(name) for name in (*PRICES, "volume")),
        "fetch_id",
        "fetched_at",
        "raw_path",
        "reject_reason",
    ).coalesce(1).write.mode("overwrite").parquet(quarantine_path)


class Tally(NamedTuple):
    documents: int
    documents_without_bars: int
    bars: int
    reasons: dict[str, int]  # rejected bars per reject_reason
    partitions: list[tuple[str, str]]  # (symbol, trade_date) of the valid bars, sorted
    by_symbol: dict[str, dict[str, int]]  # per symbol a document names: bars read, bars quarantined


def tally(checked: DataFrame) -> Tally:
    """Every count the run summary needs from the checked rows, in one aggregate."""
    is_bar = F.col("bar_position").isNotNull()
    is_valid = is_bar & F.col("reject_reason").isNull()
    groups = (
        checked.groupBy(
            F.col("symbol").alias("document_symbol"),
            F.when(is_valid, F.col("symbol")).alias("symbol"),
            F.when(is_valid, F.col("trade_date")).alias("trade_date"),
            F.when(is_bar, F.col("reject_reason")).alias("reject_reason"),
        )
        .agg(
            F.count(F.when(is_bar, 1)).alias("bars"),
            # A document's first bar, or its one row when it has none, stands for the document.
            F.count(F.when(F.coalesce(F.col("bar_position"), F.lit(0)) == 0, 1)).alias("documents"),
            F.count(F.when(~is_bar, 1)).alias("documents_without_bars"),
        )
        .collect()
    )
    reasons: dict[str, int] = {}
    by_symbol: dict[str, dict[str, int]] = {}
    for row in groups:
        if row["reject_reason"] is not None:
            reasons[row["reject_reason"]] = reasons.get(row["reject_reason"], 0) + row["bars"]
        figures = by_symbol.setdefault(str(row["document_symbol"]), {"barsRead": 0, "barsQuarantined": 0})
        figures["barsRead"] += row["bars"]
        if row["reject_reason"] is not None:
            figures["barsQuarantined"] += row["bars"]
    return Tally(
        documents=sum(row["documents"] for row in groups),
        documents_without_bars=sum(row["documents_without_bars"] for row in groups),
        bars=sum(row["bars"] for row in groups),
        reasons=reasons,
        partitions=sorted(
            {(row["symbol"], row["trade_date"]) for row in groups if row["symbol"] is not None}
        ),
        by_symbol=by_symbol,
    )


def run(spark: SparkSession, arguments: JobArguments) -> dict[str, Any]:
    started = datetime.now(UTC)
    configure(spark)
    own = list_json_files(spark, f"{arguments.raw_path.rstrip('/')}/*.json")
    if not own:
        raise ValueError(f"--raw_path {arguments.raw_path} holds no raw object")
    pending = list_json_files(
        spark, f"{arguments.pending_path.rstrip('/')}/execution=*/*.json", oldest=PENDING_OBJECTS_PER_RUN
    )
    raw_paths = own + pending
    curated_path = arguments.curated_path.rstrip("/")

    # Read, checked and materialised in one pass; every count the summary needs comes from one aggregate.
    checked = type_and_validate(
        explode_bars(read_raw_documents(spark, raw_paths), arguments.fetch_id)
    ).localCheckpoint(eager=True)
    counts = tally(checked)
    reasons, partitions, rows_read = counts.reasons, counts.partitions, counts.bars
    # A bar always has its key: non-null again, as explode gives it, so the quarantine schema stays.
    bars = checked.where(F.col("bar_position").isNotNull()).withColumn(
        "exchange_time", F.coalesce("exchange_time", F.lit(""))
    )
    quarantine_path = None
    if reasons:
        quarantine_path = f"{arguments.quarantine_path.rstrip('/')}/fetch_id={arguments.fetch_id}"
        quarantine(bars.where(F.col("reject_reason").isNotNull()), quarantine_path)

    valid = bars.where(F.col("reject_reason").isNull())
    summary: dict[str, Any] = {
        "fetchId": arguments.fetch_id,
        "rawObjects": counts.documents,
        "rawObjectsWithoutBars": counts.documents_without_bars,
        # Of the raw objects, those an earlier failed run left pending, curated by this one.
        "pendingRawObjectsCurated": len(pending),
        "rowsRead": rows_read,
        "rowsValid": rows_read - sum(reasons.values()),
        "rowsQuarantined": sum(reasons.values()),
        "quarantineReasons": reasons,
        "quarantinePath": quarantine_path,
        "partitionsTouched": [f"symbol={s}/trade_date={d}" for s, d in partitions],
        "rowsStoredBefore": 0,
        "rowsWritten": 0,
        "newRows": 0,
        "rowsUpdated": 0,
        "rowsUnchanged": 0,
        "rowsOutdated": 0,
        "duplicatesDropped": 0,
    }
    by_symbol = counts.by_symbol
    if partitions:
        staging_path = arguments.staging_path.rstrip("/")
        merged, merged_by_symbol = merge_into_curated(spark, valid, curated_path, staging_path, partitions)
        summary.update(merged)
        for symbol, figures in merged_by_symbol.items():
            by_symbol.setdefault(symbol, {"barsRead": 0, "barsQuarantined": 0}).update(figures)
    summary["bySymbol"] = {
        symbol: {"rowsWritten": 0, "newRows": 0, "rowsUpdated": 0, **figures}
        for symbol, figures in sorted(by_symbol.items())
    }
    # Only now that the dataset holds them: a run that fails leaves them for the next.
    summary["pendingRawObjectsNotDeleted"] = len(delete_files(spark, pending))
    finished = datetime.now(UTC)
    summary["startedAt"] = started.isoformat(timespec="seconds")
    summary["finishedAt"] = finished.isoformat(timespec="seconds")
    summary["durationSeconds"] = round((finished - started).total_seconds(), 1)
    summary["sparkVersion"] = spark.version
    write_summary(arguments.run_summary_path, summary)
    return summary


def merge_into_curated(
    spark: SparkSession,
    valid: DataFrame,
    curated_path: str,
    staging_path: str,
    partitions: list[tuple[str, str]],
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Rewrites the touched partitions with stored and incoming rows merged; returns the counts, in all
    and per symbol (rows of its touched partitions written, new and updated)."""
    incoming = valid.select(*_stored_columns(), F.lit(False).alias("_stored"))
    stored_paths = existing_partitions(spark, curated_path, partitions)
    candidates = incoming
    if stored_paths:
        stored = (
            spark.read.schema(CURATED_DDL)
            .option("basePath", curated_path)
            .parquet(*stored_paths)
            .select(*_stored_columns(), F.lit(True).alias("_stored"))
        )
        candidates = stored.unionByName(incoming)

    # trade_date is the exchange-local date of ts, so (symbol, trade_date, ts) keys a minute as (symbol, ts)
    # does: one shuffle by partition serves the dedupe, the session windows and the one-file-per-partition
    # write (instead of one shuffle for each).
    minute = Window.partitionBy("symbol", "trade_date", "ts")
    # On a full tie (a re-run) the stored row stays.
    newest_first = minute.orderBy(
        F.desc("fetched_at"), F.desc("fetch_id"), *(F.desc(c) for c in (*PRICES, "volume")), F.desc("_stored")
    )
    whole_minute = newest_first.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    bar = F.struct(*PRICES, "volume")
    winners = (
        candidates.repartition("symbol", "trade_date")
        .select(
            "*",
            F.row_number().over(newest_first).alias("_rank"),
            F.count(F.when(~F.col("_stored"), 1)).over(whole_minute).alias("_incoming"),
            F.max("_stored").over(whole_minute).alias("_was_stored"),
            F.first(F.when(F.col("_stored"), bar), ignorenulls=True).over(whole_minute).alias("_stored_bar"),
            # The newest of this run's bars for the minute: what the stored one is compared with.
            F.first(F.when(~F.col("_stored"), bar), ignorenulls=True)
            .over(whole_minute)
            .alias("_incoming_bar"),
        )
        .where("_rank = 1")
        .drop("_rank")
    )
    # Materialised before the overwrite: the stored partitions are both read and replaced. Each
    # (symbol, trade_date) lies in one partition of it, so each is written as one file.
    merged = with_derived_columns(winners).localCheckpoint(eager=True)
    delivered = F.col("_incoming") > 0
    restored = delivered & F.col("_was_stored")  # a minute the table held, delivered again
    same_bar = F.col("_stored_bar").eqNullSafe(F.col("_incoming_bar"))
    per_symbol = (
        merged.groupBy("symbol")
        .agg(
            F.count(F.lit(1)).alias("written"),
            F.sum(F.col("_was_stored").cast("int")).alias("stored"),
            F.count(F.when(delivered & ~F.col("_was_stored"), 1)).alias("new"),
            F.count(F.when(restored & same_bar, 1)).alias("unchanged"),
            F.count(F.when(restored & ~same_bar & ~F.col("_stored"), 1)).alias("updated"),
            F.count(F.when(restored & ~same_bar & F.col("_stored"), 1)).alias("outdated"),
            F.sum(F.when(delivered, F.col("_incoming") - 1)).alias("duplicates"),
        )
        .collect()
    )

    def total(name: str) -> int:
        return sum(row[name] or 0 for row in per_symbol)

    replace_partitions(
        spark,
        merged.select(*_curated_columns()).sortWithinPartitions("symbol", "trade_date", "ts"),
        curated_path,
        staging_path,
        partitions,
    )
    return {
        "rowsStoredBefore": total("stored"),
        "rowsWritten": total("written"),
        "newRows": total("new"),
        "rowsUpdated": total("updated"),
        "rowsUnchanged": total("unchanged"),
        "rowsOutdated": total("outdated"),
        "duplicatesDropped": total("duplicates"),
    }, {
        row["symbol"]: {"rowsWritten": row["written"], "newRows": row["new"], "rowsUpdated": row["updated"]}
        for row in per_symbol
    }


def replace_partitions(
    spark: SparkSession,
    rows: DataFrame,
    curated_path: str,
    staging_path: str,
    partitions: list[tuple[str, str]],
) -> None:
    """Writes `rows` (exactly the touched partitions) under the staging path, then swaps them into the
    dataset partition by partition: the new file in first, then the old ones out."""
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path
    staging = path(staging_path)
    staging_fs = staging.getFileSystem(hadoop_conf)
    # Only a killed run leaves anything here: the job runs one at a time (MaxConcurrentRuns 1).
    staging_fs.delete(staging, True)
    rows.write.mode("overwrite").option("partitionOverwriteMode", "static").partitionBy(
        "symbol", "trade_date"
    ).parquet(staging_path)
    curated = path(curated_path)
    curated_fs = curated.getFileSystem(hadoop_conf)
    # What a killed run of the job's earlier versions, which wrote in place, left in the dataset.
    for leftover in curated_fs.globStatus(path(f"{curated_path}/{{_temporary,.spark-staging-*}}")) or []:
        curated_fs.delete(leftover.getPath(), True)
    for symbol, trade_date in partitions:
        partition = f"symbol={symbol}/trade_date={trade_date}"
        target = path(f"{curated_path}/{partition}")
        old = [status.getPath() for status in curated_fs.globStatus(path(target, "*")) or []]
        curated_fs.mkdirs(target)
        moved = set()
        for status in staging_fs.listStatus(path(f"{staging_path}/{partition}")):
            name = status.getPath().getName()
            if not curated_fs.rename(status.getPath(), path(target, name)):
                raise OSError(f"could not move {status.getPath()} into {target}")
            moved.add(name)
        for old_file in old:
            if old_file.getName() not in moved:
                curated_fs.delete(old_file, False)
    staging_fs.delete(staging, True)


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> dict[str, Any]:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    session = spark or SparkSession.builder.appName("stock_data_etl").getOrCreate()
    summary = run(session, arguments)
    print(json.dumps(summary, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
