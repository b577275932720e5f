"""The run summary reaches S3 through boto3 on Glue, and a local file offline (no Spark needed)."""

import json

import boto3
import pytest
from emulation_helpers import in_process_aws, unique

import stock_data_etl

SUMMARY = {"fetchId": "exec-1", "rowsRead": 100, "rowsWritten": 100}


def test_summary_goes_to_s3_with_put_object(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = unique("data")
    with in_process_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=bucket)
        stock_data_etl.write_summary(f"s3://{bucket}/run-summaries/stock_minute_bars/exec-1.json", SUMMARY)
        stored = s3.get_object(Bucket=bucket, Key="run-summaries/stock_minute_bars/exec-1.json")
    assert json.loads(stored["Body"].read()) == SUMMARY
    assert stored["ContentType"] == "application/json"


def test_summary_goes_to_a_local_file_creating_its_folder(tmp_path):
    path = tmp_path / "run-summaries" / "exec-1.json"
    stock_data_etl.write_summary(str(path), SUMMARY)
    assert json.loads(path.read_text()) == SUMMARY


def test_glue_arguments_are_ignored_and_ours_parsed():
    arguments = stock_data_etl.parse_arguments(
        [
            "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1", "--JOB_NAME", "StockDataETLJOB",
            "--TempDir", "s3://tmp/", "--enable-metrics", "true",
            "--job-bookmark-option", "job-bookmark-disable",
            "--raw_path", "s3://b/raw/stock/ingest_date=2026-11-21/execution=exec-1/",
            "--pending_path", "s3://b/pending/stock_minute_bars/",
            "--curated_path", "s3://b/curated/stock_minute_bars/",
            "--staging_path", "s3://b/staging/stock_minute_bars/",
            "--quarantine_path", "s3://b/quarantine/stock_minute_bars/",
            "--run_summary_path", "s3://b/run-summaries/stock_minute_bars/exec-1.json",
            "--fetch_id", "exec-1",
        ]
    )  # fmt: skip
    assert arguments == stock_data_etl.JobArguments(
        raw_path="s3://b/raw/stock/ingest_date=2026-11-21/execution=exec-1/",
        pending_path="s3://b/pending/stock_minute_bars/",
        curated_path="s3://b/curated/stock_minute_bars/",
        staging_path="s3://b/staging/stock_minute_bars/",
        quarantine_path="s3://b/quarantine/stock_minute_bars/",
        run_summary_path="s3://b/run-summaries/stock_minute_bars/exec-1.json",
        fetch_id="exec-1",
    )


# Execution names at the edges of Step Functions' rule (1-80 characters; no whitespace, brackets, wildcards,
# `" # % \ ^ | ~ ` $ & , ; : /` or control characters): the fetch_id is always the name as given.
EDGE_NAMES = [
    "-x",
    "-h",
    "--help",
    "--fetch_id",
    "--raw_path",
    "--pending_path",
    "-",
    "--",
    "=",
    ".",
    "_",
    "..",
    "x=y",
    "--" + "é" * 38 + "=._-" + "Z" * 36,  # 80 characters
]


def glue_argv(fetch_id: str) -> list[str]:
    """The script's argv as Glue passes it: each argument as two items, Glue's own among them (some, like
    `--enable-metrics`, may come without a value)."""
    return [
        "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1", "--JOB_NAME", "StockDataETLJOB", "--enable-metrics",
        "--raw_path", "s3://b/raw/stock/ingest_date=2026-11-21/execution=x/",
        "--pending_path", "s3://b/pending/stock_minute_bars/",
        "--curated_path", "s3://b/curated/stock_minute_bars/",
        "--staging_path", "s3://b/staging/stock_minute_bars/",
        "--quarantine_path", "s3://b/quarantine/stock_minute_bars/",
        "--fetch_id", fetch_id,
        "--run_summary_path", "s3://b/run-summaries/stock_minute_bars/x.json",
        "--job-bookmark-option", "job-bookmark-disable",
    ]  # fmt: skip


def test_edge_names_cover_the_length_limit():
    assert max(len(name) for name in EDGE_NAMES) == 80


@pytest.mark.parametrize("name", EDGE_NAMES)
def test_any_execution_name_is_the_fetch_id_as_given(name):
    arguments = stock_data_etl.parse_arguments(glue_argv(name))
    assert arguments.fetch_id == name
    assert arguments.raw_path == "s3://b/raw/stock/ingest_date=2026-11-21/execution=x/"
    assert arguments.pending_path == "s3://b/pending/stock_minute_bars/"
    assert arguments.run_summary_path == "s3://b/run-summaries/stock_minute_bars/x.json"


@pytest.mark.parametrize("option", ["--raw_path", "--pending_path", "--curated_path"])
def test_a_missing_argument_is_named(option):
    argv = glue_argv("exec-1")
    del argv[argv.index(option) : argv.index(option) + 2]
    with pytest.raises(stock_data_etl.JobArgumentError, match=rf"^missing job arguments: {option}$"):
        stock_data_etl.parse_arguments(argv)


def test_the_former_raw_paths_argument_is_not_taken_for_the_raw_folder():
    argv = glue_argv("exec-1")
    argv[argv.index("--raw_path")] = "--raw_paths"
    with pytest.raises(stock_data_etl.JobArgumentError, match=r"^missing job arguments: --raw_path$"):
        stock_data_etl.parse_arguments(argv)


def test_an_argument_without_its_value_is_refused():
    with pytest.raises(stock_data_etl.JobArgumentError, match="--fetch_id has no value"):
        stock_data_etl.parse_arguments([*glue_argv("exec-1"), "--fetch_id"])
