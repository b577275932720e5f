"""Runs Lambda handlers for real, each function in execution environments of its own: Python subprocesses.

The emulation's Lambda hook hands every invocation here. The handler runs with the function's code and
layers on the path, its environment variables, the Lambda reserved variables, dummy credentials and
AWS_ENDPOINT_URL pointing at the emulation. An exception becomes the error document the Lambda runtime
returns (errorType = the exception's class name), so Step Functions can Retry/Catch it by name; a handler
running past the function's timeout ends as `Sandbox.Timedout`.

As on AWS, an environment that served an invocation serves the next one of the same function
configuration (code, layers, variables, role policies): its module state, clients, caches and /tmp stay,
and only the first invocation pays the init phase. An environment whose handler raised serves on, as the
Lambda runtime reports the error and asks for the next event; one that timed out, exited or crashed is
discarded, as Lambda resets it. Idle environments beyond MAX_IDLE_ENVIRONMENTS are stopped, oldest first
(Lambda promises no reuse either).
"""

import hashlib
import io
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline_aws.clients import DUMMY_CREDENTIALS

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
IAM_MODULE = Path(__file__).with_name("iam.py")
# Lambda allows 10 s for the init phase (imports) before the handler's own timeout starts.
INIT_TIMEOUT_SECONDS = 10.0
# Beyond the handler's timeout, for the bootstrap's own watchdog to report it first.
BACKSTOP_SECONDS = 5.0
MAX_IDLE_ENVIRONMENTS = 12
# The bootstrap ends each invocation's log output with this line (never shown).
END_OF_INVOCATION = "\x00offline-lambda-invocation-end"


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
    tracing_mode: str = "PassThrough"  # the function's TracingConfig.Mode


@dataclass(frozen=True)
class LambdaResult:
    payload: str
    errored: bool
    logs: str
    request_id: str
    duration_ms: float


# Where Lambda's X-Ray daemon listens (a link-local address there); offline nothing listens, so whatever a
# function's own X-Ray or OpenTelemetry code sends over UDP is dropped.
XRAY_DAEMON_HOST, XRAY_DAEMON_PORT = "127.0.0.1", "2000"


def base_handler_environment() -> dict[str, str]:
    """What the Lambda runtime sets before the function's own variables, and nothing more: Lambda's defined
    runtime variables (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), X-Ray's
    among them. The per-invocation `_X_AMZN_TRACE_ID` comes with each invocation (`trace_header`)."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": f"{XRAY_DAEMON_HOST}:{XRAY_DAEMON_PORT}",
        "_AWS_XRAY_DAEMON_ADDRESS": XRAY_DAEMON_HOST,
        "_AWS_XRAY_DAEMON_PORT": XRAY_DAEMON_PORT,
    }


def trace_header(tracing_mode: str) -> str:
    """The `_X_AMZN_TRACE_ID` Lambda gives an invocation that arrives without one (offline, every one: no
    caller passes its header on): a new trace, sampled when the function's tracing is Active (always
    offline, as no sampling rule applies)."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    sampled = "1" if tracing_mode == "Active" else "0"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={sampled}"


class LambdaRunner:
    """Callable the Lambda hook uses; one per emulation."""

    def __init__(self, *, work_dir: Path, endpoint_url: str, python: str = sys.executable) -> None:
        self.work_dir = work_dir
        self.endpoint_url = endpoint_url
        self.python = python
        # Set by the runtime, e.g. a stand-in's base URLs; wins over the function's variables.
        self.extra_env: dict[str, str] = {}
        # Reads a role's policies; set, a handler's calls are authorized as its role (offline_aws.iam).
        self.role_policies: Callable[[str], list[dict[str, Any]]] | None = None
        self._function_sources: dict[str, Path] = {}
        self._layer_sources: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._busy: set[_Environment] = set()
        # Idle environments by configuration, least recently used first.
        self._idle: OrderedDict[str, list[_Environment]] = OrderedDict()

    def register_function_source(self, function_name: str, code_dir: Path) -> None:
        """Run this function from its source directory instead of unpacking its deployed zip."""
        self._function_sources[function_name] = code_dir.resolve()

    def register_layer_source(self, layer_version_arn: str, content_dir: Path) -> None:
        """Put this layer version's source directory on the path instead of unpacking its zip."""
        self._layer_sources[layer_version_arn] = content_dir.resolve()

    def terminate_all(self) -> None:
        with self._lock:
            busy = list(self._busy)
        self.recycle_environments()
        for environment in busy:
            environment.stop()

    def recycle_environments(self) -> None:
        """Stop every idle environment: the next invocation of each function is a cold start, as after
        a configuration update on AWS (e.g. to see a rotated secret at once)."""
        with self._lock:
            idle = [e for environments in self._idle.values() for e in environments]
            self._idle.clear()
        for environment in idle:
            environment.stop()

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
        env = self._environment(invocation, code_dir, python_path)
        # The variables carry the rest of the configuration: handler, version, memory, code and layer
        # paths, the role's policies.
        key = json.dumps([invocation.function_arn, invocation.timeout_seconds, env], sort_keys=True)
        environment = self._take_idle(key) or self._start(invocation, code_dir, env)
        started = time.monotonic()
        result_path = environment.scratch / f"result-{request_id}.json"
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
            "trace_header": trace_header(invocation.tracing_mode),
        }
        backstop = invocation.timeout_seconds + BACKSTOP_SECONDS
        output, ended = environment.invoke(
            spec, backstop + (0 if environment.initialised else INIT_TIMEOUT_SECONDS)
        )
        duration_ms = (time.monotonic() - started) * 1000
        payload, errored = _read_outcome(
            result_path, request_id, invocation.timeout_seconds, None if ended else environment.returncode()
        )
        result_path.unlink(missing_ok=True)
        self._release(key, environment, reuse=ended)
        logs = (
            f"START RequestId: {request_id} Version: {invocation.version}\n"
            f"{output}"
            f"{'' if not output or output.endswith(chr(10)) else chr(10)}"
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {invocation.memory_size} MB\n"
        )
        return LambdaResult(payload, errored, logs, request_id, duration_ms)

    def _take_idle(self, key: str) -> "_Environment | None":
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                environment = idle.pop()
                if environment.alive():
                    self._busy.add(environment)
                    return environment
                environment.stop()
            return None

    def _start(self, invocation: LambdaInvocation, code_dir: Path, env: dict[str, str]) -> "_Environment":
        scratch = Path(tempfile.mkdtemp(prefix="environment-", dir=self._dir("environments")))
        log_stream = f"{time.strftime('%Y/%m/%d')}/[{invocation.version}]{uuid.uuid4().hex}"
        environment = _Environment(
            [self.python, "-P", str(BOOTSTRAP)],
            cwd=code_dir,
            env={
                **env,
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                # Isolated from the developer's ~/.aws: only the emulation's dummy credentials count.
                "HOME": str(scratch),
                "TMPDIR": str(scratch),
                "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
            },
            scratch=scratch,
        )
        with self._lock:
            self._busy.add(environment)
        return environment

    def _release(self, key: str, environment: "_Environment", *, reuse: bool) -> None:
        evicted: list[_Environment] = []
        with self._lock:
            self._busy.discard(environment)
            if reuse and environment.alive():
                self._idle.setdefault(key, []).append(environment)
                self._idle.move_to_end(key)
                while sum(len(idle) for idle in self._idle.values()) > MAX_IDLE_ENVIRONMENTS:
                    oldest_key = next(iter(self._idle))
                    evicted.append(self._idle[oldest_key].pop(0))
                    if not self._idle[oldest_key]:
                        del self._idle[oldest_key]
            else:
                evicted.append(environment)
        for stopped in evicted:
            stopped.stop()

    def _environment(
        self, invocation: LambdaInvocation, code_dir: Path, python_path: list[str]
    ) -> dict[str, str]:
        """The variables of the function's configuration; each environment adds its log stream and /tmp."""
        env = base_handler_environment()
        env.update(invocation.environment)
        env.update(self.extra_env)
        # Reserved variables last: Lambda does not let a function override them.
        env.update(
            {
                "_HANDLER": invocation.handler,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "AWS_LAMBDA_FUNCTION_NAME": invocation.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": invocation.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(invocation.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{invocation.function_name}",
                "AWS_REGION": invocation.region,
                "AWS_DEFAULT_REGION": invocation.region,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "LAMBDA_TASK_ROOT": str(code_dir),
                "PYTHONPATH": os.pathsep.join(python_path),
                "PYTHONDONTWRITEBYTECODE": "1",
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


class _Environment:
    """One execution environment: a bootstrap process serving invocations one at a time."""

    def __init__(self, command: list[str], *, cwd: Path, env: dict[str, str], scratch: Path) -> None:
        self.scratch = scratch
        self.initialised = False
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def invoke(self, spec: dict[str, Any], timeout: float) -> tuple[str, bool]:
        """Send one invocation; (its log output, whether it ended with the environment still alive)."""
        assert self._proc.stdin is not None
        output: list[str] = []
        try:
            self._proc.stdin.write(json.dumps(spec) + "\n")
            self._proc.stdin.flush()
        except OSError:
            return "", False
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                # Backstop for an init phase that never ends; the bootstrap's watchdog covers the handler.
                self._proc.kill()
                self._proc.wait()
                return "".join(output), False
            if line is None:
                self._proc.wait()
                return "".join(output), False
            if line.rstrip("\n") == END_OF_INVOCATION:
                self.initialised = True
                return "".join(output), True
            output.append(line)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def returncode(self) -> int | None:
        return self._proc.poll()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


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
