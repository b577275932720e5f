"""One Lambda execution environment's runtime loop, as the Lambda Python runtime runs it.

Started by lambda_runner with `python -P` and the function's code and layers on PYTHONPATH; reads one
invocation per line from stdin, writes each outcome (payload or error document) to the result file it
names, then END_OF_INVOCATION on stdout. The handler's module is imported at the first invocation (the
init phase) and serves every later one. A timeout or a handler calling exit ends the process.
Standard library only: the function's own dependencies come from its layers.
"""

import contextlib
import decimal
import importlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

END_OF_INVOCATION = "\x00offline-lambda-invocation-end"  # lambda_runner's constant of the same name


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    def __init__(self, spec: dict[str, Any], deadline: float) -> None:
        self.function_name: str = spec["function_name"]
        self.function_version: str = spec["function_version"]
        self.invoked_function_arn: str = spec["function_arn"]
        self.memory_limit_in_mb: int = int(spec["memory_size"])
        self.aws_request_id: str = spec["request_id"]
        self.log_group_name: str = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name: str = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Outcome:
    """Writes the result file exactly once: the handler and the timeout watchdog race for it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._written = False

    def write(self, document: dict[str, Any]) -> bool:
        with self._lock:
            if self._written:
                return False
            self._written = True
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(document))
            os.replace(tmp, self._path)
            return True


def _error(error_type: str, message: str, request_id: str, stack: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"errorMessage": message, "errorType": error_type, "requestId": request_id}
    if stack is not None:
        body["stackTrace"] = stack
    return {"ok": False, "error": body}


def _json_default(value: Any) -> Any:
    # The Python runtime's marshaller accepts Decimal (DynamoDB numbers); nothing else beyond json's types.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    function = getattr(module, function_name, None)
    if function is None:
        raise LookupError(f"Handler '{function_name}' missing on module '{module_name}'")
    return function


def _exit(code: int = 0) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads the handler left behind must not keep the "sandbox" alive.
    os._exit(code)


def _authorize_calls_as_the_functions_role() -> None:
    """Every AWS call the handler makes is authorized against its role's policies first (OFFLINE_IAM,
    set by lambda_runner), as AWS authorizes it; a denied call raises the service's ClientError."""
    setting = os.environ.pop("OFFLINE_IAM", None)
    if not setting:
        return
    import importlib.util

    import botocore.client

    config = json.loads(setting)
    spec = importlib.util.spec_from_file_location("offline_iam", config["module"])
    assert spec is not None and spec.loader is not None
    iam = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(iam)
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        iam.authorize(
            self.meta.service_model.service_name,
            operation_name,
            api_params,
            role_arn=config["role_arn"],
            documents=config["documents"],
            region=self.meta.region_name,
        )
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = make_api_call


def _end_of_invocation() -> None:
    sys.stderr.flush()
    print(END_OF_INVOCATION, flush=True)


def main() -> None:
    _authorize_calls_as_the_functions_role()
    handler: Callable[[Any, LambdaContext], Any] | None = None
    for line in sys.stdin:
        spec = json.loads(line)
        if handler is None:
            handler = _init(spec)
        _invoke(handler, spec)
        _end_of_invocation()
    _exit()


def _init(spec: dict[str, Any]) -> Callable[[Any, LambdaContext], Any]:
    """Import the handler; a failure is the invocation's outcome and ends the environment."""
    outcome = _Outcome(Path(spec["result_path"]))
    request_id: str = spec["request_id"]
    handler_name: str = spec["handler"]
    try:
        return _load_handler(handler_name)
    except ImportError as exc:
        module = handler_name.rpartition(".")[0]
        outcome.write(
            _error("Runtime.ImportModuleError", f"Unable to import module '{module}': {exc}", request_id)
        )
        traceback.print_exc()
    except LookupError as exc:
        outcome.write(_error("Runtime.HandlerNotFound", str(exc), request_id))
    except Exception as exc:
        outcome.write(_error(type(exc).__name__, str(exc), request_id))
        traceback.print_exc()
    _exit()
    raise AssertionError("unreachable")


def _invoke(handler: Callable[[Any, LambdaContext], Any], spec: dict[str, Any]) -> None:
    outcome = _Outcome(Path(spec["result_path"]))
    request_id: str = spec["request_id"]
    timeout: float = float(spec["timeout"])
    context = LambdaContext(spec, deadline=time.monotonic() + timeout)
    # As the Python runtime does: each invocation's trace header in the environment, for its duration.
    os.environ["_X_AMZN_TRACE_ID"] = spec["trace_header"]

    def on_timeout() -> None:
        message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
        if outcome.write(_error("Sandbox.Timedout", message, request_id)):
            print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {message}", file=sys.stderr)
            _exit()

    watchdog = threading.Timer(timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()
    try:
        result = handler(spec["event"], context)
        try:
            payload = json.dumps(result, default=_json_default)
        except (TypeError, ValueError) as exc:
            outcome.write(_error("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id))
        else:
            outcome.write({"ok": True, "payload": payload})
    except SystemExit as exc:
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {exc.code}"
        outcome.write(_error("Runtime.ExitError", message, request_id))
        _exit()
    except Exception as exc:
        stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
        outcome.write(_error(type(exc).__name__, str(exc), request_id, stack))
        # The runtime logs unhandled errors this way; CloudWatch shows it.
        with contextlib.suppress(Exception):
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exception(exc, file=sys.stderr)
    finally:
        watchdog.cancel()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
