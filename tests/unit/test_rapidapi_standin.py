"""The RapidAPI stand-in itself, over real HTTP (the offline run and the workflow tests rely on it)."""

import json
import secrets
import threading

import pytest
import requests

from offline_pipeline.rapidapi_standin import PAYLOADS as REFERENCE
from offline_pipeline.rapidapi_standin import RapidApiStandIn, ScriptedResponse


@pytest.fixture
def server():
    with RapidApiStandIn(api_key=secrets.token_hex(16)) as standin:
        yield standin


def get(server: RapidApiStandIn, path: str, key: str | None = None, **params: str) -> requests.Response:
    headers = {"X-RapidAPI-Key": key if key is not None else server.api_key}
    return requests.get(f"{server.base_url}{path}", params=params, headers=headers, timeout=5)


def test_points_both_apis_at_itself(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.env == {
        "ALPHA_VANTAGE_BASE_URL": server.base_url,
        "STREAMING_AVAILABILITY_BASE_URL": server.base_url,
    }


def test_serves_intraday_bars_for_the_requested_symbol(server):
    body = get(server, "/query", function="TIME_SERIES_INTRADAY", symbol="IBM", interval="1min").json()
    assert body["Meta Data"]["2. Symbol"] == "IBM"
    assert len(body["Time Series (1min)"]) == 100


def test_an_incomplete_intraday_call_gets_alpha_vantages_http_200_error(server):
    response = get(server, "/query", function="TIME_SERIES_INTRADAY", symbol="IBM")
    assert response.status_code == 200
    assert "Error Message" in response.json()


def test_each_symbol_gets_bars_of_its_own_and_the_reference_symbol_the_recorded_ones(server):
    def bars(symbol: str) -> dict:
        query = {"function": "TIME_SERIES_INTRADAY", "symbol": symbol, "interval": "1min"}
        return get(server, "/query", **query).json()["Time Series (1min)"]

    recorded = json.loads((REFERENCE / "alpha_vantage_intraday_compact.json").read_text())[
        "Time Series (1min)"
    ]
    msft, ibm, aapl = bars("MSFT"), bars("IBM"), bars("AAPL")
    assert msft == recorded
    assert set(ibm) == set(aapl) == set(recorded)
    minute = "2023-10-27 19:59:00"
    closes = {float(b[minute]["4. close"]) for b in (msft, ibm, aapl)}
    assert len(closes) == 3  # three symbols, three prices
    for bar in (ibm[minute], aapl[minute]):
        low, high = float(bar["3. low"]), float(bar["2. high"])
        assert low <= float(bar["1. open"]) <= high and low <= float(bar["4. close"]) <= high


def test_serves_countries(server):
    listed = get(server, "/countries").json()
    assert {"ae", "us", "gb", "de"} <= set(listed)
    assert get(server, "/countries/ae").json()["name"] == "United Arab Emirates"
    gb = get(server, "/countries/gb").json()
    assert (gb["countryCode"], gb["name"]) == ("gb", "United Kingdom") and gb["services"]
    missing = get(server, "/countries/zz")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})


@pytest.mark.parametrize("key", ["", "wrong"])
def test_a_missing_or_wrong_key_gets_401(server, key):
    response = get(server, "/countries/ae", key=key)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Invalid API key")
    assert not server.requests[0].key_matched


def test_records_requests_without_the_key(server):
    get(server, "/countries/ae")
    (recorded,) = server.requests_to("streaming-availability")
    assert recorded.path == "/countries/ae"
    assert recorded.key_matched
    assert server.api_key not in repr(recorded) + str(recorded.headers)
    assert all(name.lower() != "x-rapidapi-key" for name in recorded.headers)


def test_scripts_are_per_api_and_played_in_order(server):
    server.script(
        "streaming-availability",
        ScriptedResponse.status_only(503),
        ScriptedResponse.http_200_error("http_200_note_legacy_rate_limit"),
        ScriptedResponse.malformed(),
    )
    intraday = get(server, "/query", function="TIME_SERIES_INTRADAY", symbol="IBM", interval="1min")
    assert intraday.status_code == 200 and "Meta Data" in intraday.json()
    first, second, third, fourth = (get(server, "/countries/ae") for _ in range(4))
    assert (first.status_code, first.json()) == (503, {"message": "Service Unavailable"})
    assert "Note" in second.json()
    with pytest.raises(ValueError):
        third.json()
    assert fourth.json()["countryCode"] == "ae"


def test_a_slow_answer_makes_the_client_time_out(server):
    server.script("alpha-vantage", ScriptedResponse.slow(0.5))
    with pytest.raises(requests.ReadTimeout):
        requests.get(
            f"{server.base_url}/query",
            params={"function": "TIME_SERIES_INTRADAY", "symbol": "IBM", "interval": "1min"},
            headers={"X-RapidAPI-Key": server.api_key},
            timeout=(1, 0.1),
        )


def test_reset_forgets_requests_and_scripts(server):
    server.script("streaming-availability", ScriptedResponse.status_only(500))
    get(server, "/countries")
    server.script("streaming-availability", ScriptedResponse.status_only(500))
    server.reset()
    assert server.requests == []
    assert get(server, "/countries/ae").status_code == 200


def test_a_server_never_started_stops_at_once():
    stopper = threading.Thread(target=RapidApiStandIn().stop)
    stopper.start()
    stopper.join(timeout=2)
    assert not stopper.is_alive()


def test_an_answer_scripted_for_one_symbol_or_country_fails_only_that_one(server):
    server.script("alpha-vantage", ScriptedResponse.status_only(500), target="aapl")
    server.script("streaming-availability", ScriptedResponse.error(429, "rapidapi_429_quota"), target="AE")
    intraday = {"function": "TIME_SERIES_INTRADAY", "interval": "1min"}

    assert get(server, "/query", symbol="MSFT", **intraday).json()["Meta Data"]["2. Symbol"] == "MSFT"
    assert get(server, "/countries/us").status_code == 200
    assert get(server, "/query", symbol="AAPL", **intraday).status_code == 500
    assert get(server, "/countries/ae").status_code == 429
    # Played once each; then the target's normal answer, its symbol echoed.
    assert get(server, "/query", symbol="AAPL", **intraday).json()["Meta Data"]["2. Symbol"] == "AAPL"
    assert get(server, "/countries/ae").json()["countryCode"] == "ae"


def test_a_targets_own_answers_come_before_the_apis(server):
    server.script("alpha-vantage", ScriptedResponse.status_only(503))
    server.script("alpha-vantage", ScriptedResponse.status_only(500), target="IBM")
    intraday = {"function": "TIME_SERIES_INTRADAY", "interval": "1min"}

    assert get(server, "/query", symbol="IBM", **intraday).status_code == 500
    assert get(server, "/query", symbol="IBM", **intraday).status_code == 503
    assert get(server, "/query", symbol="IBM", **intraday).status_code == 200
