"""Local Spark as the offline tool starts it, for Glue runs and the Glue script's tests.

Offline runs are small: a JVM's tiered JIT compiler and parallel collector spend more CPU than they save
on them. C1 alone and the serial collector roughly halve a short job's wall time on a 2-core machine.

Most of what remains of a short job is loading and verifying Spark's classes. A class-data-sharing archive
of them (JDK 17's dynamic CDS: https://docs.oracle.com/en/java/javase/17/vm/class-data-sharing.html) lets
each JVM map them instead. `python -m offline_aws.local_spark --create-class-archive` writes it into the
environment pyspark is installed in (`make`'s set-up does, beside its pip install); every JVM started with
`java_options()` then uses it, and one started without it, or with a JVM that cannot use it, silently
loads its classes as usual. `bench/bench_local_spark.py` measures all three settings. Glue on AWS keeps its
own JVM settings; this is offline only.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

TUNED_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# Beside the pyspark it was made from: the archive is valid only for that classpath (and that JVM).
CLASS_ARCHIVE = Path(sys.prefix) / "share" / "offline-aws" / "spark-classes.jsa"
# A JVM that cannot use the archive (another Java, another pyspark) says so on stdout; nothing is wrong.
_QUIET_ARCHIVE = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def java_options(archive: Path = CLASS_ARCHIVE) -> str:
    """The driver JVM's options: TUNED_OPTIONS, and the class archive when it has been created."""
    if archive.is_file():
        return f"{TUNED_OPTIONS} -XX:SharedArchiveFile={archive} {_QUIET_ARCHIVE}"
    return TUNED_OPTIONS


def pyspark_submit_args(options: str | None = None) -> str:
    """java_options() for a JVM that pyspark starts in another process (variable PYSPARK_SUBMIT_ARGS)."""
    return f'--driver-java-options "{java_options() if options is None else options}" pyspark-shell'


def session_builder(app_name: str, *, master: str | None = None, **conf: str) -> Any:
    """A SparkSession builder for a local JVM started with java_options() (pyspark imported only here)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).config("spark.driver.extraJavaOptions", java_options())
    if master:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder


def _exercise_spark(spark: Any, scratch: Path) -> None:
    """What short Glue jobs do, so that the classes they load are archived: read JSON with a schema,
    explode, window, shuffle, dedupe, write and read partitioned Parquet, aggregate, SQL, cache."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = [
        {"k": f"s{i % 3}", "d": f"2023-10-{1 + i % 5:02d}", "t": f"2023-10-27 10:{i % 60:02d}:00"}
        for i in range(200)
    ]
    rows = [{**row, "v": str(i), "m": {"a": str(i)}} for i, row in enumerate(rows)]
    (scratch / "in.json").write_text("\n".join(json.dumps(row) for row in rows))
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    frame = spark.read.schema("k string, d string, t string, v string, m map<string,string>").json(
        str(scratch / "in.json")
    )
    frame = (
        frame.select("*", F.explode("m").alias("mk", "mv"))
        .withColumn("ts", F.to_timestamp("t"))
        .withColumn("x", F.col("v").cast("double"))
    )
    window = Window.partitionBy("k", "d").orderBy("ts")
    frame = frame.withColumn("r", F.row_number().over(window)).withColumn(
        "s", F.sum("x").over(window.rowsBetween(Window.unboundedPreceding, 0))
    )
    frame = frame.repartition("k", "d").dropDuplicates(["k", "ts"])
    frame.write.mode("overwrite").partitionBy("k", "d").parquet(str(scratch / "out"))
    stored = spark.read.parquet(str(scratch / "out"))
    stored.groupBy("k").agg(F.count("*"), F.max("s"), F.countDistinct("d")).collect()
    stored.where(F.col("x").isNull()).write.mode("overwrite").json(str(scratch / "none"))
    spark.createDataFrame([(1, "a")], "x int, y string").createOrReplaceTempView("v")
    spark.sql("select y, count(*) from v group by y").collect()
    spark.range(100).cache().count()


def create_class_archive(archive: Path = CLASS_ARCHIVE) -> Path:
    """Run _exercise_spark in a JVM that archives every class it loaded when it exits; the archive
    appears at `archive` only once complete."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    os.environ.pop("PYSPARK_SUBMIT_ARGS", None)  # the options below are the driver's, and only they
    builder = session_builder(
        "offline-class-archive",
        master="local[2]",
        **{"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"},
    )
    options = f"{TUNED_OPTIONS} -XX:ArchiveClassesAtExit={partial} {_QUIET_ARCHIVE}"
    spark = builder.config("spark.driver.extraJavaOptions", options).getOrCreate()  # not java_options()'s
    try:
        with tempfile.TemporaryDirectory(prefix="offline-class-archive-") as scratch:
            _exercise_spark(spark, Path(scratch))
    finally:
        gateway = spark.sparkContext._gateway
        spark.stop()
        gateway.shutdown()
    # The JVM writes the archive as it exits, which it does when its stdin closes.
    jvm = gateway.proc
    jvm.stdin.close()
    if jvm.wait() != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"the JVM exited with {jvm.returncode} and wrote no class archive")
    partial.replace(archive)
    return archive


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Spark as the offline tool starts it.")
    parser.add_argument("--create-class-archive", action="store_true", help=f"write {CLASS_ARCHIVE}")
    args = parser.parse_args(argv)
    if args.create_class_archive:
        print(f"Spark class archive: {create_class_archive()}")
    else:
        print(java_options())


if __name__ == "__main__":
    main()
