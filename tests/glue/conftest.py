import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

import stock_data_etl
from offline_aws.local_spark import session_builder
from offline_pipeline.rapidapi_standin import PAYLOADS as REFERENCE

Bar = tuple[str, str, str, str, str]  # open, high, low, close, volume as upstream strings


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    session = session_builder(
        "stock-data-etl-tests",
        master="local[2]",
        **{
            "spark.sql.shuffle.partitions": "4",
            "spark.ui.enabled": "false",
            "spark.driver.bindAddress": "127.0.0.1",
        },
    ).getOrCreate()
    yield session
    session.stop()


def raw_document(
    symbol: str, bars: dict[str, Bar], fetched_at: str, time_zone: str = "US/Eastern"
) -> dict[str, Any]:
    """A raw object in the shape FetchStockDataFunction returns and the state machine stores."""
    return {
        "metadata": {
            "symbol": symbol,
            "interval": "1min",
            "timeZone": time_zone,
            "lastRefreshed": max(bars) if bars else "",
            "barCount": len(bars),
            "fetchedAt": fetched_at,
            "source": "alpha-vantage",
        },
        "timeSeries": {
            ts: dict(zip(("open", "high", "low", "close", "volume"), bar, strict=True))
            for ts, bar in bars.items()
        },
    }


def reference_bars() -> dict[str, Bar]:
    series = json.loads((REFERENCE / "alpha_vantage_intraday_compact.json").read_text())["Time Series (1min)"]
    return {
        ts: (bar["1. open"], bar["2. high"], bar["3. low"], bar["4. close"], bar["5. volume"])
        for ts, bar in series.items()
    }


class Lake:
    """A local stand-in for the data bucket: raw objects in, curated dataset and summaries out."""

    def __init__(self, root: Path, spark: SparkSession) -> None:
        self.root = root
        self.spark = spark
        self.curated = root / "curated" / "stock_minute_bars"
        self.quarantine = root / "quarantine" / "stock_minute_bars"

    def put_raw(self, fetch_id: str, document: dict[str, Any]) -> Path:
        symbol = document["metadata"]["symbol"]
        folder = self.root / "raw" / "stock" / f"symbol={symbol}" / "ingest_date=2026-11-21"
        path = folder / f"execution={fetch_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        return path

    def run(self, fetch_id: str, *raw: Path) -> dict[str, Any]:
        summary_path = self.root / "run-summaries" / f"{fetch_id}.json"
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary = stock_data_etl.main(self.arguments(fetch_id, summary_path, *raw), spark=self.spark)
        assert json.loads(summary_path.read_text()) == summary
        return summary

    def arguments(self, fetch_id: str, summary_path: Path, *raw: Path) -> list[str]:
        return [
            "--JOB_NAME", "StockDataETLJOB",
            "--raw_paths", ",".join(str(p) for p in raw),
            "--curated_path", str(self.curated),
            "--staging_path", str(self.root / "staging" / "stock_minute_bars"),
            "--quarantine_path", str(self.quarantine),
            "--run_summary_path", str(summary_path),
            "--fetch_id", fetch_id,
            "--enable-metrics", "true",
        ]  # fmt: skip

    def rows(self) -> list[dict[str, Any]]:
        frame = self.spark.read.parquet(str(self.curated))
        return sorted((row.asDict() for row in frame.collect()), key=lambda r: (r["symbol"], r["ts"]))

    def quarantined(self, fetch_id: str) -> list[dict[str, Any]]:
        frame = self.spark.read.parquet(str(self.quarantine / f"fetch_id={fetch_id}"))
        return [row.asDict() for row in frame.collect()]


@pytest.fixture
def lake(tmp_path: Path, spark: SparkSession) -> Lake:
    return Lake(tmp_path, spark)


@pytest.fixture
def document() -> Callable[..., dict[str, Any]]:
    return raw_document
