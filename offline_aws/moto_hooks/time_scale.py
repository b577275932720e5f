"""Hooks on moto: Time.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_time_scale.py.

8. time-scale: ...wait_function.WaitFunction._wait_interval, ...retry.retrier_decl.time and
   ...state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK -> Wait states and Retry back-off
   sleep `time_scale` times their delay (each delay recorded), `.sync` polls every `sync_poll_seconds`.
   Glue runs take real time offline, so while one is in flight a delay lasts up to its real length: a
   retry racing a run (Glue.ConcurrentRunsExceededException) has the outcome it has at scale 1.
   ...wait_function.timestamp.Timestamp._get_wait_seconds -> a Timestamp(Path) wait lasts until the
   timestamp, milliseconds truncated as AWS documents ("considers the time value up to seconds"). moto
   measures it against the host's local time (hours off on a host not in UTC) and truncates the
   remaining wait to whole seconds (up to a second early).
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from offline_aws.moto_hooks.core import SFN, STATE_TASK_SERVICE, HookPoint, replace, settings
from offline_aws.moto_hooks.glue_jobs import glue_runs_in_flight

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint(
        "time-scale",
        f"{SFN}.asl.component.state.wait.wait_function.wait_function",
        "WaitFunction._wait_interval",
        ("self", "env", "wait_seconds"),
    ),
    HookPoint("time-scale", f"{SFN}.asl.component.common.retry.retrier_decl", "time"),
    HookPoint(
        "time-scale",
        f"{STATE_TASK_SERVICE}.state_task_service_callback",
        "_DELAY_SECONDS_SYNC_CONDITION_CHECK",
    ),
    HookPoint(
        "time-scale",
        f"{SFN}.asl.component.state.wait.wait_function.timestamp",
        "Timestamp._get_wait_seconds",
        ("self", "env"),
    ),
)


@dataclass(frozen=True)
class RecordedDelay:
    kind: str  # "wait" | "retry"
    requested_seconds: float
    slept_seconds: float


_delays: deque[RecordedDelay] = deque(maxlen=10_000)
_installed = False


def recorded_delays() -> list[RecordedDelay]:
    return list(_delays)


def clear_recorded_delays() -> None:
    _delays.clear()


class _ScaledTime:
    """Stands in for the `time` module where moto sleeps between retries."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        started = time.monotonic()
        scaled = max(0.0, float(seconds)) * settings.time_scale
        time.sleep(scaled)
        added = _outlast_glue_runs(started + max(0.0, float(seconds)))
        _delays.append(RecordedDelay("retry", float(seconds), scaled + added))


def _outlast_glue_runs(real_deadline: float, is_running: Callable[[], bool] = lambda: True) -> float:
    """Keep sleeping, up to the delay's real length, while a Glue run is in flight; the seconds added."""
    started = time.monotonic()
    while glue_runs_in_flight() and is_running() and time.monotonic() < real_deadline:
        time.sleep(min(0.05, max(0.0, real_deadline - time.monotonic())))
    return time.monotonic() - started if time.monotonic() > started + 1e-3 else 0.0


def install() -> None:
    global _installed
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp, wait_function

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        started = time.monotonic()
        scaled = max(0.0, float(wait_seconds)) * settings.time_scale
        deadline = started + scaled
        while env.is_running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if env.program_state_event.wait(remaining) and env.is_running():
                time.sleep(min(remaining, 0.01))  # woken for another reason: keep waiting
        added = _outlast_glue_runs(started + max(0.0, float(wait_seconds)), env.is_running)
        _delays.append(RecordedDelay("wait", float(wait_seconds), scaled + added))

    def timestamp_wait_seconds(self: Any, env: Any) -> float:
        self.string.eval(env=env)
        text: str = env.stack.pop()
        until = self._from_timestamp_string(timestamp=text)  # seconds only, as AWS reads it
        if until is None:
            raise FailureEventException(self._create_failure_event(env, text))
        return max(0.0, (until.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds())

    replace(wait_function.WaitFunction, "_wait_interval", wait_interval, "wait._wait_interval")
    replace(timestamp.Timestamp, "_get_wait_seconds", timestamp_wait_seconds, "timestamp._get_wait_seconds")
    replace(retrier_decl, "time", _ScaledTime(), "retrier_decl.time")
    # Read at call time: a module constant is enough.
    state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = settings.sync_poll_seconds
    _installed = True


def configure(*, time_scale: float | None = None, sync_poll_seconds: float | None = None) -> None:
    """Change the time settings; they apply to executions from now on."""
    if time_scale is not None:
        if time_scale < 0:
            raise ValueError("time_scale must not be negative")
        settings.time_scale = time_scale
    if sync_poll_seconds is not None:
        settings.sync_poll_seconds = sync_poll_seconds
        if _installed:
            from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
                state_task_service_callback,
            )

            state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = sync_poll_seconds
