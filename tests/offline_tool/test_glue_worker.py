"""The Glue runner's warm worker (offline_aws/glue_worker.py) on its own: one JVM for its life, started
only when a script first asks for Spark; the JVM's output stays on the worker's log, not a run's."""

import textwrap
from pathlib import Path

import pytest

from offline_aws.glue_runner import GlueJobRunner, _WarmSpark

PLAIN = "import sys\nprint('plain run', sys.argv[1:])\n"
SPARK = textwrap.dedent(
    """
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    print("rows", spark.range(4).count())
    """
)


def java_children(pid: int) -> list[int]:
    """The JVMs the process `pid` started (pyspark's spark-submit execs java)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            command, _, rest = stat.rpartition(")")
            if int(rest.split()[1]) == pid and command.endswith("(java"):
                children.append(int(entry.name))
    return children


@pytest.fixture
def worker(tmp_path: Path):
    """The worker a Glue runner starts, with the runner's environment (no emulation: no S3 is read)."""
    runner = GlueJobRunner(work_dir=tmp_path, endpoint_url="http://127.0.0.1:9", region="us-east-1")
    yield runner._worker
    runner.terminate_all()


def run(worker: _WarmSpark, tmp_path: Path, name: str, source: str) -> tuple[int | None, str]:
    script = tmp_path / f"{name}.py"
    script.write_text(source)
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    request = {"script": str(script), "argv": ["--run", name], "cwd": str(tmp_path),
               "stdout": str(out), "stderr": str(err), "lazy_roots": []}  # fmt: skip
    returncode = worker.run(request, 240, lambda paths: {})
    return returncode, out.read_text() + err.read_text()


@pytest.mark.spark
def test_the_jvm_starts_with_the_first_run_that_asks_for_spark(worker, tmp_path) -> None:
    assert run(worker, tmp_path, "plain-1", PLAIN) == (0, "plain run ['--run', 'plain-1']\n")
    assert worker._proc is not None and java_children(worker._proc.pid) == []

    returncode, output = run(worker, tmp_path, "spark-1", SPARK)
    assert returncode == 0, output
    assert "rows 4" in output
    (jvm,) = java_children(worker._proc.pid)
    # What the JVM prints as it starts goes to the worker's log, which it keeps; not to this run's.
    assert "setLogLevel" in (tmp_path / "glue-worker" / "worker.log").read_text()
    assert "setLogLevel" not in output

    # The next runs reuse it.
    assert run(worker, tmp_path, "plain-2", PLAIN) == (0, "plain run ['--run', 'plain-2']\n")
    returncode, output = run(worker, tmp_path, "spark-2", SPARK)
    assert returncode == 0 and "rows 4" in output
    assert java_children(worker._proc.pid) == [jvm]


def test_a_run_past_its_timeout_is_killed_with_every_process_it_started(worker, tmp_path) -> None:
    assert run(worker, tmp_path, "warm", PLAIN)[0] == 0  # the worker started: the next run begins at once
    pid_file = tmp_path / "child.pid"
    source = textwrap.dedent(
        f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "600"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(600)
        """
    )
    script = tmp_path / "hangs.py"
    script.write_text(source)
    request = {"script": str(script), "argv": [], "cwd": str(tmp_path), "stdout": str(tmp_path / "h.out"),
               "stderr": str(tmp_path / "h.err"), "lazy_roots": []}  # fmt: skip
    assert worker.run(request, 5, lambda paths: {}) is None
    # The script's own child (as the JVM is the worker's) ended with it: nothing writes after a kill.
    child = Path("/proc") / pid_file.read_text()
    assert not child.exists() or (child / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
