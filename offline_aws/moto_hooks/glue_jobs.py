"""Hooks on moto: Glue job runs.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_glue_jobs.py.

3. glue-sync: ...state_task_service_glue._SUPPORTED_INTEGRATION_PATTERNS -> add waitForTaskToken, which
   the callback base class needs for an endpoint; without it `glue:startJobRun.sync` crashes with
   `'NoneType' object has no attribute 'interrupt_all'`. With it, and
   ...state_task_service_callback.StateTaskServiceCallback._eval_integration_pattern -> each `.sync`
   attempt gets a fresh task token: moto reuses the first attempt's endpoint, already interrupted, so a
   retried `.sync` task would end at once in States.Timeout.
4. glue-run: glue.models.FakeJob.start_job_run and FakeJobRun.as_dict -> a run executes the job's script
   (glue_runner) on a worker thread; GetJobRun reports its real state (RUNNING, then SUCCEEDED / FAILED /
   TIMEOUT), ErrorMessage, CompletedOn and ExecutionTime. moto's state manager is set to `manual` for
   `glue::job_run` so moto never advances a run by itself.
"""

import sys
import threading
from typing import Any

from offline_aws.glue_runner import GlueJobRunOutcome, GlueJobRunRequest
from offline_aws.moto_hooks.core import SFN, STATE_TASK_SERVICE, HookPoint, original, replace, settings

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint(
        "glue-sync", f"{STATE_TASK_SERVICE}.state_task_service_glue", "_SUPPORTED_INTEGRATION_PATTERNS"
    ),
    HookPoint(
        "glue-sync",
        f"{STATE_TASK_SERVICE}.state_task_service_callback",
        "StateTaskServiceCallback._eval_integration_pattern",
        ("self", "env", "resource_runtime_part", "normalised_parameters", "state_credentials"),
    ),
    HookPoint("glue-sync", f"{SFN}.asl.eval.states", "ContextObject.update_task_token", ("self",)),
    HookPoint(
        "glue-run",
        "moto.glue.models",
        "FakeJob.start_job_run",
        (
            "self",
            "allocated_capacity",
            "max_capacity",
            "timeout",
            "worker_type",
            "security_configuration",
            "number_of_workers",
            "notification_property",
            "previous_run_id",
            "arguments",
        ),
    ),
    HookPoint("glue-run", "moto.glue.models", "FakeJobRun.as_dict", ("self",)),
    HookPoint("glue-run", "moto.moto_api", "state_manager"),
)


# Glue runs executing now: real-time work that scaled delays would otherwise outrun.
_glue_runs_in_flight = 0
_glue_runs_lock = threading.Lock()


def glue_runs_in_flight() -> int:
    with _glue_runs_lock:
        return _glue_runs_in_flight


def install() -> None:
    from moto.core.utils import utcnow
    from moto.glue import models
    from moto.moto_api import state_manager
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
        state_task_service_glue,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    # In place: every StateTaskServiceGlue holds this very set.
    state_task_service_glue._SUPPORTED_INTEGRATION_PATTERNS.add(ResourceCondition.WaitForTaskToken)

    def eval_integration_pattern(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        if (
            self.resource.condition != ResourceCondition.WaitForTaskToken
            and ResourceCondition.WaitForTaskToken in self._supported_integration_patterns
        ):
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        original("callback._eval_integration_pattern")(self, env, *args, **kwargs)

    replace(
        state_task_service_callback.StateTaskServiceCallback,
        "_eval_integration_pattern",
        eval_integration_pattern,
        "callback._eval_integration_pattern",
    )
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": sys.maxsize})

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id: str = original("glue.start_job_run")(self, *args, **kwargs)
        run = next(r for r in self.job_runs if r.job_run_id == run_id)
        run.offline_error_message = None
        run.offline_completed_on = None
        run.offline_glue_version = self.glue_version
        run.started_on = run.modified_on = utcnow()
        run.status = "RUNNING"
        request = GlueJobRunRequest(
            job_name=self.name,
            run_id=run_id,
            script_location=(self.command or {}).get("ScriptLocation", ""),
            arguments=dict(run.arguments or {}),
            timeout_minutes=run.timeout or self.timeout,
            region=self.backend.region_name,
            role_arn=str(self.role or ""),
        )

        def work() -> None:
            global _glue_runs_in_flight
            runner = settings.glue_runner
            try:
                if runner is None:
                    raise RuntimeError("no Glue runner configured")
                outcome = runner(request)
            except Exception as exc:
                outcome = GlueJobRunOutcome("FAILED", f"offline runtime could not run the job: {exc!r}")
            run.offline_error_message = outcome.error_message
            run.offline_completed_on = run.modified_on = utcnow()
            run.status = outcome.state  # last: pollers see the state with its details
            with _glue_runs_lock:
                _glue_runs_in_flight -= 1

        global _glue_runs_in_flight
        with _glue_runs_lock:
            _glue_runs_in_flight += 1
        threading.Thread(target=work, name=f"glue-{run_id[:12]}", daemon=True).start()
        return run_id

    def as_dict(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original("glue.as_dict")(self)
        if not hasattr(self, "offline_completed_on"):
            return described
        completed = self.offline_completed_on
        end = completed or utcnow()
        described["ExecutionTime"] = int((end - self.started_on).total_seconds())
        if completed is None:
            described.pop("CompletedOn", None)
        else:
            described["CompletedOn"] = completed
        if self.offline_error_message:
            described["ErrorMessage"] = self.offline_error_message
        # moto reports fixed placeholders for these.
        described["LogGroupName"] = "/aws-glue/jobs"
        if self.offline_glue_version:
            described["GlueVersion"] = self.offline_glue_version
        else:
            described.pop("GlueVersion", None)
        return described

    replace(models.FakeJob, "start_job_run", start_job_run, "glue.start_job_run")
    replace(models.FakeJobRun, "as_dict", as_dict, "glue.as_dict")
