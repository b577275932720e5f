"""The Glue job on local Spark: typed rows, DST, deduplication, quarantine, merge, idempotence."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

import stock_data_etl
from offline_aws.local_spark import pyspark_submit_args
from tests.glue.conftest import Lake, raw_document, reference_bars

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]
BAR = ("100.0000", "101.0000", "99.5000", "100.5000", "1000")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_reference_payload_becomes_100_typed_rows_with_utc_instants(lake):
    summary = lake.run("fetch-1", raw_document("MSFT", reference_bars(), "2023-10-28T00:00:05.000Z"))

    rows = lake.rows()
    assert len(rows) == 100
    last = rows[-1]
    # 19:59 EDT (UTC-4) on 2023-10-27 is 23:59 UTC.
    assert last["ts"] == utc("2023-10-27 23:59:00")
    assert last["trade_date"] == "2023-10-27"
    assert last["symbol"] == "MSFT"
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        329.95, 330.0, 329.81, 329.81, 669,
    )  # fmt: skip
    assert last["fetch_id"] == "fetch-1"
    assert last["fetched_at"] == utc("2023-10-28 00:00:05")
    assert summary["rowsRead"] == summary["rowsWritten"] == summary["newRows"] == 100
    assert summary["duplicatesDropped"] == summary["rowsQuarantined"] == 0
    assert summary["partitionsTouched"] == ["symbol=MSFT/trade_date=2023-10-27"]


def test_writes_microsecond_timestamps_partitioned_by_symbol_and_trade_date(lake):
    lake.run("fetch-1", raw_document("MSFT", reference_bars(), "2023-10-28T00:00:05Z"))
    files = list((lake.curated / "symbol=MSFT" / "trade_date=2023-10-27").glob("*.parquet"))
    assert len(files) == 1
    schema = duckdb.sql(f"SELECT name, type, logical_type FROM parquet_schema('{files[0]}')").fetchall()
    ts_column = next(column for column in schema if column[0] == "ts")
    assert ts_column[1] == "INT64" and "MICROS" in str(ts_column[2])
    assert {name for name, *_ in schema} >= {name for name, _ in stock_data_etl.CURATED_COLUMNS}


def test_derived_columns_follow_their_definitions(lake):
    bars = {
        "2023-10-27 09:30:00": ("10.0", "12.0", "9.0", "11.0", "100"),
        "2023-10-27 09:31:00": ("11.0", "14.0", "11.0", "13.0", "300"),
    }
    lake.run("f", raw_document("ABC", bars, "2023-10-27T14:00:00Z"))
    first, second = lake.rows()
    assert first["typical_price"] == pytest.approx((12 + 9 + 11) / 3)
    assert first["vwap"] == pytest.approx(first["typical_price"])
    assert first["minute_return"] is None
    assert second["vwap"] == pytest.approx((100 * (32 / 3) + 300 * (38 / 3)) / 400)
    assert second["minute_return"] == pytest.approx(13 / 11 - 1)


def overlapping_fetches(lake):
    older = {f"2023-10-27 10:{m:02d}:00": BAR for m in range(0, 30)}
    newer = {f"2023-10-27 10:{m:02d}:00": ("100.0", "102.0", "99.0", "101.5", "2000") for m in range(20, 50)}
    lake.put_raw("fetch-older", raw_document("MSFT", older, "2023-10-27T14:30:00Z"))
    lake.put_raw("fetch-newer", raw_document("MSFT", newer, "2023-10-27T14:50:00Z"))


def test_overlapping_fetches_keep_each_minute_once_newest_fetch_winning(lake):
    overlapping_fetches(lake)
    lake.run("fetch-older")
    summary = lake.run("fetch-newer")

    rows = lake.rows()
    assert len(rows) == 50
    assert len({row["ts"] for row in rows}) == 50
    overlap = [row for row in rows if utc("2023-10-27 14:20:00") <= row["ts"] <= utc("2023-10-27 14:29:00")]
    assert len(overlap) == 10
    assert {(row["fetch_id"], row["close"], row["volume"]) for row in overlap} == {
        ("fetch-newer", 101.5, 2000)
    }
    assert summary["duplicatesDropped"] == 0
    assert summary["newRows"] == 20
    assert summary["rowsUpdated"] == 10
    assert summary["rowsStoredBefore"] == 30
    assert_every_valid_bar_counted_once(summary)


def test_newest_fetch_wins_even_when_processed_last(lake, tmp_path, spark):
    overlapping_fetches(lake)
    lake.run("fetch-older")
    lake.run("fetch-newer")
    in_order = lake.rows()

    reversed_lake = Lake(tmp_path / "reversed", spark)
    overlapping_fetches(reversed_lake)
    reversed_lake.run("fetch-newer")
    summary = reversed_lake.run("fetch-older")

    overlap = [row for row in reversed_lake.rows() if row["ts"] == utc("2023-10-27 14:25:00")]
    assert [row["fetch_id"] for row in overlap] == ["fetch-newer"]
    # Derived columns too: arrival order does not change the dataset.
    assert reversed_lake.rows() == in_order
    assert summary["rowsUpdated"] == 0 and summary["newRows"] == 20
    # The stored minutes came from the newer fetch, so they stay: outdated, not updated.
    assert summary["rowsOutdated"] == 10
    assert_every_valid_bar_counted_once(summary)


@pytest.mark.parametrize("newer_is_pending", [False, True])
def test_overlapping_objects_within_one_run_keep_the_newest(lake, newer_is_pending):
    # One symbol twice in one run: the run's own object and the one a failed run left pending.
    older = ({"2023-10-27 10:00:00": BAR}, "2023-10-27T14:01:00Z")
    newer = ({"2023-10-27 10:00:00": ("100.0", "101.0", "99.0", "100.9", "7")}, "2023-10-27T14:05:00Z")
    pending, own = (newer, older) if newer_is_pending else (older, newer)
    lake.put_pending("failed", raw_document("MSFT", *pending, fetch_id="failed"))
    summary = lake.run("f", raw_document("MSFT", *own, fetch_id="f"))
    (row,) = lake.rows()
    assert (row["close"], row["volume"], row["fetched_at"]) == (100.9, 7, utc("2023-10-27 14:05:00"))
    assert row["fetch_id"] == ("failed" if newer_is_pending else "f")
    assert summary["rowsRead"] == 2 and summary["duplicatesDropped"] == 1 and summary["rowsWritten"] == 1


@pytest.mark.parametrize(
    ("exchange_time", "expected_utc"),
    [
        ("2023-03-10 09:30:00", "2023-03-10 14:30:00"),  # EST, before spring forward
        ("2023-03-13 09:30:00", "2023-03-13 13:30:00"),  # EDT, after
        ("2023-03-12 03:00:00", "2023-03-12 07:00:00"),  # first minute of daylight time
        ("2023-03-12 01:59:00", "2023-03-12 06:59:00"),  # last minute of standard time
        ("2023-11-03 09:30:00", "2023-11-03 13:30:00"),  # EDT, before fall back
        ("2023-11-06 09:30:00", "2023-11-06 14:30:00"),  # EST, after
        ("2023-11-05 01:30:00", "2023-11-05 05:30:00"),  # repeated hour: the earlier (EDT) offset
        ("2023-11-05 02:00:00", "2023-11-05 07:00:00"),  # first unambiguous EST minute
    ],
)
def test_exchange_time_becomes_the_right_utc_instant_across_dst(lake, exchange_time, expected_utc):
    lake.run("f", raw_document("MSFT", {exchange_time: BAR}, "2023-11-06T21:00:00Z"))
    (row,) = lake.rows()
    assert row["ts"] == utc(expected_utc)
    assert row["trade_date"] == exchange_time[:10]


def test_a_time_in_the_spring_forward_gap_is_quarantined(lake):
    bars = {"2023-03-12 02:30:00": BAR, "2023-03-12 03:30:00": BAR}
    summary = lake.run("f", raw_document("MSFT", bars, "2023-03-12T09:00:00Z"))
    assert [row["ts"] for row in lake.rows()] == [utc("2023-03-12 07:30:00")]
    assert summary["quarantineReasons"] == {"nonexistent exchange time": 1}


def test_re_running_the_same_fetch_gives_the_same_dataset(lake):
    lake.run("fetch-1", raw_document("MSFT", reference_bars(), "2023-10-28T00:00:05Z"))
    before = lake.rows()
    summary = lake.run("fetch-1")
    assert lake.rows() == before
    assert summary["newRows"] == summary["rowsUpdated"] == summary["duplicatesDropped"] == 0
    assert summary["rowsUnchanged"] == summary["rowsWritten"] == 100


def assert_every_valid_bar_counted_once(summary):
    delivered = ("newRows", "rowsUpdated", "rowsUnchanged", "rowsOutdated", "duplicatesDropped")
    assert sum(summary[count] for count in delivered) == summary["rowsValid"]


def test_identical_data_fetched_again_is_unchanged_not_updated_or_duplicate(lake):
    lake.run("fetch-1", raw_document("MSFT", reference_bars(), "2023-10-28T00:00:05Z"))
    summary = lake.run("fetch-2", raw_document("MSFT", reference_bars(), "2023-10-28T00:05:05Z"))
    assert (summary["newRows"], summary["rowsUpdated"], summary["duplicatesDropped"]) == (0, 0, 0)
    assert summary["rowsUnchanged"] == 100 and summary["rowsWritten"] == 100
    assert_every_valid_bar_counted_once(summary)


def test_one_changed_bar_is_the_one_update(lake):
    bars = reference_bars()
    lake.run("fetch-1", raw_document("MSFT", bars, "2023-10-28T00:00:05Z"))
    last = max(bars)
    high = str(float(bars[last][1]) + 1)
    changed = bars | {last: (bars[last][0], high, *bars[last][2:])}
    summary = lake.run("fetch-2", raw_document("MSFT", changed, "2023-10-28T00:05:05Z"))
    assert (summary["rowsUpdated"], summary["rowsUnchanged"], summary["newRows"]) == (1, 99, 0)
    assert summary["duplicatesDropped"] == 0
    assert_every_valid_bar_counted_once(summary)
    assert lake.rows()[-1]["high"] == float(high)


def test_a_duplicate_within_one_run_is_counted_as_one_not_the_stored_row(lake):
    minute = {"2023-10-27 10:00:00": BAR}
    lake.run("stored", raw_document("MSFT", minute, "2023-10-27T14:01:00Z"))
    lake.put_pending("a", raw_document("MSFT", minute, "2023-10-27T14:05:00Z", fetch_id="a"))
    summary = lake.run("b", raw_document("MSFT", minute, "2023-10-27T14:06:00Z"))
    assert (summary["duplicatesDropped"], summary["rowsUnchanged"], summary["rowsUpdated"]) == (1, 1, 0)
    assert_every_valid_bar_counted_once(summary)
    assert len(lake.rows()) == 1


def test_invalid_rows_are_quarantined_with_their_reason(lake):
    bars = {
        "2023-10-27 10:00:00": BAR,
        "2023-10-27 10:01:00": ("abc", "101.0", "99.0", "100.0", "10"),
        "2023-10-27 10:02:00": ("100.0", "101.0", "99.0", "100.0", "-5"),
        "2023-10-27 10:03:00": ("100.0", "98.0", "99.0", "98.5", "10"),
        "2023-10-27 10:04:00": ("0.0", "101.0", "0.0", "100.0", "10"),
        "2023-10-27 10:05:00": ("NaN", "101.0", "99.0", "100.0", "10"),
        "2023-10-27 10:06:00": ("100.0", "101.0", "99.0", "100.0", "1.5"),
        "2023-10-27 10:07:00": ("100.0", "101.0", "99.0", "102.0", "10"),
        "2023-10-27 10:08:00": ("1e2", "101.0", "99.0", "100.0", "10"),
        "2023-10-27 10:09:00": ("", "101.0", "99.0", "100.0", "10"),
        "2023-10-27 10:10:00": ("100.0", "101.0", "99.0", "100.0", "99999999999999999999"),
        "2023-10-27 10:11:30": BAR,
        "2023-13-45 99:99:00": BAR,
        # Near-misses that Spark's datetime parser would raise on instead of returning null.
        "2023-10-27 9:30:00": BAR,
        " 2023-10-27 10:00:00": BAR,
        "2023-10-27T10:12:00": BAR,
    }
    summary = lake.run("f", raw_document("MSFT", bars, "2023-10-27T15:00:00Z"))

    assert [row["ts"] for row in lake.rows()] == [utc("2023-10-27 14:00:00")]
    assert summary["quarantineReasons"] == {
        "unparseable price": 4,
        "negative volume": 1,
        "high below low": 1,
        "non-positive price": 1,
        "unparseable volume": 2,
        "open or close outside high-low range": 1,
        "timestamp not on a minute": 1,
        "unparseable timestamp": 4,
    }
    quarantined = {row["exchange_time"]: row for row in lake.quarantined("f")}
    assert quarantined["2023-10-27 10:01:00"]["open"] == "abc"
    assert quarantined["2023-10-27 10:01:00"]["reject_reason"] == "unparseable price"
    assert quarantined["2023-10-27 10:01:00"]["raw_path"].endswith("/execution=f/MSFT.json")
    assert summary["rowsRead"] == 16 and summary["rowsQuarantined"] == 15 and summary["rowsValid"] == 1
    assert summary["quarantinePath"] == f"{lake.quarantine}/fetch_id=f"


def test_a_bar_with_a_missing_field_is_quarantined(lake):
    document = raw_document(
        "MSFT", {"2023-10-27 10:00:00": BAR, "2023-10-27 10:01:00": BAR}, "2023-10-27T15:00:00Z"
    )
    del document["timeSeries"]["2023-10-27 10:01:00"]["volume"]
    summary = lake.run("f", document)
    assert summary["quarantineReasons"] == {"unparseable volume": 1}
    assert len(lake.rows()) == 1


@pytest.mark.parametrize(
    ("symbol", "interval", "reason"),
    [
        ("MS/FT", "1min", "invalid symbol"),
        ("", "1min", "missing symbol"),
        ("MSFT", "5min", "unexpected interval"),
    ],
)
def test_document_level_problems_quarantine_every_bar(lake, symbol, interval, reason):
    document = raw_document(
        symbol, {"2023-10-27 10:00:00": BAR, "2023-10-27 10:01:00": BAR}, "2023-10-27T15:00:00Z"
    )
    document["metadata"]["interval"] = interval
    lake.put_raw("f", document, name="document")
    summary = lake.run("f")
    assert summary["rawObjects"] == 1
    assert summary["quarantineReasons"] == {reason: 2}
    assert not lake.curated.exists()


def test_a_raw_object_that_is_not_the_contract_fails_the_run_and_changes_nothing(lake):
    lake.run("good", raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"))
    before = lake.rows()
    lake.put_raw("broken", raw_document("AAPL", {"2023-10-27 10:01:00": BAR}, "2023-10-27T15:01:00Z"))
    broken = lake.put_raw(
        "broken", raw_document("MSFT", {"2023-10-27 10:01:00": BAR}, "2023-10-27T15:01:00Z")
    )
    broken.write_text(broken.read_text()[:-20])
    with pytest.raises(Exception, match=r"(?i)malformed"):
        lake.run("broken")
    assert lake.rows() == before
    assert not lake.summary_path("broken").exists()


def test_unexpected_time_zone_is_quarantined_not_guessed(lake):
    summary = lake.run("f", raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z", "UTC"))
    assert summary["quarantineReasons"] == {"unexpected time zone": 1}
    assert not lake.curated.exists()


def test_empty_time_series_writes_nothing_and_says_so(lake):
    summary = lake.run("f", raw_document("MSFT", {}, "2023-10-27T15:00:00Z"))
    assert not lake.curated.exists()
    assert summary["rowsRead"] == summary["rowsWritten"] == 0
    assert summary["partitionsTouched"] == []
    assert summary["rawObjects"] == summary["rawObjectsWithoutBars"] == 1
    assert summary["quarantinePath"] is None


def test_one_run_of_several_objects_counts_each_once_and_merges_only_the_stored_partitions(lake):
    stored = {"2023-10-26 10:00:00": BAR, "2023-10-26 10:01:00": BAR}
    lake.run("first", raw_document("MSFT", stored, "2023-10-26T15:00:00Z"))
    fetched = "2023-10-27T15:00:00Z"
    msft = {"2023-10-26 10:01:00": BAR, "2023-10-27 10:00:00": BAR}
    aapl = {"2023-10-26 10:00:00": BAR, "2023-10-26 10:00:30": BAR}
    summary = lake.run(
        "second",
        raw_document("MSFT", msft, fetched),
        raw_document("AAPL", aapl, fetched),
        raw_document("IBM", {}, fetched),
    )

    assert summary["rawObjects"] == 3 and summary["rawObjectsWithoutBars"] == 1
    assert summary["rowsRead"] == 4 and summary["rowsValid"] == 3
    assert summary["quarantineReasons"] == {"timestamp not on a minute": 1}
    assert summary["partitionsTouched"] == [
        "symbol=AAPL/trade_date=2023-10-26",
        "symbol=MSFT/trade_date=2023-10-26",
        "symbol=MSFT/trade_date=2023-10-27",
    ]
    # Only MSFT's 2023-10-26 was stored: its two rows are merged, one of them fetched again.
    assert summary["rowsStoredBefore"] == 2 and summary["rowsUnchanged"] == 1
    assert summary["rowsWritten"] == 4 and summary["newRows"] == 2
    assert_every_valid_bar_counted_once(summary)
    assert [(row["symbol"], row["trade_date"]) for row in lake.rows()] == [
        ("AAPL", "2023-10-26"),
        ("MSFT", "2023-10-26"),
        ("MSFT", "2023-10-26"),
        ("MSFT", "2023-10-27"),
    ]


def test_an_empty_stored_partition_directory_is_merged_not_an_error(lake):
    (lake.curated / "symbol=MSFT" / "trade_date=2023-10-27").mkdir(parents=True)
    summary = lake.run("f", raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"))
    assert summary["rowsWritten"] == 1 and summary["rowsStoredBefore"] == 0


def test_one_fetch_across_a_dst_weekend_splits_into_trade_dates(lake):
    bars = {
        "2023-11-03 19:58:00": BAR,
        "2023-11-03 19:59:00": ("100.5", "101.0", "100.0", "100.8", "10"),
        "2023-11-06 04:00:00": ("100.0", "101.0", "99.0", "100.2", "10"),
        "2023-11-06 04:01:00": BAR,
    }
    summary = lake.run("f", raw_document("MSFT", bars, "2023-11-06T09:05:00Z"))
    rows = lake.rows()
    assert [(row["trade_date"], row["ts"]) for row in rows] == [
        ("2023-11-03", utc("2023-11-03 23:58:00")),  # EDT, UTC-4
        ("2023-11-03", utc("2023-11-03 23:59:00")),
        ("2023-11-06", utc("2023-11-06 09:00:00")),  # EST, UTC-5
        ("2023-11-06", utc("2023-11-06 09:01:00")),
    ]
    # Returns and VWAP restart with each trade date.
    assert [row["minute_return"] is None for row in rows] == [True, False, True, False]
    assert rows[2]["vwap"] == pytest.approx(rows[2]["typical_price"])
    assert summary["partitionsTouched"] == [
        "symbol=MSFT/trade_date=2023-11-03",
        "symbol=MSFT/trade_date=2023-11-06",
    ]


def test_reference_payload_vwap_and_returns_match_an_independent_computation(lake):
    bars = reference_bars()
    lake.run("f", raw_document("MSFT", bars, "2023-10-28T00:00:05Z"))
    rows = lake.rows()
    traded = volume = 0.0
    previous_close = None
    for (_, bar), row in zip(sorted(bars.items()), rows, strict=True):
        high, low, close, vol = float(bar[1]), float(bar[2]), float(bar[3]), int(bar[4])
        traded += (high + low + close) / 3 * vol
        volume += vol
        assert row["vwap"] == pytest.approx(traded / volume)
        if previous_close is None:
            assert row["minute_return"] is None
        else:
            assert row["minute_return"] == pytest.approx(close / previous_close - 1)
        previous_close = close


def test_two_symbols_in_one_run(lake):
    summary = lake.run(
        "f",
        raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"),
        raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"),
    )
    assert [(row["symbol"], row["ts"]) for row in lake.rows()] == [
        ("AAPL", utc("2023-10-27 14:00:00")),
        ("MSFT", utc("2023-10-27 14:00:00")),
    ]
    assert summary["partitionsTouched"] == [
        "symbol=AAPL/trade_date=2023-10-27",
        "symbol=MSFT/trade_date=2023-10-27",
    ]


def test_existing_partition_is_merged_and_untouched_partitions_are_left_alone(lake):
    morning = {f"2023-10-27 09:{m:02d}:00": BAR for m in range(30, 60)}
    previous_day = {f"2023-10-26 09:{m:02d}:00": BAR for m in range(30, 40)}
    lake.run("morning", raw_document("MSFT", morning | previous_day, "2023-10-27T14:00:00Z"))
    untouched = lake.curated / "symbol=MSFT" / "trade_date=2023-10-26"
    before = {p.name: p.read_bytes() for p in untouched.iterdir()}

    afternoon = {f"2023-10-27 13:{m:02d}:00": BAR for m in range(0, 20)}
    summary = lake.run("afternoon", raw_document("MSFT", afternoon, "2023-10-27T18:00:00Z"))

    rows = lake.rows()
    assert sum(row["trade_date"] == "2023-10-27" for row in rows) == 50
    assert sum(row["trade_date"] == "2023-10-26" for row in rows) == 10
    assert {p.name: p.read_bytes() for p in untouched.iterdir()} == before
    assert summary["partitionsTouched"] == ["symbol=MSFT/trade_date=2023-10-27"]
    assert summary["rowsWritten"] == 50 and summary["newRows"] == 20


def test_runs_as_a_glue_script_with_glue_arguments(lake, tmp_path):
    lake.put_raw("fetch-1", raw_document("MSFT", reference_bars(), "2023-10-28T00:00:05Z"))
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "glue" / "stock_data_etl.py"),
            *lake.arguments("fetch-1", summary_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # Its own JVM, started as the offline tool starts one (the script's own settings are Glue's).
        env={**os.environ, "PYSPARK_SUBMIT_ARGS": pyspark_submit_args()},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(summary_path.read_text())["rowsWritten"] == 100
    assert len(lake.rows()) == 100


def test_missing_argument_fails_the_run(lake, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "glue" / "stock_data_etl.py"), "--raw_path", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "--pending_path" in result.stderr and "--curated_path" in result.stderr


def test_values_sent_as_json_numbers_are_read_as_their_text(lake):
    document = raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z")
    document["timeSeries"]["2023-10-27 10:00:00"] = {
        "open": 100.0, "high": 101.0, "low": 99.5, "close": 100.5, "volume": 1000,
    }  # fmt: skip
    document["metadata"]["barCount"] = "1"
    summary = lake.run("f", document)
    (row,) = lake.rows()
    assert (row["open"], row["volume"]) == (100.0, 1000)
    assert summary["rowsQuarantined"] == 0


def many_days(close: str) -> dict[str, tuple[str, str, str, str, str]]:
    """One bar a day over 240 days: 240 partitions, so the write lasts long enough to be killed in."""
    first = datetime(2023, 1, 2, 10, 0)
    return {
        (first + timedelta(days=n)).strftime("%Y-%m-%d %H:%M:%S"): ("100.0", "101.0", "99.0", close, "10")
        for n in range(240)
    }


def killed_during_its_write(lake, arguments: list[str]) -> None:
    """Runs the script as Glue does and kills it (JVM included) once a part file of its write exists."""
    environment = {**os.environ, "PYSPARK_SUBMIT_ARGS": pyspark_submit_args()}
    script = [sys.executable, str(REPO / "glue" / "stock_data_etl.py"), *arguments]
    for _ in range(5):  # a write that ended before a part file was seen is simply run again
        process = subprocess.Popen(script, env=environment, start_new_session=True, stderr=subprocess.DEVNULL)
        try:
            while process.poll() is None:
                if any(lake.root.rglob("part-*.parquet")) and any(
                    "_temporary" in str(p) or "staging" in str(p) for p in lake.root.rglob("part-*")
                ):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    return
                time.sleep(0.002)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    pytest.fail("the write always ended before it could be killed")


def test_a_run_killed_while_writing_leaves_the_table_readable_and_the_next_run_repairs_it(lake, tmp_path):
    lake.run("seed", raw_document("MSFT", many_days("100.0"), "2023-10-27T15:00:00Z"))
    lake.put_raw("changed", raw_document("MSFT", many_days("100.5"), "2023-10-28T15:00:00Z"))
    killed_during_its_write(lake, lake.arguments("changed", tmp_path / "killed.json"))

    def table() -> list[tuple]:
        glob = f"{lake.curated}/**/*.parquet"
        return duckdb.sql(
            f"SELECT count(*), count(DISTINCT ts), min(close), max(close) FROM read_parquet('{glob}')"
        ).fetchall()

    # A reader of the table's files sees the last complete write, nothing of the killed one.
    assert table() == [(240, 240, 100.0, 100.0)]
    summary = lake.run("changed")
    assert summary["rowsUpdated"] == 240
    assert table() == [(240, 240, 100.5, 100.5)]
    assert len(list(lake.curated.rglob("*.parquet"))) == 240
    # Nothing of either write is left outside the table's partitions.
    assert sorted(p.name for p in lake.curated.iterdir()) == ["symbol=MSFT"]
