"""Curates raw stock minute bars into a deduplicated, partitioned Parquet dataset.

A Glue 5.0 job (Spark 3.5, Python 3.11) written as plain PySpark, so it runs the same on local Spark.
Arguments arrive Glue-style as `--name value` pairs (Glue adds its own, which are ignored):

  --raw_paths         comma-separated raw objects of this execution (one JSON document each)
  --curated_path      root of the curated dataset, partitioned by symbol and trade_date
  --quarantine_path   root for rejected rows, one folder per fetch
  --run_summary_path  object the run summary JSON is written to
  --fetch_id          the fetch (execution name) the raw objects came from

Each run reads only its own raw objects and the curated partitions they touch, keeps one row per
(symbol, ts) with the newest fetch winning, and rewrites exactly those partitions: per-run work follows
the new data, not the length of history, and re-running a fetch gives the same dataset.

Exchange time: Alpha Vantage gives US/Eastern wall-clock times without an offset. `ts` is the UTC
instant under America/New_York rules. A repeated wall-clock time (the fall-back hour) takes the earlier,
daylight-time offset; a wall-clock time that does not exist (the spring-forward gap) is quarantined.
Bars only exist between 04:00 and 20:00 exchange time, so neither occurs in real data.

Derived columns: `typical_price` is (high + low + close) / 3; `vwap` is the session's running
volume-weighted average of the typical price up to and including the bar (a minute bar carries no
trades, so the typical price stands in for the bar's traded price); `minute_return` is close over the
previous bar's close in the same session, minus one.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

EXCHANGE_TIME_ZONE = "America/New_York"
ACCEPTED_TIME_ZONES = ("US/Eastern", "America/New_York")

RAW_BAR = T.StructType(
    [T.StructField(name, T.StringType()) for name in ("open", "high", "low", "close", "volume")]
)
# Explicit schema: inferring it would make one struct field per timestamp key.
RAW_SCHEMA = T.StructType(
    [
        T.StructField(
            "metadata",
            T.StructType(
                [
                    T.StructField("symbol", T.StringType()),
                    T.StructField("interval", T.StringType()),
                    T.StructField("timeZone", T.StringType()),
                    T.StructField("lastRefreshed", T.StringType()),
                    T.StructField("barCount", T.LongType()),
                    T.StructField("fetchedAt", T.StringType()),
                    T.StructField("source", T.StringType()),
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
PRICES = ("open", "high", "low", "close")


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw_paths", required=True)
    parser.add_argument("--curated_path", required=True)
    parser.add_argument("--quarantine_path", required=True)
    parser.add_argument("--run_summary_path", required=True)
    parser.add_argument("--fetch_id", required=True)
    arguments, _glue_arguments = parser.parse_known_args(argv)
    return arguments


def configure(spark: SparkSession) -> None:
    conf = spark.conf
    conf.set("spark.sql.session.timeZone", "UTC")
    conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    # trade_date stays a string, as the catalog declares it.
    conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")


def read_raw_bars(spark: SparkSession, raw_paths: list[str], fetch_id: str) -> DataFrame:
    """One row per raw minute bar, values still strings, with its fetch."""
    documents = spark.read.schema(RAW_SCHEMA).option("multiLine", "true").json(raw_paths)
    return documents.select(
        F.col("metadata.symbol").alias("raw_symbol"),
        F.col("metadata.timeZone").alias("time_zone"),
        F.to_timestamp("metadata.fetchedAt").alias("fetched_at"),
        F.lit(fetch_id).alias("fetch_id"),
        F.explode("timeSeries").alias("exchange_time", "bar"),
    ).select("*", *(F.col(f"bar.{name}").alias(f"raw_{name}") for name in (*PRICES, "volume")))


def _first_failure(checks: list[tuple[Column, str]]) -> Column:
    reason = F.lit(None).cast("string")
    for failed, name in reversed(checks):
        reason = F.when(failed, F.lit(name)).otherwise(reason)
    return reason


def type_and_validate(raw: DataFrame) -> DataFrame:
    """Typed columns plus `reject_reason` (null for a valid bar)."""
    local = F.to_timestamp("exchange_time", "yyyy-MM-dd HH:mm:ss")
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
        F.when(F.trim("raw_volume").rlike(INTEGER), F.trim("raw_volume").cast("long")).alias("volume"),
    )
    any_price_unparseable = F.lit(False)
    for p in PRICES:
        any_price_unparseable = any_price_unparseable | F.col(p).isNull()
    checks = [
        (F.col("symbol").isNull() | (F.col("symbol") == ""), "missing symbol"),
        (
            ~F.col("time_zone").isin(*ACCEPTED_TIME_ZONES) | F.col("time_zone").isNull(),
            "unexpected time zone",
        ),
        (F.col("fetched_at").isNull(), "unparseable fetch time"),
        (F.col("local_ts").isNull(), "unparseable timestamp"),
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


def newest_fetch_per_minute(bars: DataFrame) -> DataFrame:
    newest_first = Window.partitionBy("symbol", "ts").orderBy(F.desc("fetched_at"), F.desc("fetch_id"))
    return bars.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


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


def existing_partitions(
    spark: SparkSession, curated_path: str, partitions: list[tuple[str, str]]
) -> list[str]:
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    found = []
    for symbol, trade_date in partitions:
        path = f"{curated_path.rstrip('/')}/symbol={symbol}/trade_date={trade_date}"
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        if hadoop_path.getFileSystem(hadoop_conf).exists(hadoop_path):
            found.append(path)
    return found


def write_summary(path: str, summary: dict[str, Any]) -> None:
    body = json.dumps(summary, indent=2, sort_keys=True)
    if path.startswith("s3://"):
        import boto3  # present on Glue; only needed for S3 paths

        bucket, key = path.removeprefix("s3://").split("/", 1)
        boto3.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json"
        )
    else:
        with open(path, "w", encoding="utf-8") as summary_file:
            summary_file.write(body)


def run(spark: SparkSession, arguments: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    configure(spark)
    raw_paths = [p.strip() for p in arguments.raw_paths.split(",") if p.strip()]
    curated_path = arguments.curated_path.rstrip("/")

    checked = type_and_validate(read_raw_bars(spark, raw_paths, arguments.fetch_id)).localCheckpoint(
        eager=True
    )
    rows_read = checked.count()
    rejected = checked.where(F.col("reject_reason").isNotNull())
    reasons = {
        row["reject_reason"]: row["count"] for row in rejected.groupBy("reject_reason").count().collect()
    }
    if reasons:
        quarantine = f"{arguments.quarantine_path.rstrip('/')}/fetch_id={arguments.fetch_id}"
        rejected.select(
            F.col("raw_symbol").alias("symbol"),
            "exchange_time",
            *(F.col(f"raw_{name}").alias(name) for name in (*PRICES, "volume")),
            "fetch_id",
            "fetched_at",
            "reject_reason",
        ).coalesce(1).write.mode("overwrite").parquet(quarantine)

    valid = checked.where(F.col("reject_reason").isNull())
    partitions = sorted(
        (row["symbol"], row["trade_date"])
        for row in valid.select("symbol", "trade_date").distinct().collect()
    )
    summary: dict[str, Any] = {
        "fetchId": arguments.fetch_id,
        "rawObjects": len(raw_paths),
        "rowsRead": rows_read,
        "rowsQuarantined": sum(reasons.values()),
        "quarantineReasons": reasons,
        "partitionsTouched": [f"symbol={s}/trade_date={d}" for s, d in partitions],
        "rowsWritten": 0,
        "newRows": 0,
        "duplicatesDropped": 0,
        "curatedPath": curated_path,
    }
    if partitions:
        summary.update(merge_into_curated(spark, valid, curated_path, partitions))
    summary["startedAt"] = started.isoformat(timespec="seconds")
    summary["finishedAt"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_summary(arguments.run_summary_path, summary)
    return summary


def merge_into_curated(
    spark: SparkSession, valid: DataFrame, curated_path: str, partitions: list[tuple[str, str]]
) -> dict[str, int]:
    base_columns = [c for c in _curated_columns() if c not in {"typical_price", "vwap", "minute_return"}]
    incoming = valid.select(*base_columns)
    stored_paths = existing_partitions(spark, curated_path, partitions)
    if stored_paths:
        stored = spark.read.option("basePath", curated_path).parquet(*stored_paths).select(*base_columns)
        stored_rows = stored.count()
        candidates = stored.unionByName(incoming)
    else:
        stored_rows = 0
        candidates = incoming
    merged = with_derived_columns(newest_fetch_per_minute(candidates)).select(*_curated_columns())
    # Materialised before the overwrite: the stored partitions are both read and replaced.
    merged = merged.localCheckpoint(eager=True)
    rows_written = merged.count()
    (
        merged.repartition("symbol", "trade_date")
        .sortWithinPartitions("ts")
        .write.mode("overwrite")
        .partitionBy("symbol", "trade_date")
        .parquet(curated_path)
    )
    incoming_rows = incoming.count()
    return {
        "rowsWritten": rows_written,
        "newRows": rows_written - stored_rows,
        "duplicatesDropped": stored_rows + incoming_rows - rows_written,
    }


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> dict[str, Any]:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    session = spark or SparkSession.builder.appName("stock_data_etl").getOrCreate()
    summary = run(session, arguments)
    print(json.dumps(summary, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
