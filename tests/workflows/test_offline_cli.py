"""The offline command as a user runs it: `python -m offline_pipeline run|invoke` in a subprocess."""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from offline_pipeline.cli import Console, parse_fault, parse_parameters

REPO = Path(__file__).resolve().parents[2]
# The stand-in's key is 25 random bytes in hex; nothing else the CLI prints is exactly 50 hex digits.
STANDIN_KEY_SHAPE = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{50}(?![0-9a-fA-F])")


def offline(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SFN_MOCK_CONFIG", "OFFLINE_TIME_SCALE")
    }
    completed = subprocess.run(
        [sys.executable, "-m", "offline_pipeline", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )
    assert not STANDIN_KEY_SHAPE.search(completed.stdout + completed.stderr), "the RapidAPI key was printed"
    return completed


def summary_of(output: str) -> str:
    assert "\nSummary\n=======\n" in output, output
    return output.split("\nSummary\n=======\n", 1)[1]


def field(summary: str, label: str) -> list[str]:
    """Values of a summary line `  <label>  <value>` (one per execution)."""
    return re.findall(rf"^  {re.escape(label)} +(.+)$", summary, flags=re.MULTILINE)


@pytest.mark.spark
def test_the_default_run_completes_both_workflows_with_their_summary() -> None:
    completed = offline("run")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout
    # Progress while running: states with their durations, each iteration's by its item, the Glue step.
    watchlist = json.loads((REPO / "events/execution_etl_watchlist.json").read_text())["symbols"]
    countries = json.loads((REPO / "events/execution_streaming_countries.json").read_text())["countries"]
    assert (len(watchlist), len(countries)) == (5, 3)
    for symbol in watchlist:
        assert re.search(rf"^ +\d+\.\d\ds FetchStockData \[{symbol}\] +Task +\d+", output, flags=re.MULTILINE)
    assert "running the Glue script on local Spark" in output
    summary = summary_of(output)
    assert field(summary, "path") == ["etl", "streaming"]
    assert re.search(r"^ +500 rows in 5 Parquet files \(rows counted with DuckDB\)$", summary, re.MULTILINE)
    for symbol in watchlist:
        line = rf"\s{symbol}: 100 bars, raw [0-9.]+ KiB; written 100 \(new 100, updated 0\), quarantined 0$"
        assert re.search(line, summary, re.MULTILINE), symbol
        assert re.search(rf"^ +symbol={symbol}/trade_date=2023-10-27: 100 rows$", summary, re.MULTILINE)
    counts = r"^ +rows read 500, valid 500, written 500 \(new 500, updated 0, unchanged 0\)$"
    assert re.search(counts, summary, re.MULTILINE)
    for country in countries:
        assert re.search(
            rf"^ +{country}: shard id shardId-000000000000, sequence number \d+$", summary, re.MULTILINE
        )
    assert re.search(r"^ +United Arab Emirates: 4 services \(", summary, re.MULTILINE)
    assert re.search(r"^ +United Kingdom: 4 services \(", summary, re.MULTILINE)
    assert "Subject: Subscription data written to Kinesis: 3 of 3 countries" in summary
    # Each execution's estimated AWS cost: the ETL one with its Glue run at the one-minute minimum.
    estimates = re.findall(
        r"^  AWS cost +\$(\d+\.\d{4}), an estimate at us-east-1 list prices of", summary, re.M
    )
    assert len(estimates) == 2 and float(estimates[0]) > float(estimates[1]) > 0
    assert "Glue 1 run(s), 120 DPU-s (Flex, at least 60 s each)" in summary
    assert re.search(r"^ +Kinesis 3 PUT payload units", summary, re.MULTILINE)
    assert "received by an SQS queue subscribed to the topic" in summary
    assert output.rstrip().endswith("2 of 2 executions succeeded.")


@pytest.mark.spark
def test_parallel_inputs_start_at_once_and_queue_for_slow_glue_runs(tmp_path) -> None:
    inputs = []
    for number, symbol in enumerate(("PARA", "PARB"), start=1):
        path = tmp_path / f"watchlist{number}.json"
        path.write_text(json.dumps({"workflow": "etl", "symbols": ["MSFT", symbol]}))
        inputs += ["--input", str(path)]
    completed = offline("run", "--parallel", "--fault", "glue=slow:3", *inputs)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout
    assert "2 executions started at once; each line is marked with its number" in output
    # Both ran side by side: each one's progress lines begin before the other's end.
    lines = output.splitlines()
    first = [i for i, line in enumerate(lines) if line.startswith("[1]")]
    second = [i for i, line in enumerate(lines) if line.startswith("[2]")]
    assert min(second) < max(first) and min(first) < max(second)
    # One Glue run at a time: whichever came second was refused and retried until the first had ended.
    assert "Glue.ConcurrentRunsExceededException" in output
    summary = summary_of(output)
    assert re.search(r"\sPARA: 100 bars", summary)
    assert re.search(r"\sPARB: 100 bars", summary)
    assert output.rstrip().endswith("2 of 2 executions succeeded.")


@pytest.mark.spark
def test_the_original_input_runs_unchanged() -> None:
    completed = offline("run", "--input", "events/execution_original.json")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = summary_of(completed.stdout)
    assert field(summary, "input") == ["events/execution_original.json"]
    assert field(summary, "path")[0] in ("etl", "streaming")  # States.MathRandom(1, 3) chooses
    assert completed.stdout.rstrip().endswith("1 of 1 executions succeeded.")


def test_a_fault_that_fails_the_workflow_exits_non_zero_naming_the_error() -> None:
    completed = offline("run", "--input", "events/execution_etl.json", "--fault", "alpha-vantage=401")

    assert completed.returncode == 1, completed.stdout + completed.stderr
    summary = summary_of(completed.stdout)
    assert summary.splitlines()[1].endswith(": FAILED")
    assert field(summary, "failed at") == ["FetchStockData"]
    assert field(summary, "error") == ["UpstreamAuthError"]
    assert field(summary, "cause")[0].startswith(
        'Nothing was fetched; every item failed: ["MSFT"]. First, MSFT: UpstreamAuthError:'
        " alpha-vantage refused the RapidAPI key (HTTP 401"
    )
    assert "Subject: Data pipeline execution failed: UpstreamAuthError" in summary
    assert field(summary, "path") == ["etl"]  # read from the function it invoked: no output on failure
    assert field(summary, "S3") == ["nothing written (the execution failed before writing to S3)"]
    assert completed.stdout.rstrip().endswith("0 of 1 executions succeeded.")


def test_inputs_that_are_not_objects_or_break_a_rule_are_refused_by_name(tmp_path) -> None:
    not_an_object = tmp_path / "string.json"
    not_an_object.write_text('"etl"')
    bad_stream = tmp_path / "stream.json"
    bad_stream.write_text(json.dumps({"workflow": "streaming", "streamName": "my stream"}))
    completed = offline("run", "--input", str(not_an_object), "--input", str(bad_stream))

    assert completed.returncode == 1, completed.stdout + completed.stderr
    summary = summary_of(completed.stdout)
    assert field(summary, "failed at") == ["ValidateExecutionInput"] * 2
    assert field(summary, "error") == ["InvalidInputError"] * 2
    causes = field(summary, "cause")
    assert causes[0].endswith("got a JSON string.")
    assert causes[1].startswith("Field 'streamName': 'my stream' breaks the Kinesis stream-name rule")
    assert field(summary, "states entered") == ["2", "2"]
    assert field(summary, "path") == ["none (the execution failed before fetching)"] * 2


def test_a_transient_fault_is_retried_and_shown() -> None:
    completed = offline(
        "run", "--input", "events/execution_streaming.json", "--fault", "streaming-availability=503x2"
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("! FetchSubscriptionData [ae] failed: UpstreamUnavailableError") == 2
    retried = r"FetchSubscriptionData \[ae\] +Task +\S+ \S+ +retried 2x$"
    assert re.search(retried, completed.stdout, re.MULTILINE)
    summary = summary_of(completed.stdout)
    assert field(summary, "retries") == ["FetchSubscriptionData 2x after UpstreamUnavailableError (2 times)"]


def test_invoke_runs_the_real_handler_and_prints_its_payload() -> None:
    completed = offline("invoke", "FetchStockDataFunction", "--event", "events/fetch_stock_data.json")

    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert payload["metadata"]["barCount"] == 100
    assert len(payload["timeSeries"]) == 100
    assert "---- function logs ----" in completed.stderr
    assert '"message":"Fetched stock data"' in completed.stderr


def test_invoke_with_a_bad_event_prints_the_error_and_exits_non_zero() -> None:
    completed = offline("invoke", "FetchStockDataFunction", "--event", "-", stdin='{"symbol": ""}')

    assert completed.returncode == 1, completed.stderr
    error = json.loads(completed.stdout)
    assert error["errorType"] == "InvalidInputError"
    assert error["errorMessage"].startswith("Invalid event: field 'symbol'")
    assert "FetchStockDataFunction failed: InvalidInputError" in completed.stderr


def test_usage_errors_exit_2_before_starting_anything() -> None:
    unknown_function = offline("invoke", "NoSuchFunction", "--event", "events/fetch_stock_data.json")
    assert unknown_function.returncode == 2
    assert "choose one of FetchStockDataFunction, FetchSubscriptionDataFunction" in unknown_function.stderr

    missing_input = offline("run", "--input", "events/no_such_file.json")
    assert missing_input.returncode == 2
    assert "input file events/no_such_file.json" in missing_input.stderr

    bad_fault = offline("run", "--fault", "alpha-vantage=teapot")
    assert bad_fault.returncode == 2
    assert "unknown fault 'teapot'" in bad_fault.stderr

    names_unpaired = offline("run", "--input", "events/execution_etl.json", "--name", "a", "--name", "b")
    assert names_unpaired.returncode == 2
    assert "--name given 2 times for 1 inputs" in names_unpaired.stderr


def test_requests_start_execution_refuses_print_one_line_each_and_exit_2(tmp_path) -> None:
    oversize = tmp_path / "oversize.json"
    oversize.write_text(json.dumps({"workflow": "streaming", "padding": "x" * 262_144}))
    streaming = REPO / "events" / "execution_streaming.json"
    completed = offline(
        "run",
        *("--input", str(oversize), "--name", "oversize-input"),
        *("--input", str(streaming), "--name", "has space"),  # Step Functions refuses whitespace
        *("--input", str(streaming), "--name=-" + "n" * 79),  # 80 characters, leading "-": accepted
    )

    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: StartExecution refused {oversize}: ValidationException: 1 validation error detected:"
        " Value at 'input' failed to satisfy constraint: Member must have length less than or equal to"
        " 262144",
        "error: StartExecution refused events/execution_streaming.json: InvalidName: Invalid Name:"
        " 'has space'",
    ]
    summary = summary_of(completed.stdout)
    assert field(summary, "path") == ["streaming"]  # the accepted input still ran
    assert "1 of 1 executions succeeded." in completed.stdout


def test_a_bad_parameter_override_is_refused_by_the_deployer() -> None:
    completed = offline(
        "invoke",
        "FetchStockDataFunction",
        "-e",
        "events/fetch_stock_data.json",
        "--parameter-overrides",
        "StockSymbols=not-a-symbol!",
    )
    assert completed.returncode == 2
    assert "parameter StockSymbols='not-a-symbol!' does not match" in completed.stderr


# ---------------------------------------------------------------- pieces, in process


@pytest.mark.parametrize(
    ("text", "count", "status", "delay"),
    [
        ("alpha-vantage=429", 1, 429, 0.0),
        ("streaming-availability=500x5", 5, 500, 0.0),
        ("alpha-vantage=timeout", 1, 200, 11.0),
        ("alpha-vantage=limit", 1, 200, 0.0),
    ],
)
def test_faults_parse_into_scripted_answers(text, count, status, delay) -> None:
    fault = parse_fault(text)
    assert len(fault.responses) == count
    assert {(r.status, r.delay_seconds) for r in fault.responses} == {(status, delay)}


@pytest.mark.parametrize(
    "text",
    [
        "alpha=429",
        "alpha-vantage",
        "alpha-vantage=200",
        "streaming-availability=limit",
        "alpha-vantage=429x0",
        "glue=slow",
        "glue=slow:",
        "glue=slow:-1",
        "glue=slow:ten",
        "glue=slow:3601",
    ],
)
def test_bad_faults_are_refused(text) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_fault(text)


@pytest.mark.parametrize(
    ("text", "api", "target"),
    [
        ("alpha-vantage:AAPL=401", "alpha-vantage", "AAPL"),
        ("streaming-availability:gb=500x2", "streaming-availability", "gb"),
    ],
)
def test_a_fault_for_one_item_scripts_only_that_items_calls(text, api, target) -> None:
    fault = parse_fault(text)
    assert (fault.api, fault.target) == (api, target)
    assert parse_fault(text.replace(f":{target}", "")).target is None


@pytest.mark.parametrize("text", ["glue:x=fail", "alpha-vantage:=401", "alpha-vantage:MS/FT=401"])
def test_a_bad_item_fault_is_refused(text) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_fault(text)


@pytest.mark.parametrize(("text", "seconds"), [("glue=slow:20", 20.0), ("glue=slow:2.5", 2.5)])
def test_a_slow_glue_fault_sets_every_runs_least_length(text, seconds) -> None:
    fault = parse_fault(text)
    assert (fault.api, fault.responses, fault.glue_faults, fault.glue_minimum_seconds) == (
        None,
        (),
        (),
        seconds,
    )


def test_parameter_overrides_take_sam_style_pairs() -> None:
    assert parse_parameters(["StockSymbols=AAPL,MSFT CountryCodes=us", "NotificationEmail="]) == {
        "StockSymbols": "AAPL,MSFT",
        "CountryCodes": "us",
        "NotificationEmail": "",
    }


def test_the_console_never_shows_a_hidden_secret(capsys) -> None:
    console = Console()
    console.hide("s3cr3t-key")
    console.out("sent s3cr3t-key to the stand-in")
    console.err("error with s3cr3t-key")
    captured = capsys.readouterr()
    assert captured.out == "sent *** to the stand-in\n"
    assert captured.err == "error with ***\n"


# ---------------------------------------------------------------- fault scenarios


@pytest.mark.parametrize("secret", ["unset", "empty", "placeholder"])
def test_a_secret_without_a_key_is_named_with_how_to_set_it(secret) -> None:
    completed = offline(
        "invoke",
        "FetchSubscriptionDataFunction",
        "-e",
        "events/fetch_subscription_data.json",
        "--secret",
        secret,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "RapidApiKeyNotSetError" in completed.stderr
    assert "put-secret-value" in completed.stderr


@pytest.mark.parametrize(("fault", "state"), [("glue=failx2", "FAILED"), ("glue=timeoutx2", "TIMEOUT")])
def test_a_glue_fault_fails_the_etl_workflow_after_its_retry(fault, state) -> None:
    completed = offline("run", "--input", "events/execution_etl.json", "--fault", fault)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    summary = summary_of(completed.stdout)
    assert field(summary, "failed at") == ["RunStockDataGlueJob"]
    assert field(summary, "error") == ["States.TaskFailed"]
    assert "RunStockDataGlueJob 1x after States.TaskFailed" in summary
    assert f'"JobRunState": "{state}"' in completed.stdout + json.dumps(field(summary, "cause"))


def test_a_mock_test_case_drives_the_streams_readiness_loop() -> None:
    completed = offline(
        "run", "--input", "events/execution_streaming.json", "--test-case", "StreamActiveAfterTwoChecks"
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "test case StreamActiveAfterTwoChecks of statemachine/mock_config.json" in completed.stdout
    assert len(re.findall(r"^ +\d+\.\d\ds WaitForStreamActive ", completed.stdout, re.MULTILINE)) == 2


def test_a_mock_test_case_shows_the_too_many_buckets_limit() -> None:
    completed = offline("run", "--input", "events/execution_etl.json", "--test-case", "TooManyBuckets")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert field(summary_of(completed.stdout), "error") == ["BucketListTooLargeError"]


def test_an_unknown_test_case_is_a_usage_error() -> None:
    completed = offline("run", "--test-case", "NoSuchCase")
    assert completed.returncode == 2
    assert "no test case 'NoSuchCase'" in completed.stderr
    assert "Starting the AWS emulation" not in completed.stdout  # refused before anything started
