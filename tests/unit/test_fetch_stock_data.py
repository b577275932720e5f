"""FetchStockDataFunction against the local RapidAPI stand-in, with the key in emulated Secrets Manager."""

import json

import pytest

from offline_runtime.rapidapi_standin import ScriptedResponse
from rapidapi import (
    InvalidInputError,
    InvalidUpstreamResponseError,
    RapidApiKeyNotSetError,
    UpstreamAuthError,
    UpstreamRateLimitError,
    UpstreamUnavailableError,
)
from tests.unit.conftest import load_handler

EVENT = {"symbol": "MSFT", "executionId": "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"}


def test_returns_the_minute_bars_as_upstream_strings(stock_handler, context, reference):
    result = stock_handler.lambda_handler(EVENT, context)

    upstream = reference("alpha_vantage_intraday_compact.json")["Time Series (1min)"]
    assert result["metadata"]["barCount"] == len(result["timeSeries"]) == 100
    assert result["metadata"]["symbol"] == "MSFT"
    assert result["metadata"]["timeZone"] == "US/Eastern"
    assert result["metadata"]["lastRefreshed"] == "2023-10-27 19:59:00"
    assert result["timeSeries"]["2023-10-27 19:59:00"] == {
        "open": "329.9500",
        "high": "330.0000",
        "low": "329.8100",
        "close": "329.8100",
        "volume": "669",
    }
    assert set(result["timeSeries"]) == set(upstream)
    assert result["metadata"]["fetchedAt"].endswith("Z")


def test_asks_alpha_vantage_for_compact_1min_bars_of_the_upper_cased_symbol(stock_handler, context, standin):
    result = stock_handler.lambda_handler({"symbol": "msft"}, context)

    (request,) = standin.requests_to("alpha-vantage")
    assert request.query == {
        "function": ["TIME_SERIES_INTRADAY"],
        "symbol": ["MSFT"],
        "interval": ["1min"],
        "outputsize": ["compact"],
        "datatype": ["json"],
    }
    assert request.headers["X-RapidAPI-Host"] == "alpha-vantage.p.rapidapi.com"
    assert request.key_matched
    assert result["metadata"]["symbol"] == "MSFT"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "symbol"),
        ({"symbol": "not a symbol!"}, "symbol"),
        ({"symbol": "MSFT", "interval": "2min"}, "interval"),
        ({"symbol": 42}, "symbol"),
    ],
)
def test_invalid_event_names_the_field(stock_handler, context, standin, event, field):
    with pytest.raises(InvalidInputError, match=f"field '{field}'"):
        stock_handler.lambda_handler(event, context)
    assert standin.requests == []


def test_non_object_event_is_invalid_input(stock_handler, context):
    with pytest.raises(InvalidInputError, match="JSON object"):
        stock_handler.lambda_handler(["MSFT"], context)


@pytest.mark.parametrize(
    ("scripted", "error", "message"),
    [
        (ScriptedResponse.error(403, "rapidapi_403_not_subscribed"), UpstreamAuthError, "not subscribed"),
        (ScriptedResponse.error(429, "rapidapi_429_quota"), UpstreamRateLimitError, "MONTHLY quota"),
        (ScriptedResponse(status=500, body={"message": "boom"}), UpstreamUnavailableError, "HTTP 500"),
        (ScriptedResponse(status=503, body="Service Unavailable"), UpstreamUnavailableError, "HTTP 503"),
        (ScriptedResponse.malformed(), InvalidUpstreamResponseError, "not JSON"),
        (
            ScriptedResponse.http_200_error("http_200_error_message"),
            InvalidUpstreamResponseError,
            "Invalid API call",
        ),
        (
            ScriptedResponse.http_200_error("http_200_information_rate_limit"),
            InvalidUpstreamResponseError,
            "25 requests",
        ),
        (
            ScriptedResponse.http_200_error("http_200_note_legacy_rate_limit"),
            InvalidUpstreamResponseError,
            "5 calls",
        ),
        (
            ScriptedResponse(status=200, body={"Meta Data": {}}),
            InvalidUpstreamResponseError,
            "unexpected shape",
        ),
        (ScriptedResponse(status=200, body=[1, 2]), InvalidUpstreamResponseError, "not a JSON object"),
        (ScriptedResponse(status=400, body={"message": "bad"}), InvalidUpstreamResponseError, "HTTP 400"),
    ],
)
def test_upstream_failures_become_named_errors(stock_handler, context, standin, scripted, error, message):
    standin.script("alpha-vantage", scripted)
    with pytest.raises(error, match=message):
        stock_handler.lambda_handler(EVENT, context)


def test_a_wrong_key_is_an_authentication_error(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name="rapidapi-key", SecretString="not-the-key")["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(UpstreamAuthError, match="HTTP 401"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)


def test_read_timeout_is_upstream_unavailable(stock_handler, context, standin, monkeypatch):
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT_SECONDS", "0.2")
    standin.script("alpha-vantage", ScriptedResponse.slow(1.0))
    with pytest.raises(UpstreamUnavailableError, match="did not answer"):
        stock_handler.lambda_handler(EVENT, context)


def test_connection_refused_is_upstream_unavailable(stock_handler, context, monkeypatch):
    monkeypatch.setenv("ALPHA_VANTAGE_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(UpstreamUnavailableError, match="Could not connect"):
        stock_handler.lambda_handler(EVENT, context)


def test_recovers_after_a_rate_limit(stock_handler, context, standin):
    standin.script("alpha-vantage", ScriptedResponse.error(429, "rapidapi_429_quota"))
    with pytest.raises(UpstreamRateLimitError):
        stock_handler.lambda_handler(EVENT, context)
    assert stock_handler.lambda_handler(EVENT, context)["metadata"]["barCount"] == 100


def test_empty_time_series_is_a_valid_fetch(stock_handler, context, standin, reference):
    body = reference("alpha_vantage_intraday_compact.json")
    body["Time Series (1min)"] = {}
    standin.script("alpha-vantage", ScriptedResponse(body=body, status=200))
    result = stock_handler.lambda_handler(EVENT, context)
    assert result["metadata"]["barCount"] == 0
    assert result["timeSeries"] == {}


def test_refuses_a_result_too_large_for_a_workflow_state(stock_handler, context, standin, reference):
    body = reference("alpha_vantage_intraday_compact.json")
    bar = next(iter(body["Time Series (1min)"].values()))
    body["Time Series (1min)"] = {f"2023-10-{day:02d} {minute // 60:02d}:{minute % 60:02d}:00": bar
                                  for day in range(1, 5) for minute in range(600)}  # fmt: skip
    standin.script("alpha-vantage", ScriptedResponse(body=body))
    with pytest.raises(InvalidUpstreamResponseError, match="over the 204800-byte budget"):
        stock_handler.lambda_handler(EVENT, context)


def test_secret_without_a_value_says_how_to_set_it(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name="rapidapi-key")["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyNotSetError, match="aws secretsmanager put-secret-value --secret-id"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)
    assert standin.requests == []


def test_blank_secret_is_not_a_key(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name="rapidapi-key", SecretString="   ")["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyNotSetError, match="is empty"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)


def test_missing_secret_setting_is_reported(aws, standin, context, monkeypatch):
    monkeypatch.delenv("RAPIDAPI_KEY_SECRET_ARN", raising=False)
    with pytest.raises(RapidApiKeyNotSetError, match="RAPIDAPI_KEY_SECRET_ARN is not set"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)


def test_logs_and_metrics_carry_no_key_but_the_correlation_id(
    capsys, log_stream, stock_handler, context, standin, stored_key
):
    stock_handler.lambda_handler(EVENT, context)
    standin.script("alpha-vantage", ScriptedResponse.error(429, "rapidapi_429_quota"))
    with pytest.raises(UpstreamRateLimitError):
        stock_handler.lambda_handler(EVENT, context)

    printed = capsys.readouterr().out + log_stream.getvalue()
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    output = json.dumps(lines)
    assert stored_key not in output
    logs = [line for line in lines if line.get("message") == "Fetched stock data"]
    assert logs and logs[0]["correlation_id"] == EVENT["executionId"]
    metric_names = {
        metric["Name"]
        for line in lines
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in directive["Metrics"]
    }
    assert {"BarsFetched", "UpstreamLatency", "UpstreamErrors"} <= metric_names
    error_metric = next(line for line in lines if "UpstreamErrors" in line)
    assert error_metric["ErrorKind"] == "RateLimit"
    assert error_metric["Api"] == "alpha-vantage"
