"""The shared `rapidapi` layer package: hosts, overridable base URLs, timeouts, error names, events."""

import json
from pathlib import Path

import pytest

import rapidapi
from rapidapi import ALPHA_VANTAGE, STREAMING_AVAILABILITY, parse_event
from rapidapi.client import timeouts
from stock_data import FetchStockDataEvent
from subscription_data import FetchSubscriptionDataEvent

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_hosts_default_to_rapidapi(monkeypatch):
    monkeypatch.delenv("ALPHA_VANTAGE_BASE_URL", raising=False)
    monkeypatch.delenv("STREAMING_AVAILABILITY_BASE_URL", raising=False)
    assert ALPHA_VANTAGE.base_url == "https://alpha-vantage.p.rapidapi.com"
    assert STREAMING_AVAILABILITY.base_url == "https://streaming-availability.p.rapidapi.com"


def test_base_urls_are_overridable_but_the_host_header_is_not(monkeypatch):
    monkeypatch.setenv("ALPHA_VANTAGE_BASE_URL", "http://127.0.0.1:8080/")
    assert ALPHA_VANTAGE.base_url == "http://127.0.0.1:8080"
    assert ALPHA_VANTAGE.host == "alpha-vantage.p.rapidapi.com"


def test_timeouts_have_sane_defaults(monkeypatch):
    monkeypatch.delenv("UPSTREAM_CONNECT_TIMEOUT_SECONDS", raising=False)
    monkeypatch.delenv("UPSTREAM_READ_TIMEOUT_SECONDS", raising=False)
    assert timeouts() == (3.05, 10.0)
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT_SECONDS", "0.5")
    assert timeouts() == (3.05, 0.5)


def test_error_names_are_the_ones_the_state_machine_routes_on():
    names = {
        "RapidApiKeyNotSetError",
        "RapidApiKeyMalformedError",
        "UpstreamAuthError",
        "UpstreamRateLimitError",
        "UpstreamUnavailableError",
        "UpstreamRequestError",
        "InvalidUpstreamResponseError",
        "InvalidInputError",
    }
    for name in names:
        assert getattr(rapidapi, name).__name__ == name  # Lambda reports the class name as the error


@pytest.mark.parametrize(
    ("file", "model", "expected"),
    [
        ("fetch_stock_data.json", FetchStockDataEvent, {"symbol": "MSFT", "interval": "1min"}),
        ("fetch_subscription_data.json", FetchSubscriptionDataEvent, {"country": "ae"}),
    ],
)
def test_event_files_follow_the_event_contract(file, model, expected):
    event = json.loads((EVENTS / file).read_text())
    parsed = parse_event(model, event).model_dump()
    assert expected.items() <= parsed.items()
    assert parsed["executionId"].startswith("arn:aws:states:")
    assert not {"key", "apiKey", "X-RapidAPI-Key"} & set(event)
