"""A real local HTTP server standing in for both RapidAPI hosts, with faults on demand.

    from offline_pipeline.rapidapi_standin import RapidApiStandIn, ScriptedResponse

    with RapidApiStandIn() as standin:            # random key, port 0, background thread
        os.environ.update(standin.env)            # ALPHA_VANTAGE_BASE_URL, STREAMING_AVAILABILITY_BASE_URL
        store_secret(standin.api_key)             # the key the fetch functions must send
        standin.script("alpha-vantage", ScriptedResponse.error(429, "rapidapi_429_quota"))
        ...                                       # first call gets 429, later calls the normal answer
        standin.script("alpha-vantage", ScriptedResponse.status_only(500), target="AAPL")
        ...                                       # only AAPL's next call gets 500; other symbols answer
        standin.requests_to("alpha-vantage")      # what was asked, headers without the key

Routes: `GET /query?function=TIME_SERIES_INTRADAY&symbol=X&interval=I` (the reference MSFT payload with
symbol and interval replaced, and its prices scaled by a factor of the symbol's own, so that each symbol
of a watchlist has its own bars), `GET /countries` and `GET /countries/{code}` (the reference countries
and a few more made from them, each under its own code and name; 404 for unknown codes).
A missing or wrong `X-RapidAPI-Key` gets RapidAPI's 401. Scripted answers are per API, or per symbol or
country of an API (`target`), and played in order before normal answers resume; a call for a target with
answers of its own plays those first. The key is never logged or recorded.
"""

import json
import secrets
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

PAYLOADS = Path(__file__).parent / "reference_payloads"
Api = Literal["alpha-vantage", "streaming-availability"]


def _load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


ERROR_BODIES: dict[str, dict[str, str]] = _load("error_bodies.json")
INTERVALS = ("1min", "5min", "15min", "30min", "60min")
# Countries served beyond the reference ones: each gets the reference US services under its own name.
MORE_COUNTRIES = {
    "gb": "United Kingdom",
    "de": "Germany",
    "fr": "France",
    "in": "India",
    "jp": "Japan",
    "ca": "Canada",
    "br": "Brazil",
    "au": "Australia",
}


REFERENCE_SYMBOL = "MSFT"


def price_factor(symbol: str) -> float:
    """The symbol's own scale for the reference prices: 0.5 to 2.49, fixed per symbol; the reference
    symbol keeps the recorded prices."""
    if symbol.upper() == REFERENCE_SYMBOL:
        return 1.0
    return 0.5 + (zlib.crc32(symbol.upper().encode()) % 200) / 100


def intraday_payload(symbol: str, interval: str) -> dict[str, Any]:
    """The reference MSFT answer as Alpha Vantage would give it for `symbol`."""
    payload = _load("alpha_vantage_intraday_compact.json")
    payload["Meta Data"]["2. Symbol"] = symbol
    payload["Meta Data"]["4. Interval"] = interval
    factor = price_factor(symbol)
    bars = payload.pop("Time Series (1min)")
    for bar in bars.values():
        for price in ("1. open", "2. high", "3. low", "4. close"):
            bar[price] = f"{float(bar[price]) * factor:.4f}"
    payload[f"Time Series ({interval})"] = bars
    return payload


def countries_payload() -> dict[str, Any]:
    countries = _load("streaming_availability_countries.json")
    for code, name in MORE_COUNTRIES.items():
        countries[code] = {**countries["us"], "countryCode": code, "name": name}
    return countries


def _target_key(api: Api, target: str) -> str:
    # As the upstream APIs match them: symbols in any case, country codes in lower case.
    return target.upper() if api == "alpha-vantage" else target.lower()


def _request_target(api: Api, path: str, query: dict[str, list[str]]) -> str | None:
    """The symbol or country a request is about, or None (the list of all countries)."""
    if api == "alpha-vantage":
        symbols = query.get("symbol")
        return _target_key(api, symbols[0]) if symbols else None
    parts = path.rstrip("/").split("/")
    return _target_key(api, parts[-1]) if len(parts) > 2 else None


@dataclass(frozen=True)
class ScriptedResponse:
    """One scripted answer: `status` with `body` (a JSON object, or a str sent as is) after `delay_seconds`.

    `body=None` with status 200 means the normal answer; with another status, `{"message": <reason>}`.
    """

    status: int = 200
    body: dict[str, Any] | list[Any] | str | None = None
    delay_seconds: float = 0.0
    # Send half the body, then close: the connection breaks mid-answer.
    truncated: bool = False

    @classmethod
    def status_only(cls, status: int) -> "ScriptedResponse":
        """E.g. 500 or 503 with a generic `{"message": ...}` body."""
        return cls(status=status)

    @classmethod
    def error(cls, status: int, body_name: str) -> "ScriptedResponse":
        """An HTTP error with one of the reference error bodies, e.g. (429, "rapidapi_429_quota")."""
        return cls(status=status, body=ERROR_BODIES[body_name])

    @classmethod
    def http_200_error(cls, body_name: str) -> "ScriptedResponse":
        """Alpha Vantage's HTTP-200 error bodies, e.g. "http_200_information_rate_limit"."""
        return cls(status=200, body=ERROR_BODIES[body_name])

    @classmethod
    def malformed(cls) -> "ScriptedResponse":
        return cls(status=200, body="<html><body>upstream hiccup</body></html>")

    @classmethod
    def cut_off(cls) -> "ScriptedResponse":
        """The normal answer broken off halfway: Content-Length promises more than arrives."""
        return cls(truncated=True)

    @classmethod
    def slow(cls, seconds: float) -> "ScriptedResponse":
        """The normal answer, `seconds` late (longer than the client's read timeout makes it time out)."""
        return cls(delay_seconds=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    """One request received; `headers` never hold the key, `key_matched` says whether it was right."""

    api: Api
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)
    key_matched: bool


class RapidApiStandIn:
    """Both RapidAPI hosts on one `base_url`; see the module docstring."""

    def __init__(self, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key or secrets.token_hex(25)
        self.requests: list[RecordedRequest] = []
        # Keyed by API and target (a symbol or country; None: any call to the API).
        self._scripts: dict[tuple[Api, str | None], deque[ScriptedResponse]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point the fetch functions here."""
        return {"ALPHA_VANTAGE_BASE_URL": self.base_url, "STREAMING_AVAILABILITY_BASE_URL": self.base_url}

    def script(self, api: Api, *responses: ScriptedResponse, target: str | None = None) -> None:
        """Queue answers for `api`, played in order before normal answers resume; with `target`, only
        for calls about that symbol (alpha-vantage) or country code (streaming-availability)."""
        key = None if target is None else _target_key(api, target)
        with self._lock:
            self._scripts.setdefault((api, key), deque()).extend(responses)

    def requests_to(self, api: Api) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.api == api]

    def reset(self) -> None:
        """Forget recorded requests and drop unplayed scripts."""
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> "RapidApiStandIn":
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="rapidapi-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop that never ran
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "RapidApiStandIn":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _next_script(self, api: Api, target: str | None) -> ScriptedResponse | None:
        with self._lock:
            for key in (target, None):
                queue = self._scripts.get((api, key))
                if queue:
                    return queue.popleft()
            return None

    def _answer(self, api: Api, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if api == "alpha-vantage":
            interval = query.get("interval", [""])[0]
            if (
                query.get("function") != ["TIME_SERIES_INTRADAY"]
                or not query.get("symbol")
                or interval not in INTERVALS
            ):
                return 200, ERROR_BODIES["http_200_error_message"]  # what Alpha Vantage says to a bad call
            return 200, intraday_payload(query["symbol"][0], interval)
        countries = countries_payload()
        if path.rstrip("/") == "/countries":
            return 200, countries
        code = path.rstrip("/").rsplit("/", 1)[-1].lower()
        if code in countries:
            return 200, countries[code]
        return 404, ERROR_BODIES["streaming_availability_404"]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would be noise; headers (the key) are never logged

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path == "/query":
                    api: Api = "alpha-vantage"
                elif url.path.startswith("/countries"):
                    api = "streaming-availability"
                else:
                    self._send(404, {"message": "Endpoint does not exist"})
                    return
                key_matched = secrets.compare_digest(
                    self.headers.get("X-RapidAPI-Key", "").encode(), standin.api_key.encode()
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "x-rapidapi-key"}
                standin._record(RecordedRequest(api, url.path, query, headers, key_matched))
                if not key_matched:
                    self._send(401, ERROR_BODIES["rapidapi_401_invalid_key"])
                    return
                scripted = standin._next_script(api, _request_target(api, url.path, query))
                if scripted is not None:
                    time.sleep(scripted.delay_seconds)
                    if scripted.body is not None:
                        self._send(scripted.status, scripted.body, scripted.truncated)
                        return
                    if scripted.status != 200:
                        self._send(scripted.status, {"message": HTTPStatus(scripted.status).phrase})
                        return
                self._send(
                    *standin._answer(api, url.path, query), scripted is not None and scripted.truncated
                )

            def _send(
                self, status: int, body: dict[str, Any] | list[Any] | str, truncated: bool = False
            ) -> None:
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw[: len(raw) // 2] if truncated else raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        return Handler
