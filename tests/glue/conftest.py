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
    symbol: str,
    bars: dict[str, Bar],
    fetched_at: str,
    time_zone: str = "US/Eastern",
    fetch_id: str | None = None,
) -> dict[str, Any]:
    """A raw object in the shape FetchStockDataFunction returns and the state machine stores (`fetchId`
    only when given: documents written before it was recorded have none)."""
    metadata = {
        "symbol": symbol,
        "interval": "1min",
        "timeZone": time_zone,
        "lastRefreshed": max(bars) if bars else "",
        "barCount": len(bars),
        "fetchedAt": fetched_at,
        "source": "alpha-vantage",
    }
    if fetch_id is not None:
        metadata["fetchId"] = fetch_id
    return {
        "metadata": metadata,
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
    """A local stand-in for the data bucket: raw objects in, curated dataset and summaries out.

    Keys as the state machine writes them: an execution's raw objects under
    `raw/stock/ingest_date=<D>/execution=<name>/<SYMBOL>.json`, and those a failed Glue run left
    uncurated under `pending/stock_minute_bars/execution=<name>/<SYMBOL>.json`.
    """

    INGEST_DATE = "2026-11-21"

    def __init__(self, root: Path, spark: SparkSession) -> None:
        self.root = root
        self.spark = spark
        self.curated = root / "curated" / "stock_minute_bars"
        self.quarantine = root / "quarantine" / "stock_minute_bars"
        self.pending = root / "pending" / "stock_minute_bars"

    def raw_folder(self, fetch_id: str) -> Path:
        return self.root / "raw" / "stock" / f"ingest_date={self.INGEST_DATE}" / f"execution={fetch_id}"

    def put_raw(self, fetch_id: str, document: dict[str, Any], name: str | None = None) -> Path:
        """One of execution `fetch_id`'s raw objects, `<name>.json`, the name its symbol unless given (for a
        symbol that is no file name)."""
        return self._write(self.raw_folder(fetch_id), document, name)

    def put_pending(self, fetch_id: str, document: dict[str, Any], name: str | None = None) -> Path:
        """A raw object of execution `fetch_id` that its failed Glue run left for the next one."""
        return self._write(self.pending / f"execution={fetch_id}", document, name)

    @staticmethod
    def _write(folder: Path, document: dict[str, Any], name: str | None) -> Path:
        path = folder / f"{name or document['metadata']['symbol']}.json"
        assert path.parent == folder and not path.name.startswith((".", "_")), f"no object name: {path}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        return path

    def pending_files(self) -> list[Path]:
        return sorted(self.pending.rglob("*.json")) if self.pending.exists() else []

    def run(self, fetch_id: str, *documents: dict[str, Any]) -> dict[str, Any]:
        """Runs the job for execution `fetch_id` (its raw folder, and whatever is pending), with `documents`
        stored as its raw objects first."""
        for document in documents:
            self.put_raw(fetch_id, document)
        summary_path = self.summary_path(fetch_id)
        summary = stock_data_etl.main(self.arguments(fetch_id, summary_path), spark=self.spark)
        assert json.loads(summary_path.read_text()) == summary
        return summary

    def summary_path(self, fetch_id: str) -> Path:
        return self.root / "run-summaries" / f"{fetch_id}.json"

    def arguments(self, fetch_id: str, summary_path: Path) -> list[str]:
        # Folders end in "/", as the state machine and the template give them.
        return [
            "--JOB_NAME", "StockDataETLJOB",
            "--raw_path", f"{self.raw_folder(fetch_id)}/",
            "--pending_path", f"{self.pending}/",
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
