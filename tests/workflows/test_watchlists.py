"""Watchlists on the emulation: many symbols and countries in one execution, paced, failing one at a time,
and overlapping executions that all succeed.

The stack here tolerates one failed fetch (ToleratedFetchFailures=1) and paces at 60 requests a minute,
so that a watchlist's requests go out one a second before the time scale shortens the waits.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from emulation_helpers import (
    curated_rows,
    kinesis_record,
    object_versions,
    state_output,
    task_failures,
    unique,
)
from pipeline_helpers import Pipeline, observed_pipeline

from offline_aws.moto_hooks import time_scale
from offline_pipeline.rapidapi_standin import ScriptedResponse, intraday_payload

pytestmark = pytest.mark.spark

RATE = 60
OVERRIDES = {
    "ToleratedFetchFailures": "1",
    "RapidApiRequestsPerMinute": str(RATE),
    "InputBucketName": "*",
    "InputStreamName": "*",
    "InputTopicName": "*",
}
CURATED = "curated/stock_minute_bars/"


@pytest.fixture(scope="module")
def watchlist_stack(emulation, rapidapi_standin) -> Pipeline:
    return observed_pipeline(emulation, rapidapi_standin, prefix="watchlist", overrides=OVERRIDES)


@pytest.fixture
def stack(watchlist_stack) -> Iterator[Pipeline]:
    yield watchlist_stack.fresh()
    watchlist_stack.standin.reset()
    watchlist_stack.emulation.require_glue_runner().slow_down(0)


def symbols(prefix: str, count: int) -> list[str]:
    """Symbols no other test curates: the stack's dataset is shared by the module."""
    tag = unique("").strip("-")[:4].upper()
    return [f"{prefix}{tag}{i}" for i in range(count)]


def job_runs_of(pipeline: Pipeline, execution_name: str) -> list[dict]:
    runs = pipeline.emulation.client("glue").get_job_runs(JobName=pipeline.glue_job)["JobRuns"]
    return [run for run in runs if run["Arguments"].get("--fetch_id") == execution_name]


def rows_by_symbol(pipeline: Pipeline, names: list[str], tmp_path: Path) -> dict[str, list[dict]]:
    rows = curated_rows(pipeline.emulation, pipeline.data_bucket, CURATED, tmp_path)
    return {name: [row for row in rows if row["symbol"] == name] for name in names}


def expected_close(symbol: str, minute: str = "2023-10-27 19:59:00") -> float:
    return float(intraday_payload(symbol, "1min")["Time Series (1min)"][minute]["4. close"])


# ---------------------------------------------------------------- one execution, five symbols


@pytest.fixture(scope="module")
def five_symbol_run(watchlist_stack):
    pipeline = watchlist_stack.fresh()
    watchlist = symbols("W", 5)
    time_scale.clear_recorded_delays()
    result = pipeline.run({"workflow": "etl", "symbols": [s.lower() for s in watchlist]})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    waits = [d.requested_seconds for d in time_scale.recorded_delays() if d.kind == "wait"]
    return pipeline, watchlist, result, pipeline.standin.requests_to("alpha-vantage"), waits


def test_a_five_symbol_watchlist_is_fetched_once_each_and_curated_by_one_glue_run(five_symbol_run, tmp_path):
    pipeline, watchlist, result, requests, _ = five_symbol_run
    assert result.output["symbols"] == watchlist
    assert result.output["fetchFailures"] == []
    assert sorted(r.query["symbol"][0] for r in requests) == sorted(watchlist)

    bucket, prefix = result.output["rawObjects"].removeprefix("s3://").split("/", 1)
    assert sorted(object_versions(pipeline.emulation, bucket, prefix)) == sorted(
        f"{prefix}{symbol}.json" for symbol in watchlist
    )
    (job_run,) = job_runs_of(pipeline, result.name)
    assert job_run["JobRunState"] == "SUCCEEDED"

    summary = result.output["runSummary"]
    assert sorted(summary["bySymbol"]) == sorted(watchlist)
    for symbol in watchlist:
        assert summary["bySymbol"][symbol] == {
            "barsRead": 100,
            "barsQuarantined": 0,
            "rowsWritten": 100,
            "newRows": 100,
            "rowsUpdated": 0,
        }
    assert summary["rowsWritten"] == sum(f["rowsWritten"] for f in summary["bySymbol"].values()) == 500

    curated = rows_by_symbol(pipeline, watchlist, tmp_path)
    for symbol, rows in curated.items():
        assert len(rows) == 100 and {row["fetch_id"] for row in rows} == {result.name}
        last = max(rows, key=lambda row: row["ts"])
        assert last["close"] == pytest.approx(expected_close(symbol))  # its own bars, not another's


def test_the_watchlists_requests_are_paced_at_the_plans_rate(five_symbol_run):
    *_, result, _, waits = five_symbol_run
    slots = [datetime.fromisoformat(f["notBefore"]) for f in stock_fetches(result)]
    assert [(later - earlier).total_seconds() for earlier, later in pairwise(slots)] == [60 / RATE] * 4
    # Each iteration waited for its slot: the later the symbol, the longer (before the time scale).
    assert len(waits) >= 4
    longest = sorted(waits)[-4:]
    assert all(0.5 < later - earlier < 1.5 for earlier, later in pairwise(longest))


def stock_fetches(result) -> list[dict]:
    return state_output(result, "ValidateExecutionInput")["request"]["stockFetches"]


# ---------------------------------------------------------------- failures, one symbol at a time


def test_a_symbol_failing_within_the_tolerance_is_reported_by_name_and_the_rest_curated(stack, tmp_path):
    watchlist = symbols("T", 3)
    stack.standin.script(
        "alpha-vantage", ScriptedResponse.error(401, "rapidapi_401_invalid_key"), target=watchlist[1]
    )
    result = stack.run({"workflow": "etl", "symbols": watchlist})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    (failure,) = result.output["fetchFailures"]
    assert (failure["symbol"], failure["outcome"], failure["error"]) == (
        watchlist[1],
        "failed",
        "UpstreamAuthError",
    )
    assert "HTTP 401" in failure["cause"] and "Traceback" not in failure["cause"]
    assert sorted(result.output["runSummary"]["bySymbol"]) == sorted([watchlist[0], watchlist[2]])
    curated = rows_by_symbol(stack, watchlist, tmp_path)
    assert [len(curated[s]) for s in watchlist] == [100, 0, 100]

    (notification,) = stack.notifications.for_execution(result.execution_arn)
    assert notification.subject == "Stock data curated without 1 of 3 symbols"
    assert watchlist[1] in notification.message and "UpstreamAuthError" in notification.message


def test_more_failures_than_tolerated_fail_the_execution_by_name_after_curating_the_rest(stack, tmp_path):
    watchlist = symbols("F", 3)
    for symbol in watchlist[:2]:
        stack.standin.script(
            "alpha-vantage", ScriptedResponse.error(403, "rapidapi_403_not_subscribed"), target=symbol
        )
    result = stack.run({"workflow": "etl", "symbols": watchlist})

    assert (result.status, result.error) == ("FAILED", "UpstreamAuthError"), result.cause
    assert result.cause.startswith(
        "2 of 3 symbols failed for good, more than the 1 tolerated"
        " (template parameter ToleratedFetchFailures):"
        f' ["{watchlist[0]}","{watchlist[1]}"]. The others were curated.'
    )
    assert result.states_entered()[-3:] == [
        "RecordTooManyStockFetchFailures",
        "NotifyFailure",
        "ExecutionFailed",
    ]
    assert [len(rows) for rows in rows_by_symbol(stack, watchlist, tmp_path).values()] == [0, 0, 100]


def test_a_watchlist_of_which_nothing_is_fetched_fails_creating_nothing(stack):
    watchlist = symbols("N", 2)
    bucket = unique("never-created")
    stack.standin.script("alpha-vantage", *[ScriptedResponse.error(401, "rapidapi_401_invalid_key")] * 2)
    result = stack.run({"workflow": "etl", "symbols": watchlist, "batchBucketName": bucket})

    assert (result.status, result.error) == ("FAILED", "UpstreamAuthError"), result.cause
    assert result.cause.startswith(
        f'Nothing was fetched; every item failed: ["{watchlist[0]}","{watchlist[1]}"].'
        f" First, {watchlist[0]}: "
    )
    assert "RunStockDataGlueJob" not in result.states_entered()
    assert bucket not in {b["Name"] for b in stack.emulation.client("s3").list_buckets()["Buckets"]}
    assert job_runs_of(stack, result.name) == []


@contextmanager
def real_time_waits(scale: float) -> Iterator[None]:
    """Waits at `scale` (the tests' own makes a paced watchlist's requests all but simultaneous)."""
    previous = time_scale.settings.time_scale
    time_scale.configure(time_scale=scale)
    try:
        yield
    finally:
        time_scale.configure(time_scale=previous)


def test_the_daily_quota_fails_the_remaining_symbols_by_name_without_asking_again(stack):
    watchlist = symbols("Q", 3)
    quota = ScriptedResponse.http_200_error("http_200_information_rate_limit")
    stack.standin.script("alpha-vantage", *[quota] * 3)  # the quota stays used up all day
    # One request a second, waited in real time: one at a time, each in the container the last one used.
    stack.emulation.recycle_lambda_environments()
    with real_time_waits(1.0):
        stack.run({"workflow": "etl", "symbols": ["MSFT"]})  # a warm container first
        stack.standin.reset()
        stack.standin.script("alpha-vantage", *[quota] * 3)
        result = stack.run({"workflow": "etl", "symbols": watchlist})

    assert (result.status, result.error) == ("FAILED", "UpstreamQuotaExhaustedError"), result.cause
    failures = {f["symbol"]: f for f in fetch_failures(result)}
    assert sorted(failures) == sorted(watchlist)
    assert {f["error"] for f in failures.values()} == {"UpstreamQuotaExhaustedError"}
    asked = stack.requests("alpha-vantage")
    refused_unasked = [f for f in failures.values() if f["cause"].startswith("Not requested")]
    assert asked + len(refused_unasked) == 3 and refused_unasked, (asked, failures)


def fetch_failures(result) -> list[dict]:
    return state_output(result, "CountStockFetchFailures")["fetchFailures"]["failed"]


# ---------------------------------------------------------------- many countries


def test_three_countries_give_one_record_each_and_one_notification_listing_them(stack):
    stream = unique("countries")
    result = stack.run(
        {"workflow": "streaming", "countries": ["ae", "us", "gb"], "streamName": stream, "email": ""}
    )

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    records = result.output["records"]
    assert [r["country"] for r in records] == ["ae", "us", "gb"]
    for written in records:
        record = kinesis_record(stack.emulation, stream, written["shardId"], written["sequenceNumber"])
        assert (record["PartitionKey"], record["Data"]["country"]) == (written["country"], written["country"])
    assert len({r["sequenceNumber"] for r in records}) == 3
    assert stack.requests("streaming-availability") == 3

    (message,) = stack.notifications.for_execution(result.execution_arn)
    assert message.subject == "Subscription data written to Kinesis: 3 of 3 countries"
    assert json.loads(message.attributes["Countries"]) == ["ae", "us", "gb"]
    assert json.loads(message.attributes["ShardId"]) == [r["shardId"] for r in records]
    assert json.loads(message.attributes["SequenceNumber"]) == [r["sequenceNumber"] for r in records]


def test_an_unknown_country_within_the_tolerance_is_named_and_the_others_written(stack):
    result = stack.run(
        {"workflow": "streaming", "countries": ["zz", "ae"], "streamName": unique("c"), "email": ""}
    )

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert [r["country"] for r in result.output["records"]] == ["ae"]
    (failure,) = result.output["fetchFailures"]
    assert (failure["country"], failure["error"]) == ("zz", "InvalidInputError")
    (message,) = stack.notifications.for_execution(result.execution_arn)
    assert "for 1 of 2 countries" in message.message and '"country":"zz"' in message.message


# ---------------------------------------------------------------- overlapping executions


def test_eight_overlapping_executions_with_long_glue_runs_all_succeed_with_the_union_curated(stack, tmp_path):
    shared = symbols("O", 1)[0]
    own = symbols("P", 8)
    stack.emulation.require_glue_runner().slow_down(20)
    emulation = stack.emulation
    arns = [
        emulation.start_execution(stack.state_machine_arn, {"workflow": "etl", "symbols": [shared, mine]})
        for mine in own
    ]
    results = [emulation.wait_for_execution(arn, timeout=1200) for arn in arns]

    assert [r.status for r in results] == ["SUCCEEDED"] * 8, [(r.error, r.cause) for r in results]
    # One run each, every one at least 20 s, never two at once: the later ones were refused and waited.
    runs = sorted((job_runs_of(stack, r.name)[0] for r in results), key=lambda run: run["StartedOn"])
    assert all((run["CompletedOn"] - run["StartedOn"]).total_seconds() >= 20 for run in runs)
    assert all(later["StartedOn"] >= earlier["CompletedOn"] for earlier, later in pairwise(runs))
    refused = [e for r in results for state, e in task_failures(r) if state == "RunStockDataGlueJob"]
    assert set(refused) == {"Glue.ConcurrentRunsExceededException"} and len(refused) >= 7
    curated = rows_by_symbol(stack, [shared, *own], tmp_path)
    # The union: each execution's own symbol once, the shared one once per minute, no row lost.
    assert [len(curated[s]) for s in own] == [100] * 8
    assert len(curated[shared]) == 100 and len({row["ts"] for row in curated[shared]}) == 100
    # The newest fetch wins: the shared symbol's rows are the last-fetched execution's.
    newest = max(results, key=lambda r: raw_fetched_at(stack, r, shared))
    assert {row["fetch_id"] for row in curated[shared]} == {newest.name}


def raw_fetched_at(pipeline: Pipeline, result, symbol: str) -> str:
    bucket, prefix = result.output["rawObjects"].removeprefix("s3://").split("/", 1)
    body = pipeline.emulation.client("s3").get_object(Bucket=bucket, Key=f"{prefix}{symbol}.json")["Body"]
    return json.loads(body.read())["metadata"]["fetchedAt"]


# ---------------------------------------------------------------- a failed Glue run, curated later


def test_a_failed_glue_runs_raw_objects_are_kept_and_curated_by_the_next_run(stack, tmp_path):
    lost, later = symbols("L", 2), symbols("M", 1)
    stack.emulation.require_glue_runner().script_faults("fail", "fail")  # the run and its one retry
    failed = stack.run({"workflow": "etl", "symbols": lost})

    assert (failed.status, failed.error) == ("FAILED", "States.TaskFailed"), failed.cause
    entered = failed.states_entered()
    assert entered[-3:] == ["RecordGlueRunFailed", "NotifyFailure", "ExecutionFailed"]
    assert entered.count("PutPendingRawObject") == 2
    assert entered.index("RunStockDataGlueJob") < entered.index("KeepUncuratedRawObjects")
    assert "the next successful run curates them" in failed.cause
    pending = f"pending/stock_minute_bars/execution={failed.name}/"
    assert sorted(object_versions(stack.emulation, stack.data_bucket, pending)) == sorted(
        f"{pending}{symbol}.json" for symbol in lost
    )
    assert [len(rows) for rows in rows_by_symbol(stack, lost, tmp_path).values()] == [0, 0]

    result = stack.run({"workflow": "etl", "symbols": later})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    summary = result.output["runSummary"]
    assert summary["pendingRawObjectsCurated"] == 2
    assert sorted(summary["bySymbol"]) == sorted([*lost, *later])
    curated = rows_by_symbol(stack, [*lost, *later], tmp_path / "after")
    assert [len(curated[s]) for s in (*lost, *later)] == [100, 100, 100]
    # The kept bars keep the execution that fetched them.
    assert {row["fetch_id"] for s in lost for row in curated[s]} == {failed.name}
    assert object_versions(stack.emulation, stack.data_bucket, pending) == {}
