"""Local Spark as the offline tool starts it, for Glue runs and the Glue script's tests.

Offline runs are small: a JVM's tiered JIT compiler and parallel collector spend more CPU than they save
on them. C1 alone and the serial collector roughly halve a short job's wall time on a 2-core machine
(`bench/bench_local_spark.py` measures it). The Glue runner gives them to its warm worker through
PYSPARK_SUBMIT_ARGS. Glue on AWS keeps its own JVM settings; this is offline only.
"""

from typing import Any

JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# The same for a JVM that pyspark starts in another process (environment variable PYSPARK_SUBMIT_ARGS).
PYSPARK_SUBMIT_ARGS = f'--driver-java-options "{JAVA_OPTIONS}" pyspark-shell'


def session_builder(app_name: str, *, master: str | None = None, **conf: str) -> Any:
    """A SparkSession builder for a local JVM started with JAVA_OPTIONS (pyspark imported only here)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).config("spark.driver.extraJavaOptions", JAVA_OPTIONS)
    if master:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder
