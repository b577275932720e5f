"""FetchSubscriptionDataFunction against the local RapidAPI stand-in."""

import pytest

from offline_runtime.rapidapi_standin import ScriptedResponse
from rapidapi import (
    InvalidInputError,
    InvalidUpstreamResponseError,
    UpstreamAuthError,
    UpstreamUnavailableError,
)

EVENT = {"country": "ae", "executionId": "arn:aws:states:us-east-1:123456789012:execution:sm:run-2"}


def test_returns_the_countrys_streaming_services(subscription_handler, context, reference):
    result = subscription_handler.lambda_handler(EVENT, context)

    upstream = reference("streaming_availability_country_ae.json")
    assert result["country"] == "ae"
    assert result["countryName"] == "United Arab Emirates"
    assert result["serviceCount"] == len(result["services"]) == len(upstream["services"]) == 4
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
    assert "imageSet" not in prime


def test_country_code_is_lower_cased_into_the_path(subscription_handler, context, standin):
    result = subscription_handler.lambda_handler({"country": "US"}, context)
    (request,) = standin.requests_to("streaming-availability")
    assert request.path == "/countries/us"
    assert request.headers["X-RapidAPI-Host"] == "streaming-availability.p.rapidapi.com"
    assert result["country"] == "us"


def test_unknown_country_is_invalid_input(subscription_handler, context):
    with pytest.raises(InvalidInputError, match="'zz' is not a country"):
        subscription_handler.lambda_handler({"country": "zz"}, context)


@pytest.mark.parametrize("event", [{}, {"country": "uae"}, {"country": "a1"}])
def test_invalid_country_field_names_the_field(subscription_handler, context, standin, event):
    with pytest.raises(InvalidInputError, match="field 'country'"):
        subscription_handler.lambda_handler(event, context)
    assert standin.requests == []


@pytest.mark.parametrize(
    ("scripted", "error"),
    [
        (ScriptedResponse.error(401, "rapidapi_401_invalid_key"), UpstreamAuthError),
        (ScriptedResponse(status=502, body="Bad Gateway"), UpstreamUnavailableError),
        (ScriptedResponse.malformed(), InvalidUpstreamResponseError),
        (ScriptedResponse(status=200, body={"countryCode": "ae"}), InvalidUpstreamResponseError),
    ],
)
def test_upstream_failures_become_named_errors(subscription_handler, context, standin, scripted, error):
    standin.script("streaming-availability", scripted)
    with pytest.raises(error):
        subscription_handler.lambda_handler(EVENT, context)
