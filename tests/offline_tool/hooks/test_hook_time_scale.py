"""Hook time-scale: Wait and Retry delays scaled, `.sync` polling at the configured interval, timestamp
waits until their UTC second (timestamp._get_wait_seconds). That a scaled
delay racing a real-time Glue run keeps its scale-1 outcome is guarded end to end by
tests/workflows/test_etl_workflow.py (two overlapping ETL executions)."""

import pytest
from emulation_helpers import TEST_TIME_SCALE, unique

from offline_aws import moto_hooks
from offline_aws.moto_hooks import RecordedDelay


def test_a_wait_of_60_seconds_is_scaled_by_the_engine(emulation, create_state_machine) -> None:
    machine = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
    moto_hooks.clear_recorded_delays()
    result = emulation.run_execution(create_state_machine(machine), {})
    assert result.status == "SUCCEEDED"
    assert RecordedDelay("wait", 60.0, 60 * TEST_TIME_SCALE) in moto_hooks.recorded_delays()


def test_retry_back_off_is_scaled_by_the_engine(emulation, create_state_machine) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
        "Parameters": {"Bucket": unique("missing-bucket"), "Key": "k"},
        "Retry": [
            {
                "ErrorEquals": ["S3.NoSuchBucketException"],
                "IntervalSeconds": 7,
                "MaxAttempts": 2,
                "BackoffRate": 3,
            }
        ],
        "End": True,
    }
    moto_hooks.clear_recorded_delays()
    result = emulation.run_execution(create_state_machine({"StartAt": "Get", "States": {"Get": task}}), {})
    assert result.error == "S3.NoSuchBucketException"
    retries = [d for d in moto_hooks.recorded_delays() if d.kind == "retry"]
    assert [d.requested_seconds for d in retries] == [7.0, 21.0]
    assert [d.slept_seconds for d in retries] == pytest.approx([7 * TEST_TIME_SCALE, 21 * TEST_TIME_SCALE])


def test_sync_tasks_poll_at_the_configured_interval(emulation) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )

    assert (
        moto_hooks.settings.sync_poll_seconds
        == state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK
    )
    assert moto_hooks.settings.sync_poll_seconds == emulation.sync_poll_seconds


def test_a_timestamp_wait_lasts_until_the_utc_instant_in_any_host_time_zone(
    emulation, create_state_machine, monkeypatch
) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    # moto measured the wait against the host's local time; a host seven hours ahead of UTC shows it.
    monkeypatch.setenv("TZ", "Asia/Bangkok")
    time.tzset()
    try:
        until = (datetime.now(UTC) + timedelta(seconds=31)).replace(microsecond=0)
        # AWS reads a timestamp to the second: the milliseconds given are dropped, not waited for.
        machine = {
            "StartAt": "Wait",
            "States": {"Wait": {"Type": "Wait", "TimestampPath": "$.until", "End": True}},
        }
        moto_hooks.clear_recorded_delays()
        started = datetime.now(UTC)
        result = emulation.run_execution(
            create_state_machine(machine), {"until": until.strftime("%Y-%m-%dT%H:%M:%S") + ".999Z"}
        )
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert result.status == "SUCCEEDED"
    (wait,) = [d for d in moto_hooks.recorded_delays() if d.kind == "wait"]
    # Until the second named, to the millisecond: not whole seconds, not the local clock's hours.
    assert (until - started).total_seconds() - 1 < wait.requested_seconds <= (until - started).total_seconds()
    assert wait.requested_seconds != int(wait.requested_seconds)
