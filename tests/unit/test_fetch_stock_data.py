"""FetchStockDataFunction against the local RapidAPI stand-in, with the key in emulated Secrets Manager."""

import json
import logging
import os

import pytest
from emulation_helpers import unique

from offline_pipeline.rapidapi_standin import ScriptedResponse
from rapidapi import (
    InvalidInputError,
    InvalidUpstreamResponseError,
    RapidApiKeyMalformedError,
    RapidApiKeyNotSetError,
    UpstreamAuthError,
    UpstreamQuotaExhaustedError,
    UpstreamRateLimitError,
    UpstreamRequestError,
    UpstreamUnavailableError,
)
from tests.unit.conftest import REPO, SERVICE, emitted, load_handler, metric_names

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

EVENT = {"symbol": "MSFT", "executionId": "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"}
SERIES = "Time Series (1min)"


def test_returns_the_minute_bars_as_upstream_strings(stock_handler, context, reference):
    result = stock_handler.lambda_handler(EVENT, context)

    upstream = reference("alpha_vantage_intraday_compact.json")[SERIES]
    assert set(result) == {"metadata", "timeSeries"}
    metadata = result["metadata"]
    assert list(metadata) == [
        "symbol",
        "interval",
        "timeZone",
        "lastRefreshed",
        "barCount",
        "fetchedAt",
        "fetchId",
        "source",
    ]
    assert metadata["barCount"] == len(result["timeSeries"]) == 100
    assert (metadata["symbol"], metadata["interval"], metadata["source"]) == ("MSFT", "1min", "alpha-vantage")
    assert (metadata["timeZone"], metadata["lastRefreshed"]) == ("US/Eastern", "2023-10-27 19:59:00")
    assert result["timeSeries"]["2023-10-27 19:59:00"] == {
        "open": "329.9500",
        "high": "330.0000",
        "low": "329.8100",
        "close": "329.8100",
        "volume": "669",
    }
    assert set(result["timeSeries"]) == set(upstream)
    assert len(metadata["fetchedAt"]) == len("2026-11-21T10:00:00.123Z") and metadata["fetchedAt"][-1] == "Z"
    json.dumps(result)  # the state machine stores it as is


def test_asks_alpha_vantage_for_compact_bars_of_the_upper_cased_symbol(stock_handler, context, standin):
    result = stock_handler.lambda_handler({"symbol": "msft", "unrelated": 1}, context)

    (request,) = standin.requests_to("alpha-vantage")
    assert request.path == "/query"
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


def test_other_intervals_read_their_own_series(stock_handler, context, standin):
    result = stock_handler.lambda_handler({"symbol": "BRK.B", "interval": "5min"}, context)

    (request,) = standin.requests_to("alpha-vantage")
    assert request.query["interval"] == ["5min"]
    assert (result["metadata"]["symbol"], result["metadata"]["interval"]) == ("BRK.B", "5min")
    assert result["metadata"]["barCount"] == 100


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "field 'symbol': Field required, expected 1-10 characters of A-Z"),
        ({"symbol": "not a symbol!"}, "field 'symbol': 'NOT A SYMBOL!' breaks the stock-symbol rule"),
        (
            {"symbol": "ABCDEFGHIJK"},
            "field 'symbol': 'ABCDEFGHIJK' breaks the stock-symbol rule: 1-10 characters",
        ),
        ({"symbol": 42}, "field 'symbol': Input should be a valid string"),
        ({"symbol": "MSFT", "interval": "2min"}, "field 'interval'.*got '2min'.*expected one of 1min, 5min"),
        ({"symbol": "MSFT", "executionId": 7}, "field 'executionId'"),
    ],
)
def test_invalid_event_names_the_field_and_what_was_expected(stock_handler, context, standin, event, message):
    with pytest.raises(InvalidInputError, match=message):
        stock_handler.lambda_handler(event, context)
    assert standin.requests == []


def test_non_object_event_is_invalid_input(stock_handler, context):
    with pytest.raises(InvalidInputError, match="must be a JSON object, got list"):
        stock_handler.lambda_handler(["MSFT"], context)


def _bad_bar() -> dict:
    return {
        "Meta Data": {
            "2. Symbol": "MSFT",
            "3. Last Refreshed": "2023-10-27 19:59:00",
            "4. Interval": "1min",
            "6. Time Zone": "US/Eastern",
        },
        SERIES: {"2023-10-27 19:59:00": {"1. open": 329.95}},
    }


@pytest.mark.parametrize(
    ("scripted", "error", "message"),
    [
        (
            ScriptedResponse.error(403, "rapidapi_403_not_subscribed"),
            UpstreamAuthError,
            r"HTTP 403: You are not subscribed",
        ),
        (
            ScriptedResponse.error(429, "rapidapi_429_quota"),
            UpstreamRateLimitError,
            "HTTP 429: .*MONTHLY quota",
        ),
        (ScriptedResponse.status_only(500), UpstreamUnavailableError, "HTTP 500"),
        (ScriptedResponse(status=503, body="Service Unavailable"), UpstreamUnavailableError, "HTTP 503"),
        (ScriptedResponse.malformed(), InvalidUpstreamResponseError, "body that is not JSON"),
        (
            ScriptedResponse.http_200_error("http_200_error_message"),
            InvalidUpstreamResponseError,
            "'Error Message': Invalid API call",
        ),
        (
            ScriptedResponse.http_200_error("http_200_information_rate_limit"),
            UpstreamQuotaExhaustedError,
            "'Information': .*25 requests per day.*daily quota is used up",
        ),
        (
            ScriptedResponse.http_200_error("http_200_note_legacy_rate_limit"),
            UpstreamRateLimitError,
            "'Note': .*5 calls per minute.*per-minute limit; retried",
        ),
        (
            ScriptedResponse(body={"Information": "This is a premium endpoint."}),
            InvalidUpstreamResponseError,
            "'Information': This is a premium endpoint",
        ),
        (
            ScriptedResponse(body={"Meta Data": {}}),
            InvalidUpstreamResponseError,
            r"lacks 'Time Series \(1min\)'",
        ),
        (
            ScriptedResponse(body=_bad_bar()),
            InvalidUpstreamResponseError,
            r"unexpected shape: '2023-10-27 19:59:00\.1\. open': Input should be a valid string",
        ),
        (ScriptedResponse(body=[1, 2]), InvalidUpstreamResponseError, "answered list, not a JSON object"),
        (
            ScriptedResponse(status=400, body={"message": "bad"}),
            InvalidUpstreamResponseError,
            "HTTP 400: bad",
        ),
    ],
)
def test_upstream_failures_become_named_errors(
    stock_handler, context, standin, stored_key, scripted, error, message
):
    standin.script("alpha-vantage", scripted)
    with pytest.raises(error, match=message) as raised:
        stock_handler.lambda_handler(EVENT, context)
    assert stored_key not in str(raised.value)


def test_a_wrong_key_is_an_authentication_error(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name=unique("rapidapi-key"), SecretString="not-the-key")["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(UpstreamAuthError, match="HTTP 401: Invalid API key"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)
    assert not standin.requests[0].key_matched


def test_read_timeout_is_upstream_unavailable(stock_handler, context, standin, monkeypatch):
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT_SECONDS", "0.2")
    standin.script("alpha-vantage", ScriptedResponse.slow(1.0))
    with pytest.raises(UpstreamUnavailableError, match=r"did not answer within \(3.05, 0.2\) s"):
        stock_handler.lambda_handler(EVENT, context)


def test_connection_refused_is_upstream_unavailable(stock_handler, context, monkeypatch, closed_port):
    monkeypatch.setenv("ALPHA_VANTAGE_BASE_URL", f"http://127.0.0.1:{closed_port}")
    with pytest.raises(UpstreamUnavailableError, match="Could not connect to alpha-vantage"):
        stock_handler.lambda_handler(EVENT, context)


def test_scripted_faults_are_played_once_then_normal_answers_resume(stock_handler, context, standin):
    standin.script(
        "alpha-vantage",
        ScriptedResponse.error(429, "rapidapi_429_quota"),
        ScriptedResponse.status_only(503),
    )
    with pytest.raises(UpstreamRateLimitError):
        stock_handler.lambda_handler(EVENT, context)
    with pytest.raises(UpstreamUnavailableError):
        stock_handler.lambda_handler(EVENT, context)
    assert stock_handler.lambda_handler(EVENT, context)["metadata"]["barCount"] == 100


def test_empty_time_series_is_a_valid_fetch(stock_handler, context, standin, reference):
    body = reference("alpha_vantage_intraday_compact.json")
    body[SERIES] = {}
    standin.script("alpha-vantage", ScriptedResponse(body=body))
    result = stock_handler.lambda_handler(EVENT, context)
    assert result["metadata"]["barCount"] == 0
    assert result["timeSeries"] == {}


def test_values_stay_strings_even_when_they_do_not_parse(stock_handler, context, standin, reference):
    body = reference("alpha_vantage_intraday_compact.json")
    body[SERIES]["2023-10-27 19:59:00"]["5. volume"] = "n/a"
    standin.script("alpha-vantage", ScriptedResponse(body=body))
    result = stock_handler.lambda_handler(EVENT, context)
    assert result["timeSeries"]["2023-10-27 19:59:00"]["volume"] == "n/a"  # the Glue job quarantines it


def test_refuses_a_result_too_large_for_a_workflow_state(stock_handler, context, standin, reference):
    body = reference("alpha_vantage_intraday_compact.json")
    bar = next(iter(body[SERIES].values()))
    body[SERIES] = {
        f"2023-10-{day:02d} {m // 60:02d}:{m % 60:02d}:00": bar for day in (1, 2, 3) for m in range(900)
    }
    standin.script("alpha-vantage", ScriptedResponse(body=body))
    with pytest.raises(InvalidUpstreamResponseError, match="over the 204800-byte budget"):
        stock_handler.lambda_handler(EVENT, context)


def test_a_broken_off_answer_is_upstream_unavailable(stock_handler, context, standin, stored_key):
    standin.script("alpha-vantage", ScriptedResponse.cut_off())
    with pytest.raises(UpstreamUnavailableError, match="connection broke: ChunkedEncodingError") as raised:
        stock_handler.lambda_handler(EVENT, context)
    assert raised.value.__suppress_context__  # the traceback Lambda reports shows requests' error nowhere
    assert stored_key not in str(raised.value)


def test_a_request_that_cannot_be_built_is_named_and_quotes_nothing(stock_handler, context, monkeypatch):
    monkeypatch.setenv("ALPHA_VANTAGE_BASE_URL", "http://[::1")  # requests: InvalidURL, quoting the URL
    with pytest.raises(UpstreamRequestError, match=r"could not be sent as built \(InvalidURL\)") as raised:
        stock_handler.lambda_handler(EVENT, context)
    assert "[::1" not in str(raised.value)


# Values a key is stored with by mistake: its text followed or preceded by what a paste or a file adds.
MALFORMED_KEYS = {
    "CR at the end": ("{key}\r", "it ends with a carriage return (U+000D)"),
    "LF at the end": ("{key}\n", "it ends with a line feed (U+000A)"),
    "CRLF at the end": ("{key}\r\n", "it has a carriage return (U+000D) at character 51 of 52"),
    "LF inside": ("{key}\nX-Other: 1", "it has a line feed (U+000A) at character 51 of 61"),
    "NUL inside": ("{half}\x00{half}", "it has a character (U+0000) at character 26 of 51"),
    "tab at the start": ("\t{key}", "it starts with a tab (U+0009)"),
    "space at the start": (" {key}", "it starts with a space (U+0020)"),
    "spaces at the end": ("{key}  ", "it has a space (U+0020) at character 51 of 52"),
    "a space inside": ("{half} {half}", "it has a space (U+0020) at character 26 of 51"),
    "non-ASCII": ("{key}\u00a0", "it ends with a character (U+00A0)"),
}


@pytest.mark.parametrize("stored", MALFORMED_KEYS.values(), ids=MALFORMED_KEYS.keys())
def test_a_key_stored_with_whitespace_or_control_characters_is_refused_unquoted(
    aws, standin, context, monkeypatch, capsys, log_stream, stored
):
    template, problem = stored
    key = standin.api_key  # 50 characters
    value = template.format(key=key, half=key[:25])
    arn = aws.create_secret(Name=unique("rapidapi-key"), SecretString=value)["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyMalformedError) as raised:
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)

    message = str(raised.value)
    assert f"Secret {arn} cannot be a RapidAPI key: {problem}" in message
    assert f"put-secret-value --secret-id {arn}" in message
    assert isinstance(raised.value, RapidApiKeyNotSetError)  # routed as a key not set
    assert standin.requests == []  # refused before any request
    printed = json.dumps(emitted(capsys, log_stream))
    for text in (key, key[:25], key[25:]):
        assert text not in message
        assert text not in printed


def test_secret_without_a_value_says_how_to_set_it(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name=unique("rapidapi-key"))["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    expected = f"aws secretsmanager put-secret-value --secret-id {arn} --secret-string <your RapidAPI key>"
    with pytest.raises(RapidApiKeyNotSetError, match="has no value yet") as raised:
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)
    assert expected in str(raised.value)
    assert standin.requests == []


def test_unknown_secret_says_how_to_set_it(aws, standin, context, monkeypatch):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:never-created-AbCdEf"
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyNotSetError, match="does not exist or has no value yet"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)


def test_blank_secret_is_not_a_key(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name=unique("rapidapi-key"), SecretString="   ")["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyNotSetError, match=f"Secret {arn} is empty.*put-secret-value"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)
    assert standin.requests == []


def test_missing_secret_setting_is_reported(aws, standin, context):
    with pytest.raises(RapidApiKeyNotSetError, match="RAPIDAPI_KEY_SECRET_ARN is not set"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)


def test_the_key_is_read_once_per_container(stock_handler, context, aws, standin, monkeypatch):
    stock_handler.lambda_handler(EVENT, context)
    # A rotated secret reaches warm containers only when the cache expires; cold ones read it at once.
    aws.put_secret_value(SecretId=os.environ["RAPIDAPI_KEY_SECRET_ARN"], SecretString="rotated-elsewhere")
    stock_handler.lambda_handler(EVENT, context)
    assert all(request.key_matched for request in standin.requests)


def test_logs_and_metrics_carry_no_key_but_the_correlation_id(
    capsys, log_stream, stock_handler, context, standin, stored_key
):
    logging.getLogger(SERVICE).setLevel(logging.DEBUG)  # even the most verbose level must not show it
    stock_handler.lambda_handler(EVENT, context)
    standin.script("alpha-vantage", ScriptedResponse.error(429, "rapidapi_429_quota"))
    with pytest.raises(UpstreamRateLimitError):
        stock_handler.lambda_handler(EVENT, context)

    lines = emitted(capsys, log_stream)
    assert stored_key not in json.dumps(lines)
    fetched = [line for line in lines if line.get("message") == "Fetched stock data"]
    assert fetched and fetched[0]["correlation_id"] == EVENT["executionId"]
    assert fetched[0]["bars"] == 100
    failed = [line for line in lines if line.get("message") == "Upstream call failed"]
    assert failed and failed[0]["error"] == "UpstreamRateLimitError"
    assert failed[0]["correlation_id"] == EVENT["executionId"]
    assert {"BarsFetched", "UpstreamLatency", "UpstreamErrors"} <= metric_names(lines)
    bars = next(line for line in lines if "BarsFetched" in line)
    assert bars["BarsFetched"] == [100.0] and bars["service"] == SERVICE
    error_metric = next(line for line in lines if "UpstreamErrors" in line)
    assert (error_metric["Api"], error_metric["ErrorKind"]) == ("alpha-vantage", "RateLimit")


def test_an_answer_for_another_symbol_names_nothing(stock_handler, context, standin, reference):
    body = reference("alpha_vantage_intraday_compact.json")
    body["Meta Data"]["2. Symbol"] = "../AAPL"  # the echoed symbol would become part of the raw object's key
    standin.script("alpha-vantage", ScriptedResponse(body=body))
    with pytest.raises(
        InvalidUpstreamResponseError, match=r"for symbol '\.\./AAPL', not the requested 'MSFT'"
    ):
        stock_handler.lambda_handler(EVENT, context)


def test_an_echoed_symbol_that_only_case_folds_to_the_one_asked_for_is_refused(
    stock_handler, context, standin, reference
):
    body = reference("alpha_vantage_intraday_compact.json")
    body["Meta Data"]["2. Symbol"] = "ß"  # upper-cases to SS
    standin.script("alpha-vantage", ScriptedResponse(body=body))
    with pytest.raises(InvalidUpstreamResponseError, match="for symbol 'ß', not the requested 'SS'"):
        stock_handler.lambda_handler({**EVENT, "symbol": "SS"}, context)


@pytest.mark.parametrize("placeholder", ["YOUR_KEY", "your_key ", "<your RapidAPI key>"])
def test_a_placeholder_in_the_secret_says_how_to_set_the_key(aws, standin, context, monkeypatch, placeholder):
    arn = aws.create_secret(Name=unique("rapidapi-key"), SecretString=placeholder)["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyNotSetError, match=r"holds the placeholder .*put-secret-value"):
        load_handler("fetch_stock_data").lambda_handler(EVENT, context)
    assert standin.requests == []


def test_the_placeholder_recognised_is_the_one_the_stack_output_shows():
    from samcli.yamlhelper import yaml_parse

    from rapidapi.client import KEY_PLACEHOLDER

    outputs = yaml_parse((REPO / "template.yaml").read_text())["Outputs"]
    command = outputs["SetRapidApiKeyCommand"]["Value"]["Fn::Sub"]
    assert command.endswith(f"--secret-string {KEY_PLACEHOLDER}")


# ---------------------------------------------------------------- the daily quota, within one execution


def test_after_the_daily_quota_the_executions_later_symbols_fail_without_a_request(
    stock_handler, context, standin
):
    standin.script("alpha-vantage", ScriptedResponse.http_200_error("http_200_information_rate_limit"))
    with pytest.raises(UpstreamQuotaExhaustedError, match="daily quota is used up"):
        stock_handler.lambda_handler(EVENT, context)
    with pytest.raises(UpstreamQuotaExhaustedError, match=r"^Not requested: earlier in this execution"):
        stock_handler.lambda_handler({**EVENT, "symbol": "IBM"}, context)
    assert len(standin.requests_to("alpha-vantage")) == 1

    # Another execution (a quota reset, a plan upgraded) asks again.
    other = {**EVENT, "executionId": EVENT["executionId"].replace("run-1", "run-2"), "symbol": "IBM"}
    assert stock_handler.lambda_handler(other, context)["metadata"]["symbol"] == "IBM"
    assert len(standin.requests_to("alpha-vantage")) == 2


def test_the_fetch_id_given_is_recorded_in_the_metadata(stock_handler, context):
    result = stock_handler.lambda_handler({**EVENT, "fetchId": "run-1"}, context)
    assert result["metadata"]["fetchId"] == "run-1"
    assert stock_handler.lambda_handler(EVENT, context)["metadata"]["fetchId"] is None
