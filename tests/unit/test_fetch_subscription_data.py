"""FetchSubscriptionDataFunction against the local RapidAPI stand-in."""

import json

import pytest
from emulation_helpers import unique

from offline_pipeline.rapidapi_standin import ScriptedResponse
from rapidapi import (
    InvalidInputError,
    InvalidUpstreamResponseError,
    RapidApiKeyNotSetError,
    UpstreamAuthError,
    UpstreamRateLimitError,
    UpstreamUnavailableError,
)
from tests.unit.conftest import emitted, load_handler, metric_names

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

EVENT = {"country": "ae", "executionId": "arn:aws:states:us-east-1:123456789012:execution:sm:run-2"}


def test_returns_the_countrys_streaming_services(subscription_handler, context, reference):
    result = subscription_handler.lambda_handler(EVENT, context)

    upstream = reference("streaming_availability_country_ae.json")
    assert list(result) == ["country", "countryName", "serviceCount", "fetchedAt", "services"]
    assert (result["country"], result["countryName"]) == ("ae", "United Arab Emirates")
    assert result["serviceCount"] == len(result["services"]) == len(upstream["services"]) == 4
    assert [s["id"] for s in result["services"]] == [s["id"] for s in upstream["services"]]
    netflix = result["services"][0]
    assert netflix == {
        "id": "netflix",
        "name": "Netflix",
        "homePage": "https://www.netflix.example/",
        "streamingOptionTypes": {
            "addon": False,
            "buy": False,
            "rent": False,
            "free": False,
            "subscription": True,
        },
        "addons": [],
    }
    prime = next(s for s in result["services"] if s["id"] == "prime")
    assert prime["name"] == "Prime Video"
    assert prime["streamingOptionTypes"] == {
        "addon": True,
        "buy": True,
        "rent": True,
        "free": False,
        "subscription": True,
    }
    assert prime["addons"] == [{"id": "starzplay", "name": "Starzplay"}]
    assert result["fetchedAt"].endswith("Z")
    json.dumps(result)


def test_country_code_is_lower_cased_into_the_path(subscription_handler, context, standin):
    result = subscription_handler.lambda_handler({"country": "US"}, context)
    (request,) = standin.requests_to("streaming-availability")
    assert request.path == "/countries/us"
    assert request.headers["X-RapidAPI-Host"] == "streaming-availability.p.rapidapi.com"
    assert request.key_matched
    assert (result["country"], result["countryName"]) == ("us", "United States")


def test_unknown_country_is_invalid_input(subscription_handler, context):
    with pytest.raises(InvalidInputError, match="Field 'country': 'zz' is not a country"):
        subscription_handler.lambda_handler({"country": "zz"}, context)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "field 'country': Field required, expected two letters \\(ISO 3166-1 alpha-2\\)"),
        ({"country": "uae"}, "field 'country': 'uae' breaks the country-code rule: two letters"),
        ({"country": "a1"}, "field 'country'"),
        ({"country": 971}, "field 'country': Input should be a valid string"),
    ],
)
def test_invalid_country_field_names_the_field(subscription_handler, context, standin, event, message):
    with pytest.raises(InvalidInputError, match=message):
        subscription_handler.lambda_handler(event, context)
    assert standin.requests == []


@pytest.mark.parametrize(
    ("scripted", "error", "message"),
    [
        (ScriptedResponse.error(401, "rapidapi_401_invalid_key"), UpstreamAuthError, "HTTP 401"),
        (ScriptedResponse.error(403, "rapidapi_403_not_subscribed"), UpstreamAuthError, "HTTP 403"),
        (ScriptedResponse.error(429, "rapidapi_429_quota"), UpstreamRateLimitError, "HTTP 429"),
        (ScriptedResponse.status_only(500), UpstreamUnavailableError, "HTTP 500"),
        (ScriptedResponse(status=502, body="Bad Gateway"), UpstreamUnavailableError, "HTTP 502"),
        (ScriptedResponse.status_only(503), UpstreamUnavailableError, "HTTP 503"),
        (ScriptedResponse.malformed(), InvalidUpstreamResponseError, "not JSON"),
        (
            ScriptedResponse(body={"countryCode": "ae"}),
            InvalidUpstreamResponseError,
            "unexpected shape: 'name': Field required; 'services': Field required",
        ),
    ],
)
def test_upstream_failures_become_named_errors(
    subscription_handler, context, standin, stored_key, scripted, error, message
):
    standin.script("streaming-availability", scripted)
    with pytest.raises(error, match=message) as raised:
        subscription_handler.lambda_handler(EVENT, context)
    assert stored_key not in str(raised.value)


def test_read_timeout_is_upstream_unavailable(subscription_handler, context, standin, monkeypatch):
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT_SECONDS", "0.2")
    standin.script("streaming-availability", ScriptedResponse.slow(1.0))
    with pytest.raises(UpstreamUnavailableError, match="did not answer"):
        subscription_handler.lambda_handler(EVENT, context)


def test_connection_refused_is_upstream_unavailable(subscription_handler, context, monkeypatch, closed_port):
    monkeypatch.setenv("STREAMING_AVAILABILITY_BASE_URL", f"http://127.0.0.1:{closed_port}")
    with pytest.raises(UpstreamUnavailableError, match="Could not connect to streaming-availability"):
        subscription_handler.lambda_handler(EVENT, context)


def test_secret_without_a_value_says_how_to_set_it(aws, standin, context, monkeypatch):
    arn = aws.create_secret(Name=unique("rapidapi-key"))["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    with pytest.raises(RapidApiKeyNotSetError, match=f"put-secret-value --secret-id {arn}"):
        load_handler("fetch_subscription_data").lambda_handler(EVENT, context)
    assert standin.requests == []


def test_logs_and_metrics(capsys, log_stream, subscription_handler, context, standin, stored_key):
    subscription_handler.lambda_handler(EVENT, context)
    standin.script("streaming-availability", ScriptedResponse.status_only(503))
    with pytest.raises(UpstreamUnavailableError):
        subscription_handler.lambda_handler(EVENT, context)

    lines = emitted(capsys, log_stream)
    assert stored_key not in json.dumps(lines)
    fetched = [line for line in lines if line.get("message") == "Fetched subscription data"]
    assert fetched and fetched[0]["correlation_id"] == EVENT["executionId"]
    assert {"ServicesFetched", "UpstreamLatency", "UpstreamErrors"} <= metric_names(lines)
    services = next(line for line in lines if "ServicesFetched" in line)
    assert services["ServicesFetched"] == [4.0]
    error_metric = next(line for line in lines if "UpstreamErrors" in line)
    assert (error_metric["Api"], error_metric["ErrorKind"]) == ("streaming-availability", "Unavailable")
