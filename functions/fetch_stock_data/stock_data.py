"""Fetching and shaping 1-minute stock bars from Alpha Vantage (TIME_SERIES_INTRADAY through RapidAPI)."""

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from execution_input.rules import SYMBOL, normalise_symbol
from rapidapi import (
    ALPHA_VANTAGE,
    InvalidUpstreamResponseError,
    UpstreamError,
    UpstreamQuotaExhaustedError,
    UpstreamRateLimitError,
    get_json,
    record_upstream_error,
    reject_response,
    summarise,
)

# The state machine keeps the result in its state, whose limit is 256 KiB.
MAX_RESULT_BYTES = 200 * 1024
# Alpha Vantage reports these errors with HTTP 200 in place of the time series.
HTTP_200_ERROR_FIELDS = ("Error Message", "Information", "Note")

Interval = Literal["1min", "5min", "15min", "30min", "60min"]


class FetchStockDataEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(description=SYMBOL.description)
    interval: Interval = Field("1min", description="one of 1min, 5min, 15min, 30min, 60min (default 1min)")
    executionId: str | None = Field(None, description="the Step Functions execution ARN, or none")
    fetchId: str | None = Field(None, description="the fetch (execution name) the data is for, or none")

    @field_validator("symbol")
    @classmethod
    def upper_case(cls, symbol: str) -> str:
        return normalise_symbol(symbol)


class AlphaVantageBar(BaseModel):
    # Values stay the upstream strings: the Glue job types them and quarantines what does not parse.
    open: str = Field(alias="1. open")
    high: str = Field(alias="2. high")
    low: str = Field(alias="3. low")
    close: str = Field(alias="4. close")
    volume: str = Field(alias="5. volume")


class AlphaVantageMetaData(BaseModel):
    symbol: str = Field(alias="2. Symbol")
    last_refreshed: str = Field(alias="3. Last Refreshed")
    interval: str = Field(alias="4. Interval")
    time_zone: str = Field(alias="6. Time Zone")


BARS = TypeAdapter(dict[str, AlphaVantageBar])


class StockDataMetadata(BaseModel):
    symbol: str
    interval: str
    timeZone: str
    lastRefreshed: str
    barCount: int
    fetchedAt: str
    fetchId: str | None = None  # the execution that fetched it: the curated rows' fetch_id
    source: Literal["alpha-vantage"] = "alpha-vantage"


class MinuteBar(BaseModel):
    open: str
    high: str
    low: str
    close: str
    volume: str


class StockData(BaseModel):
    metadata: StockDataMetadata
    timeSeries: dict[str, MinuteBar]


def http_200_error(field: str, text: str) -> UpstreamError:
    """What an HTTP-200 error body means. Alpha Vantage names its limit in words: a call frequency per
    minute passes within the minute (retried), a number of requests per day does not (not retried)."""
    message = f"Alpha Vantage answered '{field}': {text[:300]}"
    said = text.lower()
    if field in ("Note", "Information") and "per minute" in said:
        return UpstreamRateLimitError(f"{message} (its per-minute limit; retried after a pause)")
    if field in ("Note", "Information") and "per day" in said:
        return UpstreamQuotaExhaustedError(f"{message} (the key's daily quota is used up; not retried today)")
    return InvalidUpstreamResponseError(message)


def parse_intraday_response(
    body: Any, symbol: str, interval: str, fetched_at: datetime, fetch_id: str | None = None
) -> StockData:
    """Validate an Alpha Vantage intraday body for `symbol` and reshape it, or raise
    InvalidUpstreamResponseError."""
    if not isinstance(body, dict):
        raise reject_response(
            ALPHA_VANTAGE, f"Alpha Vantage answered {type(body).__name__}, not a JSON object."
        )
    for field in HTTP_200_ERROR_FIELDS:
        if field in body:
            raise record_upstream_error(ALPHA_VANTAGE, http_200_error(field, str(body[field])))
    series_field = f"Time Series ({interval})"
    for required in ("Meta Data", series_field):
        if required not in body:
            raise reject_response(
                ALPHA_VANTAGE, f"Alpha Vantage answer lacks '{required}' (its keys: {sorted(body)[:5]})."
            )
    try:
        meta = AlphaVantageMetaData.model_validate(body["Meta Data"])
        bars = BARS.validate_python(body[series_field])
    except ValidationError as error:
        raise reject_response(
            ALPHA_VANTAGE, f"Alpha Vantage answer has an unexpected shape: {summarise(error)}"
        ) from None
    # The symbol names S3 keys and partitions: only the one asked for may do so ('ß'.upper() is 'SS').
    if not meta.symbol.isascii() or meta.symbol.strip().upper() != symbol:
        raise reject_response(
            ALPHA_VANTAGE,
            f"Alpha Vantage answered for symbol {meta.symbol!r:.40}, not the requested {symbol!r}.",
        )
    return StockData(
        metadata=StockDataMetadata(
            symbol=symbol,
            interval=meta.interval,
            timeZone=meta.time_zone,
            lastRefreshed=meta.last_refreshed,
            barCount=len(bars),
            fetchedAt=fetched_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            fetchId=fetch_id,
        ),
        timeSeries={ts: MinuteBar(**bar.model_dump()) for ts, bar in bars.items()},
    )


class QuotaMemory:
    """The executions whose daily quota ran out, as this container saw it: a later symbol of the same
    execution fails at once, by name, without a request. Scoped to the execution, so that a quota that
    resets (or a plan upgraded) never stops the next one."""

    def __init__(self, size: int = 64) -> None:
        self._exhausted: dict[str, str] = {}
        self._size = size

    def check(self, execution_id: str | None) -> None:
        if execution_id is not None and execution_id in self._exhausted:
            raise UpstreamQuotaExhaustedError(
                f"Not requested: earlier in this execution {self._exhausted[execution_id]}"
            )

    def clear(self) -> None:
        """Forget everything, as a new container starts."""
        self._exhausted.clear()

    def remember(self, execution_id: str | None, error: UpstreamQuotaExhaustedError) -> None:
        if execution_id is None:
            return
        if len(self._exhausted) >= self._size:
            self._exhausted.pop(next(iter(self._exhausted)))
        self._exhausted[execution_id] = str(error)[:200]


QUOTA = QuotaMemory()


def fetch_stock_data(event: FetchStockDataEvent, quota: QuotaMemory = QUOTA) -> dict[str, Any]:
    quota.check(event.executionId)
    try:
        return _fetch(event)
    except UpstreamQuotaExhaustedError as error:
        quota.remember(event.executionId, error)
        raise


def _fetch(event: FetchStockDataEvent) -> dict[str, Any]:
    body = get_json(
        ALPHA_VANTAGE,
        "/query",
        params={
            "function": "TIME_SERIES_INTRADAY",
            "symbol": event.symbol,
            "interval": event.interval,
            "outputsize": "compact",
            "datatype": "json",
        },
    )
    result = parse_intraday_response(
        body, event.symbol, event.interval, datetime.now(UTC), event.fetchId
    ).model_dump()
    size = len(json.dumps(result).encode())
    if size > MAX_RESULT_BYTES:
        raise reject_response(
            ALPHA_VANTAGE,
            f"The fetched data is {size} bytes, over the {MAX_RESULT_BYTES}-byte budget of a workflow state.",
        )
    return result
