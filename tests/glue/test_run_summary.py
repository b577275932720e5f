"""The run summary reaches S3 through boto3 on Glue, and a local file offline (no Spark needed)."""

import json

import boto3
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
            "--raw_paths", "s3://b/raw/a.json,s3://b/raw/b.json",
            "--curated_path", "s3://b/curated/stock_minute_bars/",
            "--quarantine_path", "s3://b/quarantine/stock_minute_bars/",
            "--run_summary_path", "s3://b/run-summaries/stock_minute_bars/exec-1.json",
            "--fetch_id", "exec-1",
        ]
    )  # fmt: skip
    assert arguments.raw_paths == "s3://b/raw/a.json,s3://b/raw/b.json"
    assert arguments.fetch_id == "exec-1"
