"""A real local HTTP server standing in for both RapidAPI hosts, with faults on demand.

It serves the reference payloads in `reference_payloads/`, checks the `X-RapidAPI-Key` header like
RapidAPI does (401 otherwise), and plays scripted responses (status codes, HTTP-200 error bodies, delays,
malformed bodies) before resuming normal answers. Point the fetch functions at it with `env`.
"""

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ScriptedResponse:
    """One scripted answer. `body=None` means the normal answer (after `delay_seconds`)."""

    status: int = 200
    body: dict[str, Any] | str | None = None
    delay_seconds: float = 0.0

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
    def slow(cls, seconds: float) -> "ScriptedResponse":
        return cls(delay_seconds=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    api: Api
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)
    key_matched: bool


class RapidApiStandIn:
    """Usage: `with RapidApiStandIn() as standin: os.environ.update(standin.env)`."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key or secrets.token_hex(25)
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[Api, deque[ScriptedResponse]] = {
            "alpha-vantage": deque(),
            "streaming-availability": deque(),
        }
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def env(self) -> dict[str, str]:
        return {"ALPHA_VANTAGE_BASE_URL": self.base_url, "STREAMING_AVAILABILITY_BASE_URL": self.base_url}

    def script(self, api: Api, *responses: ScriptedResponse) -> None:
        """Queue answers for `api`, played in order before normal answers resume."""
        with self._lock:
            self._scripts[api].extend(responses)

    def requests_to(self, api: Api) -> list[RecordedRequest]:
        return [r for r in self.requests if r.api == api]

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
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "RapidApiStandIn":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _next_script(self, api: Api) -> ScriptedResponse | None:
        with self._lock:
            return self._scripts[api].popleft() if self._scripts[api] else None

    def _answer(self, api: Api, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any] | str]:
        if api == "alpha-vantage":
            if query.get("function") != ["TIME_SERIES_INTRADAY"] or not query.get("symbol"):
                return 200, ERROR_BODIES["http_200_error_message"]
            payload = _load("alpha_vantage_intraday_compact.json")
            payload["Meta Data"]["2. Symbol"] = query["symbol"][0]
            return 200, payload
        countries = _load("streaming_availability_countries.json")
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
                key_matched = secrets.compare_digest(self.headers.get("X-RapidAPI-Key", ""), standin.api_key)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "x-rapidapi-key"}
                standin.requests.append(RecordedRequest(api, url.path, query, headers, key_matched))
                if not key_matched:
                    self._send(401, ERROR_BODIES["rapidapi_401_invalid_key"])
                    return
                scripted = standin._next_script(api)
                if scripted is not None:
                    time.sleep(scripted.delay_seconds)
                    if scripted.body is not None:
                        self._send(scripted.status, scripted.body)
                        return
                self._send(*standin._answer(api, url.path, query))

            def _send(self, status: int, body: dict[str, Any] | str) -> None:
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        return Handler
