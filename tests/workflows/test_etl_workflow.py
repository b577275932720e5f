"""The ETL workflow end to end on the emulation: real handler, real S3 writes, the real Glue script on Spark.

Each successful ETL run costs a Spark job, so one run per scenario is shared by the tests that read it.
Every run curates the same MSFT bars into the stack's one dataset, so the dataset holds 100 rows whatever
ran before.
"""

import json
from datetime import UTC, datetime

import pytest
from emulation_helpers import (
    bucket_names,
    curated_rows,
    kinesis_record,
    object_versions,
    state_output,
    subscriptions,
    task_failures,
    task_result,
    unique,
)
from pipeline_helpers import EVENTS, load_event, reference

pytestmark = pytest.mark.spark

ETL_PATH = [
    "ValidateExecutionInput",
    "RouteByRequestedWorkflow",
    "ListBuckets",
    "CheckBucketListed",
    "FetchWatchlist",
    # The watchlist's one symbol, in its Map iteration.
    "WaitForStockFetchSlot",
    "FetchStockData",
    "ChooseRawBucketAction",
    "PutRawStockData",
    "RecordStockDataFetched",
    "CheckStockFetchOutcomes",
    "ChooseStockFetchFailureCount",
    "RecordNoStockFetchFailures",
    "RunStockDataGlueJob",
    "ReadGlueRunSummary",
    "ChooseEtlOutcome",
    "SummarizeEtlRun",
    "EtlWorkflowSucceeded",
]
CREATE_BUCKET_STATES = {"CreateBucket", "CreateBucketInUsEast1"}
CURATED_PARTITION = "curated/stock_minute_bars/symbol=MSFT/trade_date=2023-10-27/"


def reference_bars() -> dict[str, dict[str, str]]:
    series = reference("alpha_vantage_intraday_compact.json")["Time Series (1min)"]
    fields = ("open", "high", "low", "close", "volume")
    return {ts: {name: bar[f"{i}. {name}"] for i, name in enumerate(fields, 1)} for ts, bar in series.items()}


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def raw_object(result, symbol: str = "MSFT") -> tuple[str, str]:
    """The bucket and key of the symbol's raw object, under the execution's raw folder."""
    bucket, prefix = split_s3_uri(result.output["rawObjects"])
    return bucket, f"{prefix}{symbol}.json"


def read_json(emulation, bucket: str, key: str):
    return json.loads(emulation.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def etl_run(pipeline_stack):
    """events/execution_etl.json: the stack's own bucket, which exists."""
    pipeline = pipeline_stack.fresh()
    result = pipeline.run(load_event("execution_etl.json"))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result, pipeline.requests("alpha-vantage"), pipeline.requests("streaming-availability")


def test_the_etl_event_runs_every_etl_step_and_skips_bucket_creation(etl_run) -> None:
    result, alpha_vantage_requests, streaming_requests = etl_run
    assert result.states_entered() == ETL_PATH
    assert (alpha_vantage_requests, streaming_requests) == (1, 0)
    assert result.output["workflow"] == "etl"
    assert (result.output["symbols"], result.output["fetchFailures"]) == (["MSFT"], [])
    summary = result.output["runSummary"]
    # One symbol: its figures are the run's (how many are new depends on what the dataset held).
    assert summary["bySymbol"] == {
        "MSFT": {
            "barsRead": 100,
            "barsQuarantined": 0,
            "rowsWritten": 100,
            "newRows": summary["newRows"],
            "rowsUpdated": summary["rowsUpdated"],
        }
    }
    assert result.output["glueJobRun"]["state"] == "SUCCEEDED"


def test_the_raw_object_is_at_the_output_key_and_equals_the_fetch(pipeline, etl_run) -> None:
    result, *_ = etl_run
    bucket, key = raw_object(result)
    assert bucket == pipeline.data_bucket
    ingest_date = result.start_date.astimezone(UTC).date().isoformat()
    assert key == f"raw/stock/ingest_date={ingest_date}/execution={result.name}/MSFT.json"

    # Stored as the compact JSON document itself, as Step Functions writes a JSON-value Body.
    stored = pipeline.emulation.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    raw = json.loads(stored)
    assert isinstance(raw, dict)
    assert stored == json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode()
    assert raw == task_result(result, "FetchStockData")["Payload"]
    assert raw["metadata"]["barCount"] == 100
    assert raw["metadata"]["fetchId"] == result.name
    assert raw["timeSeries"] == reference_bars()


def test_the_curated_dataset_holds_each_bar_once_at_its_utc_instant(pipeline, etl_run, tmp_path) -> None:
    rows = curated_rows(pipeline.emulation, pipeline.data_bucket, CURATED_PARTITION, tmp_path)
    assert len(rows) == 100
    assert len({row["ts"] for row in rows}) == 100
    assert {(row["symbol"], row["trade_date"]) for row in rows} == {("MSFT", "2023-10-27")}
    # US/Eastern wall-clock 19:59 on 2023-10-27 is daylight time, UTC-4.
    last = next(row for row in rows if row["ts"] == datetime(2023, 10, 27, 23, 59, tzinfo=UTC))
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        329.95,
        330.0,
        329.81,
        329.81,
        669,
    )
    assert min(row["ts"] for row in rows) == datetime(2023, 10, 27, 22, 13, tzinfo=UTC)


def test_the_run_summary_is_in_the_output_and_in_s3(pipeline, etl_run) -> None:
    result, *_ = etl_run
    summary = result.output["runSummary"]
    assert summary["fetchId"] == result.name
    assert (summary["rowsRead"], summary["rowsValid"], summary["rowsQuarantined"]) == (100, 100, 0)
    assert summary["rowsWritten"] == 100
    assert summary["partitionsTouched"] == ["symbol=MSFT/trade_date=2023-10-27"]
    summary_key = f"run-summaries/stock_minute_bars/{result.name}.json"
    assert result.output["runSummaryObject"] == f"s3://{pipeline.data_bucket}/{summary_key}"
    assert read_json(pipeline.emulation, pipeline.data_bucket, summary_key) == summary
    assert result.output["curatedDataset"] == f"s3://{pipeline.data_bucket}/curated/stock_minute_bars/"

    job_run = pipeline.emulation.client("glue").get_job_run(
        JobName=pipeline.glue_job, RunId=result.output["glueJobRun"]["id"]
    )["JobRun"]
    assert job_run["JobRunState"] == "SUCCEEDED"
    assert job_run["Arguments"]["--fetch_id"] == result.name


def test_a_successful_etl_run_sends_no_failure_notification(pipeline, etl_run) -> None:
    result, *_ = etl_run
    assert pipeline.notifications.for_execution(result.execution_arn) == []


# ---------------------------------------------------------------- execution names

# Names Step Functions accepts that a Glue script or Spark could misread: values that look like options,
# file names Spark treats as hidden (leading `_` or `.`), and 80 characters with letters beyond ASCII.
EDGE_NAMES = ["-x", "--fetch_id", "_x", ".--" + "é" * 37 + "=._-" + "Z" * 36]


@pytest.fixture(scope="module")
def runs_with_edge_names(pipeline_stack):
    pipeline = pipeline_stack.fresh()
    return {name: pipeline.run({"workflow": "etl"}, name=name) for name in EDGE_NAMES}


@pytest.mark.parametrize("name", EDGE_NAMES)
def test_any_execution_name_runs_the_etl_workflow_end_to_end(pipeline, runs_with_edge_names, name) -> None:
    assert max(len(n) for n in EDGE_NAMES) == 80
    result = runs_with_edge_names[name]
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.name == name
    summary = result.output["runSummary"]
    assert summary["fetchId"] == name
    assert (summary["rowsRead"], summary["rowsValid"], summary["rowsQuarantined"]) == (100, 100, 0)
    bucket, key = raw_object(result)
    assert read_json(pipeline.emulation, bucket, key)["metadata"]["barCount"] == 100
    summary_key = f"run-summaries/stock_minute_bars/{name}.json"
    assert read_json(pipeline.emulation, pipeline.data_bucket, summary_key) == summary


# ---------------------------------------------------------------- a bucket named by the input


@pytest.fixture(scope="module")
def two_runs_into_a_new_bucket(pipeline_stack):
    """Two executions naming the same bucket, which does not exist before the first."""
    pipeline = pipeline_stack.fresh()
    bucket = unique("etl-raw")
    assert bucket not in bucket_names(pipeline.emulation)
    runs = [pipeline.run({"workflow": "etl", "batchBucketName": bucket}) for _ in range(2)]
    for result in runs:
        assert result.status == "SUCCEEDED", (result.error, result.cause)
    return bucket, runs


def test_a_missing_bucket_is_created_before_the_raw_object_is_put(pipeline, two_runs_into_a_new_bucket):
    bucket, (first, _) = two_runs_into_a_new_bucket
    entered = first.states_entered()
    # us-east-1 refuses a LocationConstraint naming itself, so the definition has a branch for it.
    assert "CreateBucketInUsEast1" in entered
    assert "CreateBucket" not in entered
    assert entered.index("CreateBucketInUsEast1") < entered.index("PutRawStockData")
    assert bucket in bucket_names(pipeline.emulation)
    assert first.output["rawObjects"].startswith(f"s3://{bucket}/raw/stock/ingest_date=")


def test_a_second_run_with_the_same_names_creates_nothing_and_duplicates_no_rows(
    pipeline, two_runs_into_a_new_bucket, tmp_path
) -> None:
    bucket, (first, second) = two_runs_into_a_new_bucket
    assert not CREATE_BUCKET_STATES & set(second.states_entered())
    # One raw object per execution: the second run did not overwrite the first.
    raw_keys = sorted(object_versions(pipeline.emulation, bucket, "raw/"))
    assert raw_keys == sorted(raw_object(run)[1] for run in (first, second))

    summary = second.output["runSummary"]
    assert (summary["rowsStoredBefore"], summary["rowsWritten"], summary["newRows"]) == (100, 100, 0)
    # The same bars fetched again: nothing updated, nothing a duplicate.
    assert (summary["rowsUnchanged"], summary["rowsUpdated"], summary["duplicatesDropped"]) == (100, 0, 0)
    rows = curated_rows(pipeline.emulation, pipeline.data_bucket, CURATED_PARTITION, tmp_path)
    assert len(rows) == 100
    assert len({row["ts"] for row in rows}) == 100
    # The newest fetch wins every minute.
    assert {row["fetch_id"] for row in rows} == {second.name}


# ---------------------------------------------------------------- the original input


def test_the_original_input_runs_unchanged_on_the_path_its_draw_chose(pipeline) -> None:
    text = (EVENTS / "execution_original.json").read_text()
    original = json.loads(text)
    assert original == reference("original_workflow_input.json")
    result = pipeline.run(text)  # the file's text as is

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    draw = state_output(result, "DrawWorkflowAtRandom")["random"]["draw"]
    assert original["start"] <= draw < original["end"]  # AWS's end is exclusive
    entered = result.states_entered()
    if draw == 1:
        assert "FetchStockData" in entered
        assert "FetchSubscriptionData" not in entered
        assert result.output["workflow"] == "etl"
        bucket, key = raw_object(result)
        assert bucket == original["batchBucketName"]
        assert read_json(pipeline.emulation, bucket, key)["metadata"]["barCount"] == 100
        assert result.output["runSummary"]["rowsValid"] == 100
    else:
        assert "FetchSubscriptionData" in entered
        assert "FetchStockData" not in entered
        assert result.output["workflow"] == "streaming"
        assert result.output["streamName"] == original["streamName"]
        (written,) = result.output["records"]
        record = kinesis_record(
            pipeline.emulation, original["streamName"], written["shardId"], written["sequenceNumber"]
        )
        assert record["Data"]["country"] == "ae"
        topic_arn = pipeline.topic_arn_for(original["topicName"])
        assert result.output["topicArn"] == topic_arn
        assert ("email", original["email"]) in subscriptions(pipeline.emulation, topic_arn)


# ---------------------------------------------------------------- overlapping executions


def test_two_overlapping_etl_executions_both_succeed_as_at_real_time(pipeline) -> None:
    # The job runs one at a time: the second execution's StartJobRun is refused while the first runs,
    # and its retry must outlast that real-time run at any OFFLINE_TIME_SCALE, as it does on AWS.
    emulation = pipeline.emulation
    arns = [emulation.start_execution(pipeline.state_machine_arn, {"workflow": "etl"}) for _ in range(2)]
    results = [emulation.wait_for_execution(arn, timeout=300) for arn in arns]

    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"], [(r.error, r.cause) for r in results]
    refused = [error for r in results for state, error in task_failures(r) if state == "RunStockDataGlueJob"]
    assert set(refused) <= {"Glue.ConcurrentRunsExceededException"}
    assert {r.output["glueJobRun"]["state"] for r in results} == {"SUCCEEDED"}
