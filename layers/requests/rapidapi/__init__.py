"""RapidAPI access shared by the fetch functions: hosts, one HTTP session, the key, and named errors."""

from rapidapi.client import (
    ALPHA_VANTAGE,
    STREAMING_AVAILABILITY,
    RapidApi,
    get_json,
    read_api_key,
    record_upstream_error,
    record_upstream_latency,
    reject_response,
)
from rapidapi.errors import (
    InvalidInputError,
    InvalidUpstreamResponseError,
    RapidApiKeyMalformedError,
    RapidApiKeyNotSetError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamQuotaExhaustedError,
    UpstreamRateLimitError,
    UpstreamRequestError,
    UpstreamUnavailableError,
)
from rapidapi.events import parse_event, summarise

__all__ = [
    "ALPHA_VANTAGE",
    "STREAMING_AVAILABILITY",
    "InvalidInputError",
    "InvalidUpstreamResponseError",
    "RapidApi",
    "RapidApiKeyMalformedError",
    "RapidApiKeyNotSetError",
    "UpstreamAuthError",
    "UpstreamError",
    "UpstreamQuotaExhaustedError",
    "UpstreamRateLimitError",
    "UpstreamRequestError",
    "UpstreamUnavailableError",
    "get_json",
    "parse_event",
    "read_api_key",
    "record_upstream_error",
    "record_upstream_latency",
    "reject_response",
    "summarise",
]
