"""The embedded AWS emulation: moto in server mode, its Step Functions engine on, the offline hooks in place.

One emulation per process: moto's backends, its configuration and the hooks are process-wide, and the
engine reaches the server through the process's MOTO_PORT. Handler and Glue subprocesses reach it through
AWS_ENDPOINT_URL.
"""

import json
import logging
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from offline_aws import moto_hooks
from offline_aws.clients import DUMMY_CREDENTIALS, emulation_client
from offline_aws.glue_runner import GlueJobRunner
from offline_aws.iam import role_policy_documents
from offline_aws.lambda_runner import LambdaRunner
from offline_aws.moto_hooks.core import DEFAULT_SYNC_POLL_SECONDS, DEFAULT_TIME_SCALE

DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

_running_lock = threading.Lock()
_running: "Emulation | None" = None


def time_scale_from_env(default: float = DEFAULT_TIME_SCALE) -> float:
    """OFFLINE_TIME_SCALE: factor applied to Wait and Retry delays (1 = real time)."""
    raw = os.environ.get("OFFLINE_TIME_SCALE")
    if not raw:
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"OFFLINE_TIME_SCALE must not be negative, got {raw!r}")
    return value


@dataclass(frozen=True)
class ExecutionResult:
    execution_arn: str
    name: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_date: Any
    stop_date: Any
    history: list[dict[str, Any]] = field(repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def states_entered(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]


class ExecutionNotFinished(TimeoutError):
    pass


class Emulation:
    """Start with `with Emulation() as emulation:` or start()/stop()."""

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        time_scale: float | None = None,
        sync_poll_seconds: float = DEFAULT_SYNC_POLL_SECONDS,
        work_dir: Path | None = None,
        lambda_env: Mapping[str, str] | None = None,
        quiet_engine: bool = True,
        mock_config: Path | None = None,
        enforce_iam: bool = True,
    ) -> None:
        self.region = region
        self.account_id = ACCOUNT_ID
        self.time_scale = time_scale_from_env() if time_scale is None else time_scale
        self.sync_poll_seconds = sync_poll_seconds
        self._own_work_dir = work_dir is None
        self.work_dir = work_dir.resolve() if work_dir else Path(tempfile.mkdtemp(prefix="offline-runtime-"))
        self._initial_lambda_env = dict(lambda_env or {})
        self.quiet_engine = quiet_engine
        # Calls made as a role (engine, handlers, Glue runs) are authorized by its policies.
        self.enforce_iam = enforce_iam
        # As Step Functions Local: a mock config file named here or in SFN_MOCK_CONFIG is loaded at start.
        env_mock_config = os.environ.get("SFN_MOCK_CONFIG")
        self._mock_config_path = mock_config or (Path(env_mock_config) if env_mock_config else None)
        self._server: Any = None
        self._previous_moto_port: str | None = None
        self.port = 0
        self.lambda_runner: LambdaRunner | None = None
        self.glue_runner: GlueJobRunner | None = None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Emulation":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> "Emulation":
        global _running
        from moto.server import ThreadedMotoServer

        with _running_lock:
            if _running is not None:
                raise RuntimeError("an emulation is already running in this process; stop it first")
            _running = self
        try:
            moto_hooks.install()
            moto_hooks.configure(time_scale=self.time_scale, sync_poll_seconds=self.sync_poll_seconds)
            # Request lines of every SDK call would drown what the run prints.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            if self.quiet_engine:
                # The engine logs every caught task error with its whole parse tree; the history has them.
                logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            self.port = int(self._server.get_host_and_port()[1])
            self._previous_moto_port = os.environ.get("MOTO_PORT")
            os.environ["MOTO_PORT"] = str(self.port)  # the engine's own SDK calls go here
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self.lambda_runner = LambdaRunner(work_dir=self.work_dir, endpoint_url=self.endpoint_url)
            self.lambda_runner.extra_env.update(self._initial_lambda_env)
            self.glue_runner = GlueJobRunner(
                work_dir=self.work_dir, endpoint_url=self.endpoint_url, region=self.region
            )
            moto_hooks.settings.lambda_runner = self.lambda_runner
            moto_hooks.settings.glue_runner = self.glue_runner
            if self.enforce_iam:
                moto_hooks.settings.role_policies = role_policy_documents
                self.lambda_runner.role_policies = role_policy_documents
                self.glue_runner.role_policies = role_policy_documents
            self._enable_engine()
            if self._mock_config_path is not None:
                self.load_mock_config(self._mock_config_path)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        global _running
        if self.lambda_runner:
            self.lambda_runner.terminate_all()
        if self.glue_runner:
            self.glue_runner.terminate_all()
        if self._server is not None:
            self._server.stop()
            self._server = None
        with _running_lock:
            if _running is self:
                _running = None
                moto_hooks.settings.lambda_runner = None
                moto_hooks.settings.glue_runner = None
                moto_hooks.settings.role_policies = None
                moto_hooks.clear_mock_config()
                if self._previous_moto_port is None:
                    os.environ.pop("MOTO_PORT", None)
                else:
                    os.environ["MOTO_PORT"] = self._previous_moto_port
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def reset(self) -> None:
        """Forget every resource and execution (moto's reset); hooks and settings stay."""
        self._post("/moto-api/reset", None)
        moto_hooks.clear_mock_config()
        self._enable_engine()
        if self._mock_config_path is not None:
            self.load_mock_config(self._mock_config_path)

    def _enable_engine(self) -> None:
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        # AWS managed policies exist in every account: SAM attaches some (AWSLambdaBasicExecutionRole).
        # moto's config API does not take this setting; the server runs in this process.
        from moto.core.config import default_user_config
        from moto.iam.models import iam_backends

        default_user_config["iam"] = {"load_aws_managed_policies": True}
        # A backend made before this setting (by an in-process mock, say) has none of them: add them.
        iam = iam_backends[self.account_id]["global"]
        if not iam.aws_managed_policies:
            iam.aws_managed_policies = iam._init_aws_policies()
            iam.managed_policies.update(iam._init_managed_policies())

    def _post(self, path: str, body: Any) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(self.endpoint_url + path, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text.strip() else None

    # ------------------------------------------------------------ access

    @property
    def endpoint_url(self) -> str:
        if not self.port:
            raise RuntimeError("the emulation is not running")
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, **config: Any) -> Any:
        return emulation_client(service, self.endpoint_url, self.region, **config)

    def subprocess_env(self) -> dict[str, str]:
        """Variables that point any AWS SDK in a subprocess at the emulation."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **DUMMY_CREDENTIALS,
        }

    def set_lambda_env(self, variables: Mapping[str, str]) -> None:
        """Variables every handler subprocess gets, over the function's own (e.g. the RapidAPI stand-in)."""
        self.require_lambda_runner().extra_env.update(variables)

    def recycle_lambda_environments(self) -> None:
        """Stop every idle Lambda execution environment: each function's next invocation starts cold."""
        self.require_lambda_runner().recycle_environments()

    def require_lambda_runner(self) -> LambdaRunner:
        if self.lambda_runner is None:
            raise RuntimeError("the emulation is not running")
        return self.lambda_runner

    def require_glue_runner(self) -> GlueJobRunner:
        if self.glue_runner is None:
            raise RuntimeError("the emulation is not running")
        return self.glue_runner

    # ------------------------------------------------------------ mock configs

    def load_mock_config(self, config: Mapping[str, Any] | Path) -> None:
        """Load a Step Functions Local mock config; start executions with `test_case=` to use it."""
        document = json.loads(config.read_text()) if isinstance(config, Path) else dict(config)
        moto_hooks.load_mock_config(document)

    def clear_mock_config(self) -> None:
        moto_hooks.clear_mock_config()

    # ------------------------------------------------------------ executions

    def start_execution(
        self,
        state_machine_arn: str,
        execution_input: Any = None,
        *,
        name: str | None = None,
        test_case: str | None = None,
    ) -> str:
        """Start an execution; `test_case` selects a test case of the loaded mock config, as
        `stateMachineArn#TestCase` does in Step Functions Local."""
        arn = f"{state_machine_arn}#{test_case}" if test_case else state_machine_arn
        kwargs: dict[str, Any] = {"stateMachineArn": arn}
        if execution_input is not None:
            kwargs["input"] = (
                execution_input if isinstance(execution_input, str) else json.dumps(execution_input)
            )
        if name:
            kwargs["name"] = name
        return str(self.client("stepfunctions").start_execution(**kwargs)["executionArn"])

    def wait_for_execution(
        self, execution_arn: str, timeout: float = 600, poll_seconds: float = 0.05
    ) -> ExecutionResult:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        # Watched in the server's own backend, in this process: a DescribeExecution costs about 6 ms of
        # CPU, so polling the API would tax every other test process; the result is read through the API.
        watched = self._backend_execution(execution_arn)
        while watched is not None and time.monotonic() <= deadline:
            if getattr(watched.exec_status, "value", watched.exec_status) in TERMINAL_STATUSES:
                break
            time.sleep(poll_seconds)
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] in TERMINAL_STATUSES:
                break
            if time.monotonic() > deadline:
                raise ExecutionNotFinished(f"{execution_arn} still {described['status']} after {timeout} s")
            time.sleep(poll_seconds)
        return ExecutionResult(
            execution_arn=execution_arn,
            name=described["name"],
            status=described["status"],
            input=json.loads(described.get("input") or "null"),
            output=json.loads(described["output"]) if described.get("output") else None,
            error=described.get("error"),
            cause=described.get("cause"),
            start_date=described.get("startDate"),
            stop_date=described.get("stopDate"),
            history=self.history(execution_arn),
        )

    def _backend_execution(self, execution_arn: str) -> Any:
        """moto's own object for the execution (the server runs in this process), or None if there is none."""
        from moto.stepfunctions.responses import get_backend

        region, account = execution_arn.split(":")[3:5]
        try:
            return get_backend(account, region).describe_execution(execution_arn)
        except Exception:  # the API loop below reports what is wrong
            return None

    def run_execution(
        self,
        state_machine_arn: str,
        execution_input: Any = None,
        *,
        name: str | None = None,
        test_case: str | None = None,
        timeout: float = 600,
    ) -> ExecutionResult:
        arn = self.start_execution(state_machine_arn, execution_input, name=name, test_case=test_case)
        return self.wait_for_execution(arn, timeout=timeout)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        paginator = self.client("stepfunctions").get_paginator("get_execution_history")
        return [event for page in paginator.paginate(executionArn=execution_arn) for event in page["events"]]
