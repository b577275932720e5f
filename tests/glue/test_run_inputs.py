"""What a run reads (its own raw folder, and what failed runs left pending) and its per-symbol figures."""

import os
from collections import Counter
from datetime import datetime

import pytest

import stock_data_etl
from tests.glue.conftest import raw_document

pytestmark = pytest.mark.spark

BAR = ("100.0000", "101.0000", "99.5000", "100.5000", "1000")
CHANGED = ("100.0000", "101.0000", "99.5000", "100.7500", "1000")
# Each per-symbol figure and the run total it is a share of.
TOTAL_OF = {
    "barsRead": "rowsRead",
    "barsQuarantined": "rowsQuarantined",
    "rowsWritten": "rowsWritten",
    "newRows": "newRows",
    "rowsUpdated": "rowsUpdated",
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def assert_symbols_add_up(summary):
    for figure, total in TOTAL_OF.items():
        assert sum(s[figure] for s in summary["bySymbol"].values()) == summary[total], figure


def test_by_symbol_gives_each_symbols_share_of_the_run(lake):
    stored = {"2023-10-27 10:00:00": BAR, "2023-10-27 10:01:00": BAR, "2023-10-27 10:02:00": BAR}
    lake.run("first", raw_document("MSFT", stored, "2023-10-27T14:05:00Z"))
    fetched = "2023-10-27T15:00:00Z"
    msft = {
        "2023-10-27 10:01:00": CHANGED,  # updated
        "2023-10-27 10:02:00": BAR,  # unchanged
        "2023-10-27 10:03:00": BAR,  # new
    }
    aapl = {
        "2023-10-27 10:00:00": BAR,
        "2023-10-27 10:01:00": BAR,
        "2023-10-27 10:02:30": BAR,  # quarantined: not on a minute
    }
    ibm = {f"2023-10-{day} 11:{m:02d}:00": BAR for day in (26, 27) for m in range(3)}  # two trade dates
    summary = lake.run(
        "second",
        raw_document("MSFT", msft, fetched),
        raw_document("AAPL", aapl, fetched),
        raw_document("IBM", ibm, fetched),
    )

    assert summary["bySymbol"] == {
        "AAPL": {"barsRead": 3, "barsQuarantined": 1, "rowsWritten": 2, "newRows": 2, "rowsUpdated": 0},
        "IBM": {"barsRead": 6, "barsQuarantined": 0, "rowsWritten": 6, "newRows": 6, "rowsUpdated": 0},
        # Its stored 10:00, not fetched again, is rewritten with its partition: written, not new or updated.
        "MSFT": {"barsRead": 3, "barsQuarantined": 0, "rowsWritten": 4, "newRows": 1, "rowsUpdated": 1},
    }
    assert (summary["rowsRead"], summary["rowsQuarantined"], summary["rowsWritten"]) == (12, 1, 12)
    assert (summary["newRows"], summary["rowsUpdated"], summary["rowsUnchanged"]) == (9, 1, 1)
    assert_symbols_add_up(summary)
    # Every partition of the dataset was touched, so the rows written are the dataset's rows.
    assert Counter(row["symbol"] for row in lake.rows()) == {
        symbol: figures["rowsWritten"] for symbol, figures in summary["bySymbol"].items()
    }
    assert summary["quarantineReasons"] == {"timestamp not on a minute": 1}


def test_a_symbol_without_valid_bars_is_listed_with_what_it_read(lake):
    fetched = "2023-10-27T15:00:00Z"
    summary = lake.run(
        "f",
        raw_document("MSFT", {"2023-10-27 10:00:00": BAR, "2023-10-27 10:01:00": BAR}, fetched),
        raw_document("AAPL", {"2023-10-27 10:00:00": BAR, "2023-10-27 10:01:00": BAR}, fetched, "UTC"),
        raw_document("IBM", {}, fetched),
    )
    assert summary["bySymbol"] == {
        "AAPL": {"barsRead": 2, "barsQuarantined": 2, "rowsWritten": 0, "newRows": 0, "rowsUpdated": 0},
        "IBM": {"barsRead": 0, "barsQuarantined": 0, "rowsWritten": 0, "newRows": 0, "rowsUpdated": 0},
        "MSFT": {"barsRead": 2, "barsQuarantined": 0, "rowsWritten": 2, "newRows": 2, "rowsUpdated": 0},
    }
    assert summary["partitionsTouched"] == ["symbol=MSFT/trade_date=2023-10-27"]
    assert_symbols_add_up(summary)


def test_a_run_with_nothing_valid_lists_its_symbols_with_zero_rows_written(lake):
    summary = lake.run("f", raw_document("MSFT", {"2023-10-27 10:00:30": BAR}, "2023-10-27T15:00:00Z"))
    assert summary["bySymbol"] == {
        "MSFT": {"barsRead": 1, "barsQuarantined": 1, "rowsWritten": 0, "newRows": 0, "rowsUpdated": 0}
    }
    assert not lake.curated.exists()
    assert_symbols_add_up(summary)


def test_a_run_reads_only_its_own_executions_folder(lake):
    fetched = "2023-10-27T15:00:00Z"
    # Another execution of the same ingest date: its own folder, beside this run's.
    lake.put_raw("other", raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, fetched))
    lake.put_raw("other", raw_document("MSFT", {"2023-10-27 10:00:00": CHANGED}, "2023-10-27T16:00:00Z"))
    summary = lake.run("f", raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, fetched))
    assert [(row["symbol"], row["close"], row["fetch_id"]) for row in lake.rows()] == [("MSFT", 100.5, "f")]
    assert summary["rawObjects"] == 1 and summary["pendingRawObjectsCurated"] == 0
    assert list(summary["bySymbol"]) == ["MSFT"]


@pytest.mark.parametrize("name", ["..", "x=y", "--fetch_id", "-", "é" * 40])
def test_any_execution_name_names_the_folder_read(lake, name):
    summary = lake.run(name, raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"))
    (row,) = lake.rows()
    assert row["fetch_id"] == name
    assert summary["rawObjects"] == 1 and summary["rowsWritten"] == 1


def test_pending_objects_of_a_failed_run_are_curated_with_their_own_fetch_and_then_deleted(lake):
    # What execution failed-1's Glue run left: its documents, which name the execution that fetched them.
    left = [
        lake.put_pending(
            "failed-1",
            raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, "2023-10-27T14:01:00Z", fetch_id="failed-1"),
        ),
        lake.put_pending(
            "failed-1",
            raw_document(
                "MSFT",
                {"2023-10-27 10:00:00": BAR, "2023-10-27 10:01:30": BAR},  # one bar to quarantine
                "2023-10-27T14:01:00Z",
                fetch_id="failed-1",
            ),
        ),
    ]
    assert lake.pending_files() == sorted(left)
    summary = lake.run(
        "next",
        raw_document("MSFT", {"2023-10-27 10:01:00": BAR}, "2023-10-27T14:02:00Z", fetch_id="next"),
    )

    assert [(row["symbol"], row["ts"], row["fetch_id"]) for row in lake.rows()] == [
        ("AAPL", utc("2023-10-27 14:00:00"), "failed-1"),
        ("MSFT", utc("2023-10-27 14:00:00"), "failed-1"),
        ("MSFT", utc("2023-10-27 14:01:00"), "next"),
    ]
    assert summary["fetchId"] == "next"
    assert summary["rawObjects"] == 3 and summary["pendingRawObjectsCurated"] == 2
    assert summary["rowsRead"] == 4 and summary["rowsWritten"] == 3 and summary["rowsQuarantined"] == 1
    assert summary["bySymbol"] == {
        "AAPL": {"barsRead": 1, "barsQuarantined": 0, "rowsWritten": 1, "newRows": 1, "rowsUpdated": 0},
        "MSFT": {"barsRead": 3, "barsQuarantined": 1, "rowsWritten": 2, "newRows": 2, "rowsUpdated": 0},
    }
    assert_symbols_add_up(summary)
    # The pending bar's reject is kept with this run's, under its own fetch and object.
    (rejected,) = lake.quarantined("next")
    assert rejected["fetch_id"] == "failed-1"
    assert rejected["raw_path"].endswith("/pending/stock_minute_bars/execution=failed-1/MSFT.json")
    # Curated, so no longer pending; the run's own objects stay where they are.
    assert lake.pending_files() == []
    assert (lake.raw_folder("next") / "MSFT.json").is_file()

    # The next run has nothing pending left to curate.
    again = lake.run("later", raw_document("IBM", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"))
    assert again["pendingRawObjectsCurated"] == 0 and again["rawObjects"] == 1
    assert list(again["bySymbol"]) == ["IBM"]


def test_pending_objects_of_several_failed_runs_are_all_curated(lake):
    for number, minute in ((1, "10:00"), (2, "10:01")):
        lake.put_pending(
            f"failed-{number}",
            raw_document(
                "MSFT", {f"2023-10-27 {minute}:00": BAR}, "2023-10-27T14:05:00Z", fetch_id=f"failed-{number}"
            ),
        )
    summary = lake.run("next", raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, "2023-10-27T14:06:00Z"))
    assert [(row["symbol"], row["fetch_id"]) for row in lake.rows()] == [
        ("AAPL", "next"),
        ("MSFT", "failed-1"),
        ("MSFT", "failed-2"),
    ]
    assert summary["pendingRawObjectsCurated"] == 2
    assert summary["bySymbol"]["MSFT"]["newRows"] == 2
    assert lake.pending_files() == []


def test_a_backlog_of_pending_objects_drains_oldest_first_over_several_runs(lake, monkeypatch):
    monkeypatch.setattr(stock_data_etl, "PENDING_OBJECTS_PER_RUN", 2)
    kept = []
    for number, minute in enumerate(("10:00", "10:01", "10:02"), start=1):
        path = lake.put_pending(
            f"failed-{number}",
            raw_document(
                "MSFT", {f"2023-10-27 {minute}:00": BAR}, "2023-10-27T14:05:00Z", fetch_id=f"failed-{number}"
            ),
        )
        os.utime(path, (1_700_000_000 - number * 60,) * 2)  # the later the run, the older its copy
        kept.append(path)
    first = lake.run("next-1", raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, "2023-10-27T14:06:00Z"))
    assert (first["pendingRawObjectsCurated"], first["pendingRawObjectsNotDeleted"]) == (2, 0)
    assert lake.pending_files() == [kept[0]]  # the newest copy waits for the next run
    second = lake.run("next-2", raw_document("AAPL", {"2023-10-27 10:01:00": BAR}, "2023-10-27T14:07:00Z"))
    assert second["pendingRawObjectsCurated"] == 1 and lake.pending_files() == []
    assert sorted(row["fetch_id"] for row in lake.rows() if row["symbol"] == "MSFT") == [
        "failed-1",
        "failed-2",
        "failed-3",
    ]


@pytest.mark.parametrize("failure", ["a malformed own object", "the curated write fails"])
def test_a_failed_run_leaves_the_pending_objects_for_the_next(lake, failure):
    lake.run("good", raw_document("IBM", {"2023-10-27 10:00:00": BAR}, "2023-10-27T14:00:00Z"))
    before = lake.rows()
    pending = lake.put_pending(
        "failed-1",
        raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, "2023-10-27T14:01:00Z", fetch_id="failed-1"),
    )
    pending_body = pending.read_bytes()
    own = raw_document("MSFT", {"2023-10-27 10:01:00": BAR}, "2023-10-27T14:02:00Z")
    own_path = lake.put_raw("next", own)
    blocked = lake.curated / "symbol=AAPL"
    if failure == "a malformed own object":
        own_path.write_text(own_path.read_text()[:-20])  # not JSON: FAILFAST fails the read
        expected = r"(?i)malformed"
    else:
        blocked.write_text("a file where the partition's folder goes")  # fails after the staged write
        expected = r"ParentNotDirectoryException|not a directory"

    with pytest.raises(Exception, match=expected):
        lake.run("next")
    assert lake.pending_files() == [pending] and pending.read_bytes() == pending_body
    assert not lake.summary_path("next").exists()
    blocked.unlink(missing_ok=True)
    assert lake.rows() == before

    # Once the cause is gone (say, on a re-run), the pending object is curated with the run's own.
    lake.put_raw("next", own)
    summary = lake.run("next")
    assert summary["pendingRawObjectsCurated"] == 1
    assert [(row["symbol"], row["fetch_id"]) for row in lake.rows()] == [
        ("AAPL", "failed-1"),
        ("IBM", "good"),
        ("MSFT", "next"),
    ]
    assert lake.pending_files() == []


@pytest.mark.parametrize("pending", ["missing", "empty", "an empty execution folder", "no JSON"])
def test_nothing_pending_is_fine(lake, pending):
    if pending == "empty":
        lake.pending.mkdir(parents=True)
    elif pending == "an empty execution folder":
        (lake.pending / "execution=failed-1").mkdir(parents=True)
    elif pending == "no JSON":
        (lake.pending / "execution=failed-1").mkdir(parents=True)
        (lake.pending / "execution=failed-1" / "notes.txt").write_text("not a raw object")
    summary = lake.run("f", raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"))
    assert summary["pendingRawObjectsCurated"] == 0
    assert summary["rawObjects"] == 1 and summary["rowsWritten"] == 1
    if pending == "no JSON":
        assert (lake.pending / "execution=failed-1" / "notes.txt").is_file()


@pytest.mark.parametrize("name", ["_MSFT.json", ".MSFT.json"])
def test_a_file_spark_would_skip_as_hidden_is_neither_counted_nor_deleted(lake, name):
    import json

    folder = lake.pending / "execution=failed-1"
    folder.mkdir(parents=True)
    hidden = folder / name
    hidden.write_text(json.dumps(raw_document("MSFT", {"2023-10-27 10:01:00": BAR}, "2023-10-27T15:00:00Z")))
    summary = lake.run("f", raw_document("MSFT", {"2023-10-27 10:00:00": BAR}, "2023-10-27T15:00:00Z"))
    assert (summary["pendingRawObjectsCurated"], summary["rowsWritten"]) == (0, 1)
    assert hidden.is_file()


@pytest.mark.parametrize("raw_folder", ["missing", "empty"])
def test_a_run_without_raw_objects_of_its_own_fails_naming_the_raw_path(lake, raw_folder):
    if raw_folder == "empty":
        lake.raw_folder("f").mkdir(parents=True)
    # Something pending does not make up for it, and stays pending.
    pending = lake.put_pending(
        "failed-1",
        raw_document("AAPL", {"2023-10-27 10:00:00": BAR}, "2023-10-27T14:01:00Z", fetch_id="failed-1"),
    )
    with pytest.raises(ValueError, match="--raw_path") as failure:
        lake.run("f")
    assert str(lake.raw_folder("f")) in str(failure.value)
    assert lake.pending_files() == [pending]
    assert not lake.curated.exists()
    assert not lake.summary_path("f").exists()
