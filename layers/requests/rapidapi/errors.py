"""Errors the state machine routes on: Lambda reports the exception's class name as the error name."""

from execution_input.errors import InvalidInputError

__all__ = [
    "InvalidInputError",
    "InvalidUpstreamResponseError",
    "RapidApiKeyNotSetError",
    "UpstreamAuthError",
    "UpstreamError",
    "UpstreamRateLimitError",
    "UpstreamUnavailableError",
]


class RapidApiKeyNotSetError(RuntimeError):
    """No RapidAPI key is stored where the function looks for it."""


class UpstreamError(RuntimeError):
    """RapidAPI or the API behind it did not give a usable answer."""

    kind = "Upstream"


class UpstreamAuthError(UpstreamError):
    """401/403: the key is wrong or not subscribed to the API; retrying cannot help."""

    kind = "Auth"


class UpstreamRateLimitError(UpstreamError):
    """429: quota or rate limit reached; worth retrying later."""

    kind = "RateLimit"


class UpstreamUnavailableError(UpstreamError):
    """5xx, timeouts and connection failures; worth retrying."""

    kind = "Unavailable"


class InvalidUpstreamResponseError(UpstreamError):
    """The answer is not the documented shape: malformed JSON, or an error body sent with HTTP 200."""

    kind = "InvalidResponse"
