"""Local Spark as the offline tool starts it: the tuned JVM options, and the class archive that make's
set-up creates (offline_aws/local_spark.py)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from offline_aws.local_spark import CLASS_ARCHIVE, TUNED_OPTIONS, java_options, pyspark_submit_args

MAKE_STAMP = Path(sys.prefix) / ".installed"  # the Makefile's: this environment is make's set-up


def test_without_an_archive_the_jvm_gets_the_tuned_options_only(tmp_path: Path) -> None:
    assert java_options(tmp_path / "none.jsa") == TUNED_OPTIONS


def test_an_archive_is_used_quietly_once_it_exists(tmp_path: Path) -> None:
    archive = tmp_path / "spark-classes.jsa"
    archive.write_bytes(b"")
    options = java_options(archive).split()
    assert options[: len(TUNED_OPTIONS.split())] == TUNED_OPTIONS.split()
    assert f"-XX:SharedArchiveFile={archive}" in options
    # A JVM that cannot map it (another Java or pyspark) must not print warnings into a Glue run's log.
    assert {"-Xlog:cds=off", "-Xlog:cds+dynamic=off"} <= set(options)


def test_pyspark_submit_args_carry_the_options_as_one_argument() -> None:
    assert pyspark_submit_args("-Xa -Xb") == '--driver-java-options "-Xa -Xb" pyspark-shell'


@pytest.mark.spark
def test_the_archive_make_created_serves_the_jvm_spark_starts() -> None:
    if not CLASS_ARCHIVE.is_file():
        if MAKE_STAMP.exists():
            pytest.fail(f"make's set-up wrote no {CLASS_ARCHIVE}: see {sys.prefix}/class-archive.log")
        pytest.skip("no class archive: this environment was not set up by make")
    # -Xshare:on: a JVM that cannot map the archive (another classpath, another Java) refuses to start.
    script = textwrap.dedent(
        """
        from offline_aws.local_spark import java_options, session_builder
        spark = session_builder("archive-check", master="local[1]", **{"spark.ui.enabled": "false"})
        spark = spark.config("spark.driver.extraJavaOptions", java_options() + " -Xshare:on").getOrCreate()
        print(spark.range(3).count())
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-1] == "3"
