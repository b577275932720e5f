"""One place for the RapidAPI hosts, the HTTP session, the key and the mapping of failures to errors."""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from rapidapi.errors import (
    InvalidUpstreamResponseError,
    RapidApiKeyMalformedError,
    RapidApiKeyNotSetError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamRequestError,
    UpstreamUnavailableError,
)

logger = Logger(child=True)
metrics = Metrics()

KEY_SECRET_ENV = "RAPIDAPI_KEY_SECRET_ARN"
KEY_CACHE_SECONDS = 300
# The stack output SetRapidApiKeyCommand says "--secret-string YOUR_KEY"; pasted unchanged, it is no key.
KEY_PLACEHOLDER = "YOUR_KEY"


@dataclass(frozen=True)
class RapidApi:
    name: str
    host: str
    base_url_env: str

    @property
    def base_url(self) -> str:
        # A local stand-in replaces the host for tests and offline runs; the Host header stays the real one.
        return os.environ.get(self.base_url_env, f"https://{self.host}").rstrip("/")


ALPHA_VANTAGE = RapidApi("alpha-vantage", "alpha-vantage.p.rapidapi.com", "ALPHA_VANTAGE_BASE_URL")
STREAMING_AVAILABILITY = RapidApi(
    "streaming-availability", "streaming-availability.p.rapidapi.com", "STREAMING_AVAILABILITY_BASE_URL"
)

SESSION = requests.Session()


def timeouts() -> tuple[float, float]:
    return (
        float(os.environ.get("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "3.05")),
        float(os.environ.get("UPSTREAM_READ_TIMEOUT_SECONDS", "10")),
    )


def read_api_key() -> str:
    secret_id = os.environ.get(KEY_SECRET_ENV, "")
    how_to_set = (
        f"store the key with: aws secretsmanager put-secret-value --secret-id {secret_id or '<secret arn>'}"
        " --secret-string <your RapidAPI key>"
    )
    if not secret_id:
        raise RapidApiKeyNotSetError(
            f"Environment variable {KEY_SECRET_ENV} is not set; name the secret, then {how_to_set}"
        )
    # Imported at the first read, not at init: Parameters loads boto3 (and all its providers) with it.
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from botocore.exceptions import ClientError

    try:
        key = parameters.get_secret(secret_id, max_age=KEY_CACHE_SECONDS)
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__  # Powertools raises without chaining explicitly
        if isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ResourceNotFoundException":
            raise RapidApiKeyNotSetError(
                f"Secret {secret_id} does not exist or has no value yet; {how_to_set}"
            ) from None
        raise
    if not isinstance(key, str) or not key.strip():
        raise RapidApiKeyNotSetError(f"Secret {secret_id} is empty; {how_to_set}")
    if is_placeholder(key):
        # Not quoted back: text in angle brackets may be a real key pasted inside them.
        raise RapidApiKeyNotSetError(
            f"Secret {secret_id} holds the placeholder YOUR_KEY or text in angle brackets, not a RapidAPI"
            f" key; {how_to_set}"
        )
    if (problem := key_problem(key)) is not None:
        raise RapidApiKeyMalformedError(
            f"Secret {secret_id} cannot be a RapidAPI key: {problem}, and a key is visible ASCII characters"
            f" only; {how_to_set} (a key kept in a file: --secret-string \"$(tr -d '[:space:]' < FILE)\")"
        )
    return key


# What a pasted key picks up; any other character is named by its code point alone.
_CHARACTER_NAMES = {"\r": "a carriage return", "\n": "a line feed", "\t": "a tab", " ": "a space"}


def key_problem(key: str) -> str | None:
    """Why `key` cannot go in the key header, naming the character and where, never the key's text.

    requests refuses a header value holding CR or LF and quotes the whole value in its error;
    http.client sends NUL, tabs and non-ASCII on as they are. Only visible ASCII can be a key."""
    for position, character in enumerate(key, start=1):
        if "!" <= character <= "~":
            continue
        what = f"{_CHARACTER_NAMES.get(character, 'a character')} (U+{ord(character):04X})"
        if position == 1:
            return f"it starts with {what}"
        if position == len(key):
            return f"it ends with {what}"
        return f"it has {what} at character {position} of {len(key)}"
    return None


def is_placeholder(key: str) -> bool:
    """The command's placeholder, or one in angle brackets such as <your RapidAPI key>."""
    text = key.strip()
    return text.upper() == KEY_PLACEHOLDER or (text.startswith("<") and text.endswith(">"))


def record_upstream_error(api: RapidApi, error: UpstreamError) -> UpstreamError:
    """Count the failure as UpstreamErrors{Api, ErrorKind} and log it; returns the error to raise."""
    # A single metric of its own: its dimensions must not spill onto the function's other metrics.
    with single_metric(name="UpstreamErrors", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="Api", value=api.name)
        metric.add_dimension(name="ErrorKind", value=error.kind)
    logger.warning(
        "Upstream call failed", extra={"api": api.name, "error": type(error).__name__, "reason": str(error)}
    )
    return error


def record_upstream_latency(milliseconds: float) -> None:
    """UpstreamLatency (ms), flushed with the function's metrics by its `log_metrics` decorator."""
    metrics.add_metric(name="UpstreamLatency", unit=MetricUnit.Milliseconds, value=milliseconds)


def request_failure(api: RapidApi, error: requests.RequestException) -> UpstreamError:
    """The named error for a request that got no usable answer. Only the exception's class is named: its
    message can quote a header value (InvalidHeader quotes the key) or the URL."""
    kind = type(error).__name__
    if isinstance(error, requests.Timeout):
        return UpstreamUnavailableError(f"{api.name} did not answer within {timeouts()} s (connect, read).")
    if isinstance(error, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return UpstreamUnavailableError(f"Could not connect to {api.name}, or the connection broke: {kind}.")
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return InvalidUpstreamResponseError(f"{api.name} answered a body that could not be decoded: {kind}.")
    return UpstreamRequestError(
        f"The request to {api.name} could not be sent as built ({kind}): check its base URL and the stored"
        " key."
    )


def _upstream_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body) if isinstance(body, dict) else body)[:200]


def get_json(
    api: RapidApi,
    path: str,
    params: dict[str, str] | None = None,
    on_not_found: Callable[[], Exception] | None = None,
) -> Any:
    """GET one RapidAPI resource and return its JSON body, or raise the named error for what went wrong."""
    headers = {"X-RapidAPI-Key": read_api_key(), "X-RapidAPI-Host": api.host}
    started = time.perf_counter()
    try:
        # No redirects: the key header would follow them to whatever host they name.
        response = SESSION.get(
            f"{api.base_url}{path}", params=params, headers=headers, timeout=timeouts(), allow_redirects=False
        )
    except requests.RequestException as error:
        raise record_upstream_error(api, request_failure(api, error)) from None
    finally:
        record_upstream_latency((time.perf_counter() - started) * 1000)

    status = response.status_code
    if status in (401, 403):
        raise record_upstream_error(
            api,
            UpstreamAuthError(
                f"{api.name} refused the RapidAPI key (HTTP {status}: {_upstream_message(response)});"
                " check the stored key and that it is subscribed to this API."
            ),
        )
    if status == 429:
        raise record_upstream_error(
            api,
            UpstreamRateLimitError(
                f"{api.name} rate limit or quota reached (HTTP 429: {_upstream_message(response)});"
                " retry later or raise the plan's quota."
            ),
        )
    if status == 404 and on_not_found is not None:
        raise on_not_found()
    if status >= 500:
        raise record_upstream_error(
            api, UpstreamUnavailableError(f"{api.name} answered HTTP {status} (server error); retry later.")
        )
    if status != 200:
        raise record_upstream_error(
            api,
            InvalidUpstreamResponseError(
                f"{api.name} answered HTTP {status}: {_upstream_message(response)}."
            ),
        )
    try:
        return response.json()
    except ValueError:
        raise record_upstream_error(
            api, InvalidUpstreamResponseError(f"{api.name} answered HTTP 200 with a body that is not JSON.")
        ) from None


def reject_response(api: RapidApi, message: str) -> InvalidUpstreamResponseError:
    """An answer whose content is unusable, recorded like every other upstream failure."""
    error = InvalidUpstreamResponseError(message)
    record_upstream_error(api, error)
    return error
