"""Errors the state machine routes on: Lambda reports the exception's class name as the error name."""

from execution_input.errors import InvalidInputError

__all__ = [
    "InvalidInputError",
    "InvalidUpstreamResponseError",
    "RapidApiKeyMalformedError",
    "RapidApiKeyNotSetError",
    "UpstreamAuthError",
    "UpstreamError",
    "UpstreamQuotaExhaustedError",
    "UpstreamRateLimitError",
    "UpstreamRequestError",
    "UpstreamUnavailableError",
]


class RapidApiKeyNotSetError(RuntimeError):
    """No RapidAPI key is stored where the function looks for it."""


class RapidApiKeyMalformedError(RapidApiKeyNotSetError):
    """The stored value cannot be a key: whitespace or control characters (a key pasted with its line end)."""


class UpstreamError(RuntimeError):
    """RapidAPI or the API behind it did not give a usable answer."""

    kind = "Upstream"


class UpstreamAuthError(UpstreamError):
    """401/403: the key is wrong or not subscribed to the API; retrying cannot help."""

    kind = "Auth"


class UpstreamRateLimitError(UpstreamError):
    """429: quota or rate limit reached; worth retrying later."""

    kind = "RateLimit"


class UpstreamQuotaExhaustedError(UpstreamError):
    """The plan's daily quota is used up (Alpha Vantage says so with HTTP 200); retrying today cannot help."""

    kind = "Quota"


class UpstreamUnavailableError(UpstreamError):
    """5xx, timeouts and connection failures; worth retrying."""

    kind = "Unavailable"


class UpstreamRequestError(UpstreamError):
    """The request could not be sent as built (an invalid URL or header); retrying cannot help."""

    kind = "Request"


class InvalidUpstreamResponseError(UpstreamError):
    """The answer is not the documented shape: malformed JSON, or an error body sent with HTTP 200."""

    kind = "InvalidResponse"
