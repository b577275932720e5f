"""Runs Lambda handlers for real: one Python subprocess per invocation.

The emulation's Lambda hook hands every invocation here. The handler runs with the function's code and
layers on the path, its environment variables, the Lambda reserved variables, dummy credentials and
AWS_ENDPOINT_URL pointing at the emulation. An exception becomes the error document the Lambda runtime
returns (errorType = the exception's class name), so Step Functions can Retry/Catch it by name; a handler
running past the function's timeout ends as `Sandbox.Timedout`.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline_runtime.clients import DUMMY_CREDENTIALS

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
IAM_MODULE = Path(__file__).with_name("iam.py")
# Lambda allows 10 s for the init phase (imports) before the handler's own timeout starts.
INIT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class LayerContent:
    arn: str
    zip_bytes: bytes = field(repr=False)
    sha256: str


@dataclass(frozen=True)
class LambdaInvocation:
    function_name: str
    function_arn: str
    handler: str
    timeout_seconds: float
    memory_size: int
    version: str
    region: str
    environment: Mapping[str, str]
    code_zip: bytes = field(repr=False)
    code_sha256: str
    layers: tuple[LayerContent, ...]
    event: Any
    role_arn: str = ""  # the function's role: its policies authorize the handler's calls


@dataclass(frozen=True)
class LambdaResult:
    payload: str
    errored: bool
    logs: str
    request_id: str
    duration_ms: float


def base_handler_environment() -> dict[str, str]:
    """What the Lambda runtime sets before the function's own variables."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        # No X-Ray daemon here: Powertools Tracer and the X-Ray SDK would only complain.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_XRAY_SDK_ENABLED": "false",
    }


class LambdaRunner:
    """Callable the Lambda hook uses; one per emulation."""

    def __init__(self, *, work_dir: Path, endpoint_url: str, python: str = sys.executable) -> None:
        self.work_dir = work_dir
        self.endpoint_url = endpoint_url
        self.python = python
        # Set by the runtime, e.g. the RapidAPI stand-in's base URLs; wins over the function's variables.
        self.extra_env: dict[str, str] = {}
        # Reads a role's policies; set, a handler's calls are authorized as its role (offline_runtime.iam).
        self.role_policies: Callable[[str], list[dict[str, Any]]] | None = None
        self._function_sources: dict[str, Path] = {}
        self._layer_sources: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()

    def register_function_source(self, function_name: str, code_dir: Path) -> None:
        """Run this function from its source directory instead of unpacking its deployed zip."""
        self._function_sources[function_name] = code_dir.resolve()

    def register_layer_source(self, layer_version_arn: str, content_dir: Path) -> None:
        """Put this layer version's source directory on the path instead of unpacking its zip."""
        self._layer_sources[layer_version_arn] = content_dir.resolve()

    def terminate_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for proc in running:
            proc.kill()

    def __call__(self, invocation: LambdaInvocation) -> LambdaResult:
        request_id = str(uuid.uuid4())
        code_dir = self._function_sources.get(invocation.function_name) or self._unpacked(
            "code", invocation.code_zip
        )
        python_path = [str(code_dir)]
        for layer in invocation.layers:
            layer_dir = self._layer_sources.get(layer.arn) or self._unpacked("layers", layer.zip_bytes)
            # Lambda puts /opt/python on the path; a source directory holds the modules at its root.
            python_path.extend(str(p) for p in (layer_dir / "python", layer_dir) if p.is_dir())

        scratch = Path(tempfile.mkdtemp(prefix=f"invoke-{request_id[:8]}-", dir=self._dir("invocations")))
        result_path = scratch / "result.json"
        spec = {
            "event": _event_document(invocation.event),
            "handler": invocation.handler,
            "request_id": request_id,
            "timeout": invocation.timeout_seconds,
            "function_name": invocation.function_name,
            "function_arn": invocation.function_arn,
            "function_version": invocation.version,
            "memory_size": invocation.memory_size,
            "result_path": str(result_path),
        }
        env = self._environment(invocation, code_dir, python_path, scratch, request_id)
        started = time.monotonic()
        proc = subprocess.Popen(
            [self.python, "-P", str(BOOTSTRAP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=code_dir,
            env=env,
            text=True,
        )
        with self._lock:
            self._running.add(proc)
        try:
            output, _ = proc.communicate(
                json.dumps(spec), timeout=INIT_TIMEOUT_SECONDS + invocation.timeout_seconds
            )
        except subprocess.TimeoutExpired:
            # Backstop for an init phase that never ends; the bootstrap's watchdog covers the handler.
            proc.kill()
            output, _ = proc.communicate()
        finally:
            with self._lock:
                self._running.discard(proc)
        duration_ms = (time.monotonic() - started) * 1000
        payload, errored = _read_outcome(result_path, request_id, invocation.timeout_seconds, proc.returncode)
        shutil.rmtree(scratch, ignore_errors=True)
        logs = (
            f"START RequestId: {request_id} Version: {invocation.version}\n"
            f"{output}"
            f"{'' if not output or output.endswith(chr(10)) else chr(10)}"
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {invocation.memory_size} MB\n"
        )
        return LambdaResult(payload, errored, logs, request_id, duration_ms)

    def _environment(
        self,
        invocation: LambdaInvocation,
        code_dir: Path,
        python_path: list[str],
        scratch: Path,
        request_id: str,
    ) -> dict[str, str]:
        env = base_handler_environment()
        env.update(invocation.environment)
        env.update(self.extra_env)
        log_stream = f"{time.strftime('%Y/%m/%d')}/[{invocation.version}]{request_id.replace('-', '')}"
        # Reserved variables last: Lambda does not let a function override them.
        env.update(
            {
                "_HANDLER": invocation.handler,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "AWS_LAMBDA_FUNCTION_NAME": invocation.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": invocation.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(invocation.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{invocation.function_name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "AWS_REGION": invocation.region,
                "AWS_DEFAULT_REGION": invocation.region,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "LAMBDA_TASK_ROOT": str(code_dir),
                "PYTHONPATH": os.pathsep.join(python_path),
                "PYTHONDONTWRITEBYTECODE": "1",
                # Isolated from the developer's ~/.aws: only the emulation's dummy credentials count.
                "HOME": str(scratch),
                "TMPDIR": str(scratch),
                "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
                **DUMMY_CREDENTIALS,
            }
        )
        if self.role_policies is not None and invocation.role_arn:
            env["OFFLINE_IAM"] = json.dumps(
                {
                    "module": str(IAM_MODULE),
                    "role_arn": invocation.role_arn,
                    "documents": self.role_policies(invocation.role_arn),
                }
            )
        return env

    def _dir(self, name: str) -> Path:
        path = self.work_dir / "lambda" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _unpacked(self, kind: str, zip_bytes: bytes) -> Path:
        # Lambda's CodeSha256 is base64 (may hold "/"): name the directory by the hex digest instead.
        target = self._dir(kind) / hashlib.sha256(zip_bytes).hexdigest()
        with self._lock:
            if not target.is_dir():
                staging = Path(tempfile.mkdtemp(dir=target.parent))
                with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                    archive.extractall(staging)
                staging.rename(target)
        return target


def _event_document(event: Any) -> Any:
    # moto hands over the request body parsed, or the text "{}" when there was none.
    if isinstance(event, bytes):
        event = event.decode("utf-8")
    if isinstance(event, str):
        try:
            return json.loads(event)
        except json.JSONDecodeError:
            return event
    return event


def _read_outcome(
    result_path: Path, request_id: str, timeout: float, returncode: int | None
) -> tuple[str, bool]:
    if result_path.is_file():
        document = json.loads(result_path.read_text())
        if document["ok"]:
            return document["payload"], False
        return json.dumps(document["error"]), True
    if returncode is not None and returncode < 0:
        message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
        return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}), True
    message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {returncode}"
    return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), True
