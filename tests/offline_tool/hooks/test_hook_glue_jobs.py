"""Hooks glue-sync and glue-run: `glue:startJobRun.sync` runs the job's script, S3 mirrored both ways."""

import json
import re
import textwrap
import time

import duckdb
import pytest
from emulation_helpers import unique

SCRIPT = """
    import argparse
    import json
    import os
    import pathlib
    import sys
    import time

    parser = argparse.ArgumentParser()
    for name in ("--input", "--output", "--summary", "--mode", "--gate"):
        parser.add_argument(name)
    args, _ = parser.parse_known_args()
    if args.gate:
        while not os.path.exists(args.gate):
            time.sleep(0.05)
    if args.mode == "fail":
        print("about to fail", file=sys.stderr)
        raise ValueError("input rows are not a list")
    rows = json.loads(pathlib.Path(args.input).read_text())
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "rows.json").write_text(json.dumps(rows))
    stale = output / "stale.json"
    if stale.exists():
        stale.unlink()
    pathlib.Path(args.summary).write_text(json.dumps({"rows": len(rows), "argv": sys.argv[1:]}))
"""


@pytest.fixture
def glue_job(emulation, role_arn):
    """A bucket holding the script and an input object, and a job whose output is a prefix in it."""
    s3, glue = emulation.client("s3"), emulation.client("glue")
    bucket = unique("glue-data")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="scripts/job.py", Body=textwrap.dedent(SCRIPT).encode())
    s3.put_object(Bucket=bucket, Key="raw/rows.json", Body=b"[1, 2, 3]")
    s3.put_object(Bucket=bucket, Key="curated/stale.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="kept/untouched.json", Body=b"{}")
    name = unique("job")
    glue.create_job(
        Name=name,
        Role=role_arn,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/scripts/job.py", "PythonVersion": "3"},
        DefaultArguments={
            "--output": f"s3://{bucket}/curated/",
            "--mode": "ok",
            "--unused": f"s3://{bucket}/kept/",
        },
        GlueVersion="5.0",
    )
    return bucket, name


def script_bucket(emulation, prefix: str, script: str) -> str:
    """A new bucket holding `script` as job.py, for a job made with `script_command`."""
    s3 = emulation.client("s3")
    bucket = unique(prefix)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="job.py", Body=textwrap.dedent(script).encode())
    return bucket


def script_command(bucket: str) -> dict[str, str]:
    return {"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/job.py"}


def sync_machine(job_name: str) -> dict:
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {
                    "JobName": job_name,
                    "Arguments": {"--input.$": "$.input", "--summary.$": "$.summary", "--mode.$": "$.mode"},
                },
                "ResultSelector": {"state.$": "$.JobRunState", "id.$": "$.Id", "startedOn.$": "$.StartedOn"},
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Failed"}
                ],
                "End": True,
            },
            "Failed": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
        },
    }


def keys(emulation, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in emulation.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def test_a_sync_run_executes_the_script_and_mirrors_output_back(
    emulation, glue_job, create_state_machine
) -> None:
    bucket, job = glue_job
    execution_input = {
        "input": f"s3://{bucket}/raw/rows.json",
        "summary": f"s3://{bucket}/runs/1.json",
        "mode": "ok",
    }
    result = emulation.run_execution(create_state_machine(sync_machine(job)), execution_input)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["state"] == "SUCCEEDED"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$", result.output["startedOn"])
    # New files uploaded; a file the script removed from an output prefix deleted; read-only prefixes kept.
    assert keys(emulation, bucket) == [
        "curated/rows.json",
        "kept/untouched.json",
        "raw/rows.json",
        "runs/1.json",
        "scripts/job.py",
    ]
    s3 = emulation.client("s3")
    summary = json.loads(s3.get_object(Bucket=bucket, Key="runs/1.json")["Body"].read())
    assert summary["rows"] == 3
    # Default and run arguments merged, every s3:// argument rewritten to a local path.
    argv = summary["argv"]
    assert argv[argv.index("--JOB_NAME") + 1] == job
    assert argv[argv.index("--mode") + 1] == "ok"
    assert not any(value.startswith("s3://") for value in argv)

    run = emulation.client("glue").get_job_run(JobName=job, RunId=result.output["id"])["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"
    assert run["GlueVersion"] == "5.0"
    assert "CompletedOn" in run


def test_a_failing_script_fails_the_sync_task_with_its_error(
    emulation, glue_job, create_state_machine
) -> None:
    bucket, job = glue_job
    execution_input = {
        "input": f"s3://{bucket}/raw/rows.json",
        "summary": f"s3://{bucket}/runs/2.json",
        "mode": "fail",
    }
    result = emulation.run_execution(create_state_machine(sync_machine(job)), execution_input)

    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    run = json.loads(result.cause)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"].startswith("ValueError: input rows are not a list")
    assert "runs/2.json" not in keys(emulation, bucket)
    errors = emulation.client("logs").get_log_events(
        logGroupName="/aws-glue/jobs/error", logStreamName=run["Id"]
    )
    assert "about to fail" in [event["message"] for event in errors["events"]]


def test_a_run_is_running_until_its_script_ends(emulation, glue_job, tmp_path) -> None:
    bucket, job = glue_job
    glue = emulation.client("glue")
    gate = tmp_path / "gate"
    arguments = {
        "--input": f"s3://{bucket}/raw/rows.json",
        "--summary": f"s3://{bucket}/runs/3.json",
        "--gate": str(gate),
    }
    run_id = glue.start_job_run(JobName=job, Arguments=arguments)["JobRunId"]
    try:
        running = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        assert running["JobRunState"] == "RUNNING"
        assert "CompletedOn" not in running
        # MaxConcurrentRuns (default 1) holds while the run is really running.
        with pytest.raises(glue.exceptions.ConcurrentRunsExceededException):
            glue.start_job_run(JobName=job, Arguments=arguments)
    finally:
        gate.touch()
    deadline = time.monotonic() + 60
    while glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING":
        assert time.monotonic() < deadline, "the run never finished"
        time.sleep(0.05)
    assert glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] == "SUCCEEDED"


def test_a_missing_script_fails_the_run(emulation, role_arn) -> None:
    glue = emulation.client("glue")
    job = unique("job")
    glue.create_job(
        Name=job, Role=role_arn, Command={"Name": "glueetl", "ScriptLocation": "s3://no-such-bucket-x/j.py"}
    )
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    deadline = time.monotonic() + 30
    while (run := glue.get_job_run(JobName=job, RunId=run_id)["JobRun"])["JobRunState"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert run["JobRunState"] == "FAILED"
    assert "Cannot read script" in run["ErrorMessage"]


SPARK_SCRIPT = """
    import sys

    from pyspark.sql import SparkSession

    arguments = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    spark = SparkSession.builder.master("local[1]").appName("offline-test").getOrCreate()
    frame = spark.read.json(arguments["--input"])
    frame.groupBy("symbol").count().write.mode("overwrite").parquet(arguments["--output"])
    spark.stop()
"""


@pytest.mark.spark
def test_a_pyspark_script_runs_on_local_spark(emulation, role_arn, create_state_machine) -> None:
    s3, glue = emulation.client("s3"), emulation.client("glue")
    bucket = script_bucket(emulation, "spark-data", SPARK_SCRIPT)
    s3.put_object(
        Bucket=bucket,
        Key="raw/bars.json",
        Body=b'{"symbol": "MSFT"}\n{"symbol": "MSFT"}\n{"symbol": "IBM"}\n',
    )
    s3.put_object(Bucket=bucket, Key="curated/part-old.parquet", Body=b"replaced by the overwrite")
    job = unique("spark-job")
    glue.create_job(
        Name=job,
        Role=role_arn,
        Command=script_command(bucket),
        DefaultArguments={"--input": f"s3://{bucket}/raw/bars.json", "--output": f"s3://{bucket}/curated/"},
    )
    machine = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName": job},
                "End": True,
            }
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {}, timeout=300)

    assert result.status == "SUCCEEDED", result.cause
    curated = [key for key in keys(emulation, bucket) if key.startswith("curated/")]
    assert "curated/_SUCCESS" in curated
    assert "curated/part-old.parquet" not in curated
    assert any(key.endswith(".parquet") for key in curated)
    assert not any(key.endswith(".crc") for key in curated)


def test_a_retried_sync_task_runs_the_job_again(emulation, glue_job, create_state_machine) -> None:
    bucket, job = glue_job
    machine = sync_machine(job)
    machine["States"]["Run"]["Retry"] = [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 1}
    ]
    execution_input = {
        "input": f"s3://{bucket}/raw/rows.json",
        "summary": f"s3://{bucket}/runs/4.json",
        "mode": "fail",
    }
    result = emulation.run_execution(create_state_machine(machine), execution_input)

    assert result.error == "States.TaskFailed"
    failures = [e["type"] for e in result.history if e["type"] in ("TaskFailed", "TaskTimedOut")]
    assert failures == ["TaskFailed", "TaskFailed"]
    runs = emulation.client("glue").get_job_runs(JobName=job)["JobRuns"]
    assert [run["JobRunState"] for run in runs] == ["FAILED", "FAILED"]


ISOLATION_SCRIPT = """
    import argparse
    import json
    import pathlib

    from pyspark.sql import SparkSession

    parser = argparse.ArgumentParser()
    parser.add_argument("--summary")
    parser.add_argument("--marker")
    args, _ = parser.parse_known_args()
    spark = SparkSession.builder.appName("isolation").getOrCreate()
    seen = {
        "conf": spark.conf.get("offline.test.marker", None),
        "views": sorted(t.name for t in spark.catalog.listTables() if t.isTemporary),
        "cached": spark.sparkContext._jsc.sc().getPersistentRDDs().size(),
        "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
        "jvm_start": spark.sparkContext.startTime,
    }
    spark.conf.set("offline.test.marker", args.marker)
    spark.conf.set("spark.sql.shuffle.partitions", "3")
    frame = spark.range(5)
    frame.createOrReplaceTempView("left_by_" + args.marker)
    frame.cache().count()
    pathlib.Path(args.summary).write_text(json.dumps(seen))
    spark.stop()  # a Glue script may stop its session; the next run must still get one
"""


def test_warm_spark_runs_share_the_jvm_but_nothing_of_a_previous_run(emulation, role_arn) -> None:
    s3, glue = emulation.client("s3"), emulation.client("glue")
    bucket = script_bucket(emulation, "isolation", ISOLATION_SCRIPT)
    job = unique("isolation-job")
    glue.create_job(Name=job, Role=role_arn, Command=script_command(bucket))

    seen = []
    for number in (1, 2):
        run_id = glue.start_job_run(
            JobName=job,
            Arguments={"--summary": f"s3://{bucket}/seen-{number}.json", "--marker": f"run{number}"},
        )["JobRunId"]
        deadline = time.monotonic() + 240
        while (state := glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"]) == "RUNNING":
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.2)
        assert state == "SUCCEEDED", glue.get_job_run(JobName=job, RunId=run_id)["JobRun"].get("ErrorMessage")
        seen.append(json.loads(s3.get_object(Bucket=bucket, Key=f"seen-{number}.json")["Body"].read()))

    first, second = seen
    # The second run found no conf, view, cache or setting of the first ...
    assert second["conf"] is None and second["views"] == [] and second["cached"] == 0
    assert second["shuffle_partitions"] == first["shuffle_partitions"] != "3"
    # ... on the same, already started JVM.
    assert second["jvm_start"] == first["jvm_start"]


def role_denied_objects(emulation, denied: list[str]) -> str:
    """A job role allowed everything but reading, writing or deleting the `denied` object ARNs."""
    iam = emulation.client("iam")
    name = unique("glue-role")
    trust = {"Version": "2012-10-17", "Statement": []}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": denied,
            },
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="UntouchedObjects", PolicyDocument=json.dumps(policy))
    return str(arn)


def finished_run(glue, job: str, run_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while (run := glue.get_job_run(JobName=job, RunId=run_id)["JobRun"])["JobRunState"] == "RUNNING":
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.1)
    return run


READER_SCRIPT = """
    import argparse
    import json
    import pathlib

    parser = argparse.ArgumentParser()
    for name in ("--inputs", "--read", "--summary"):
        parser.add_argument(name)
    args, _ = parser.parse_known_args()
    inputs = pathlib.Path(args.inputs)
    listed = {path.name: path.stat().st_size for path in sorted(inputs.iterdir())}
    content = json.loads((inputs / args.read).read_text())
    pathlib.Path(args.summary).write_text(json.dumps({"listed": listed, "content": content}))
"""


def test_a_prefix_is_listed_as_on_s3_and_only_the_objects_a_script_reads_are_fetched(emulation) -> None:
    s3, glue = emulation.client("s3"), emulation.client("glue")
    bucket = script_bucket(emulation, "lazy-inputs", READER_SCRIPT)
    s3.put_object(Bucket=bucket, Key="inputs/wanted.json", Body=b'{"rows": [1, 2]}')
    s3.put_object(Bucket=bucket, Key="inputs/untouched.json", Body=b'{"never": "read"}')
    job = unique("lazy-job")
    glue.create_job(
        Name=job,
        # The run may not read the object it does not open: fetching it would fail the run.
        Role=role_denied_objects(emulation, [f"arn:aws:s3:::{bucket}/inputs/untouched.json"]),
        Command=script_command(bucket),
        DefaultArguments={"--inputs": f"s3://{bucket}/inputs/"},
    )

    arguments = {"--read": "wanted.json", "--summary": f"s3://{bucket}/summary.json"}
    run = finished_run(glue, job, glue.start_job_run(JobName=job, Arguments=arguments)["JobRunId"])

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    summary = json.loads(s3.get_object(Bucket=bucket, Key="summary.json")["Body"].read())
    # Every object listed with its size, the one opened read for real.
    assert summary == {"listed": {"untouched.json": 17, "wanted.json": 16}, "content": {"rows": [1, 2]}}

    # Opening the denied object fails the run with the job role's AccessDenied, as reading it on AWS does.
    arguments = {"--read": "untouched.json", "--summary": f"s3://{bucket}/summary-2.json"}
    run = finished_run(glue, job, glue.start_job_run(JobName=job, Arguments=arguments)["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert "untouched.json from S3 failed" in run["ErrorMessage"]
    assert "403" in run["ErrorMessage"] or "AccessDenied" in run["ErrorMessage"]


HISTORY_SCRIPT = """
    import sys

    from pyspark.sql import SparkSession

    arguments = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    history = arguments["--history"].rstrip("/")
    incoming = spark.read.schema("day string, value bigint").json(arguments["--input"])
    jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    stored = []
    for row in incoming.select("day").distinct().collect():
        path = jvm.org.apache.hadoop.fs.Path(f"{history}/day={row.day}")
        if path.getFileSystem(conf).exists(path):
            stored.append(f"{history}/day={row.day}")
    merged = incoming
    if stored:
        reader = spark.read.schema("value bigint, day string").option("basePath", history)
        merged = reader.parquet(*stored).unionByName(incoming)
    merged = merged.distinct().localCheckpoint(eager=True)
    merged.repartition("day").write.mode("overwrite").partitionBy("day").parquet(history)
"""


def history_objects(emulation, bucket: str) -> dict[str, tuple[str, object]]:
    listed = emulation.client("s3").list_objects_v2(Bucket=bucket, Prefix="history/").get("Contents", [])
    return {o["Key"]: (o["ETag"], o["LastModified"]) for o in listed if o["Key"].endswith(".parquet")}


@pytest.mark.spark
def test_a_run_reads_and_rewrites_only_the_partitions_it_touches(emulation, role_arn, tmp_path) -> None:
    s3, glue = emulation.client("s3"), emulation.client("glue")
    bucket = script_bucket(emulation, "history", HISTORY_SCRIPT)
    days = [f"d{n:02d}" for n in range(1, 21)]
    s3.put_object(
        Bucket=bucket,
        Key="raw/history.json",
        Body="\n".join(json.dumps({"day": day, "value": 1}) for day in days).encode(),
    )
    s3.put_object(
        Bucket=bucket,
        Key="raw/new.json",
        Body=b'{"day": "d03", "value": 2}\n{"day": "d21", "value": 2}\n',
    )
    job_arguments = {
        "Command": script_command(bucket),
        "DefaultArguments": {"--history": f"s3://{bucket}/history/"},
    }
    seeding_job = unique("seed-history")
    glue.create_job(Name=seeding_job, Role=role_arn, **job_arguments)
    seeded = glue.start_job_run(JobName=seeding_job, Arguments={"--input": f"s3://{bucket}/raw/history.json"})
    run = finished_run(glue, seeding_job, seeded["JobRunId"])
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    before = history_objects(emulation, bucket)
    assert len(before) == 20

    untouched = [day for day in days if day != "d03"]
    job = unique("merge-history")
    # The run may neither read nor write nor delete an untouched partition's objects: doing any of it
    # (as mirroring the whole prefix did) fails the run.
    denied = [f"arn:aws:s3:::{bucket}/history/day={day}/*" for day in untouched]
    glue.create_job(Name=job, Role=role_denied_objects(emulation, denied), **job_arguments)
    merged = glue.start_job_run(JobName=job, Arguments={"--input": f"s3://{bucket}/raw/new.json"})
    run = finished_run(glue, job, merged["JobRunId"])

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    after = history_objects(emulation, bucket)
    kept = {key: value for key, value in before.items() if "/day=d03/" not in key}
    assert len(kept) == 19
    # Untouched partitions: the same objects, neither rewritten nor re-uploaded (ETag, LastModified).
    assert {key: after.get(key) for key in kept} == kept
    # The touched partition replaced by the merge, the new one added.
    replaced = sorted(key.split("/")[1] for key in after.keys() - before.keys())
    assert replaced == ["day=d03", "day=d21"]
    assert not any("/day=d03/" in key for key in after.keys() & before.keys())
    for key in after:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(tmp_path / key))
    with duckdb.connect() as connection:
        rows = connection.execute(
            "SELECT day, list(value ORDER BY value)"
            " FROM read_parquet(?, hive_partitioning = true) GROUP BY day",
            [[str(tmp_path / key) for key in after]],
        ).fetchall()
    assert dict(rows) == {
        **{day: [1] for day in untouched},
        "d03": [1, 2],
        "d21": [2],
    }


CLEANING_SCRIPT = """
    import shutil
    import sys

    arguments = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    shutil.rmtree(arguments["--output"])  # deletes the prefix, writes nothing
"""


def test_objects_a_run_only_deletes_are_deleted(emulation, role_arn) -> None:
    s3, glue = emulation.client("s3"), emulation.client("glue")
    bucket = script_bucket(emulation, "cleaning", CLEANING_SCRIPT)
    s3.put_object(Bucket=bucket, Key="staging/left/part-0.parquet", Body=b"left by a killed run")
    job = unique("cleaning-job")
    glue.create_job(
        Name=job,
        Role=role_arn,
        Command=script_command(bucket),
        DefaultArguments={"--output": f"s3://{bucket}/staging/"},
    )
    run = finished_run(glue, job, glue.start_job_run(JobName=job)["JobRunId"])
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert keys(emulation, bucket) == ["job.py"]
