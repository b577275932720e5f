"""Every hook this project puts on moto's internals, in one place. moto is pinned to 5.2.5 for them.

Each hook closes a gap between moto's Step Functions engine and a real AWS run. `HOOK_POINTS` lists the
hooked attributes with the signatures the hooks were written against; `install()` refuses to patch when
one differs. tests/integration/test_moto_hooks.py checks the hook points; the test_hook_*.py modules there
guard each hook's behaviour through boto3 (each names the hooks it guards).

1. lambda-run: awslambda.models.LambdaFunction._invoke_lambda -> run the real handler in a subprocess
   (lambda_runner). moto runs Lambdas in Docker, which does not exist here.
2. lambda-unhandled: awslambda.models.LambdaFunction.invoke -> report `FunctionError: Unhandled` for a
   handler's exception, as AWS does (moto says `Handled`).
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
5. sdk-error-names: ...state_task_service_aws_sdk.StateTaskServiceAwsSdk._normalise_service_error_name and
   _normalise_exception_name -> aws-sdk errors named as AWS does: `<Service>.<Error>Exception`, the
   service in the SDK's PascalCase (S3, Kinesis, Sns, DynamoDb, ...), the error a modeled error shape of
   the service, otherwise `<Service>.<Service>Exception` (moto says e.g. `s3.s3Exception`).
6. result-json: ...state_task_service.StateTaskService._normalise_response and
   ...state_task_service_callback.StateTaskServiceCallback._eval_sync -> task results as the JSON AWS
   returns: timestamps as ISO-8601 strings (moto keeps datetimes, which break DescribeExecution), a
   payload stream (S3 GetObject Body) as its text, bytes as base64.
7. sdk-request-json: ...state_task_service_aws_sdk.StateTaskServiceAwsSdk._normalise_parameters -> a blob
   member (s3:putObject Body, kinesis:putRecord Data) gets the JSON text of its value, as recorded on AWS:
   an object as compact JSON, a string quoted (`text` is stored as the 6 bytes `"text"`); a JSON object or
   array given for a string member is sent as its JSON text (moto fails on objects, stores strings raw);
   a blob payload without a ContentType gets the Java SDK's `text/plain; charset=UTF-8`.
8. time-scale: ...wait_function.WaitFunction._wait_interval, ...retry.retrier_decl.time and
   ...state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK -> Wait states and Retry back-off
   sleep `time_scale` times their delay (each delay recorded), `.sync` polls every `sync_poll_seconds`.
   Glue runs take real time offline, so while one is in flight a delay lasts up to its real length: a
   retry racing a run (Glue.ConcurrentRunsExceededException) has the outcome it has at scale 1.
9. execution-start: parser.models.StepFunctionsParserBackend.start_execution and
   backend.execution.Execution._get_start_execution_worker -> an execution started without a name gets a
   UUID (moto names them all `None`); a given name is validated as AWS does; `stateMachineArn#TestCase`
   runs with that test case of the loaded Step Functions Local mock config (moto refuses it); input that
   is not JSON is refused with `InvalidExecutionInput` (moto answers with no error code). With
   stepfunctions.responses.StepFunctionResponse.describe_execution, the output is the compact JSON of any
   value (moto returns a string output unquoted, so a JSON string output is not JSON).
10. context-times: backend.execution.Execution.get_start_execution_details and
   ...state.CommonStateField._eval_state_input -> `$$.Execution.StartTime` and `$$.State.EnteredTime` in
   AWS's format (`2024-05-01T12:00:00.123Z`; moto gives a datetime and `+00:00` with microseconds).
11. reraise-states-errors: ...common.error_name.custom_error_name.CustomErrorName.__init__ -> a Fail state
   whose ErrorPath yields a `States.*` name (re-raising a caught States.TaskFailed or States.Timeout) and a
   mock config throwing one fail with that error, as on AWS (moto turns them into States.Runtime).
12. bucket-policy-conditions: s3.models.FakeBucket.get_permission -> bucket policy Conditions evaluated
   as AWS does for a request over HTTPS (`aws:SecureTransport` true): a statement whose condition does
   not hold does not apply. moto ignores `Bool` and denies when any condition fails, so the usual
   DenyInsecureTransport statement denies every object request.
13. mock-invocations: ...asl.eval.environment.Environment.get_current_mocked_response -> a mocked state
   answers with the response for its invocation number in the execution (every attempt counts, as in
   Step Functions Local); moto picks by the state's RetryCount, so a state entered again (a polling
   loop) would always get response "0".
14. math-random: ...math_operations.math_random.MathRandom._eval_body -> `States.MathRandom(start, end)` as
   AWS documents it: start inclusive, end exclusive, non-integer bounds rounded to the nearest integer
   (moto includes the end and truncates).
15. aws-validation: core.responses.BaseResponse.call_action, s3.models.S3Backend.create_bucket and
   sns.models.SNSBackend.subscribe -> requests AWS refuses are refused: for the JSON-protocol services in
   MODEL_VALIDATED_SERVICES (Kinesis, Step Functions) every member's length and pattern constraint of
   botocore's model, as `ValidationException` with AWS's message (a stream name with a space, an
   execution input over 262,144 bytes); S3's general purpose bucket naming rules (`InvalidBucketName`);
   e-mail endpoints that are no address (`InvalidParameter`). moto checks none of these.
16. iam: `boto_client_for` as each of ENGINE_CLIENT_MODULES imported it -> the Step Functions engine's
   service calls are authorized against the execution's role (offline_runtime.iam) before they are sent,
   a denied call failing with the service's access-denied error, as on AWS; moto sends them unchecked
   with fixed dummy credentials. `settings.role_policies` reads a role's policies (None: not enforced).
"""

import base64
import copy
import datetime
import functools
import importlib
import inspect
import json
import math
import random
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from offline_runtime.glue_runner import GlueJobRunOutcome, GlueJobRunRequest
from offline_runtime.iam import statement_applies
from offline_runtime.lambda_runner import LambdaInvocation, LambdaResult, LayerContent

_SFN = "moto.stepfunctions.parser"
_STATE_TASK = f"{_SFN}.asl.component.state.exec.state_task"
_STATE_TASK_SERVICE = f"{_STATE_TASK}.service"


@dataclass(frozen=True)
class HookPoint:
    """A moto attribute a hook replaces or changes, with the parameters the hook was written against."""

    hook: str
    module: str
    attribute: str
    parameters: tuple[str, ...] | None = None  # None: not a function (a module constant)

    def resolve(self) -> Any:
        owner: Any = importlib.import_module(self.module)
        for part in self.attribute.split("."):
            owner = getattr(owner, part)
        return owner

    def problem(self) -> str | None:
        """Why this hook point no longer matches moto, or None when it does."""
        try:
            target = self.resolve()
        except (ImportError, AttributeError) as exc:
            return f"{self.module}.{self.attribute} is gone: {exc}"
        if self.parameters is None:
            return None
        # Once installed, the attribute is the hook: check what it replaced.
        target = getattr(target, "__moto_original__", target)
        actual = tuple(inspect.signature(target).parameters)
        if actual != self.parameters:
            return f"{self.module}.{self.attribute} takes {actual}, the hook expects {self.parameters}"
        return None


HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint("lambda-run", "moto.awslambda.models", "LambdaFunction._invoke_lambda", ("self", "event")),
    HookPoint("lambda-run", "moto.awslambda.models", "LambdaFunction.save_logs", ("self", "output")),
    HookPoint(
        "lambda-run",
        "moto.awslambda.models",
        "LambdaBackend.layers_versions_by_arn",
        ("self", "layer_version_arn"),
    ),
    HookPoint("lambda-run", "moto.awslambda.models", "lambda_backends"),
    HookPoint(
        "lambda-unhandled",
        "moto.awslambda.models",
        "LambdaFunction.invoke",
        ("self", "body", "request_headers", "response_headers"),
    ),
    HookPoint(
        "glue-sync", f"{_STATE_TASK_SERVICE}.state_task_service_glue", "_SUPPORTED_INTEGRATION_PATTERNS"
    ),
    HookPoint(
        "glue-sync",
        f"{_STATE_TASK_SERVICE}.state_task_service_callback",
        "StateTaskServiceCallback._eval_integration_pattern",
        ("self", "env", "resource_runtime_part", "normalised_parameters", "state_credentials"),
    ),
    HookPoint("glue-sync", f"{_SFN}.asl.eval.states", "ContextObject.update_task_token", ("self",)),
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
    HookPoint(
        "sdk-error-names",
        f"{_STATE_TASK_SERVICE}.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk._normalise_service_error_name",
        ("service_name",),
    ),
    HookPoint(
        "sdk-error-names",
        f"{_STATE_TASK_SERVICE}.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk._normalise_exception_name",
        ("norm_service_name", "ex"),
    ),
    HookPoint(
        "result-json",
        f"{_STATE_TASK_SERVICE}.state_task_service",
        "StateTaskService._normalise_response",
        ("self", "response", "boto_service_name", "service_action_name"),
    ),
    HookPoint(
        "result-json",
        f"{_STATE_TASK_SERVICE}.state_task_service_callback",
        "StateTaskServiceCallback._eval_sync",
        ("self", "env", "sync_resolver", "timeout_seconds", "callback_endpoint", "heartbeat_endpoint"),
    ),
    HookPoint(
        "sdk-request-json",
        f"{_STATE_TASK_SERVICE}.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk._normalise_parameters",
        ("self", "parameters", "boto_service_name", "service_action_name"),
    ),
    HookPoint(
        "time-scale",
        f"{_SFN}.asl.component.state.wait.wait_function.wait_function",
        "WaitFunction._wait_interval",
        ("self", "env", "wait_seconds"),
    ),
    HookPoint("time-scale", f"{_SFN}.asl.component.common.retry.retrier_decl", "time"),
    HookPoint(
        "time-scale",
        f"{_STATE_TASK_SERVICE}.state_task_service_callback",
        "_DELAY_SECONDS_SYNC_CONDITION_CHECK",
    ),
    HookPoint(
        "execution-start",
        f"{_SFN}.models",
        "StepFunctionsParserBackend.start_execution",
        ("self", "state_machine_arn", "name", "execution_input", "trace_header"),
    ),
    HookPoint(
        "execution-start", f"{_SFN}.backend.execution", "Execution._get_start_execution_worker", ("self",)
    ),
    HookPoint(
        "execution-start",
        "moto.stepfunctions.responses",
        "StepFunctionResponse.describe_execution",
        ("self",),
    ),
    HookPoint(
        "execution-start",
        f"{_SFN}.mocking.mock_config",
        "_mock_test_case_from_raw",
        ("state_machine_name", "test_case_name", "raw_mock_config"),
    ),
    HookPoint(
        "execution-start", "moto.stepfunctions.models", "StepFunctionBackend._validate_name", ("self", "name")
    ),
    HookPoint(
        "context-times", f"{_SFN}.backend.execution", "Execution.get_start_execution_details", ("self",)
    ),
    HookPoint(
        "reraise-states-errors",
        f"{_SFN}.asl.component.common.error_name.custom_error_name",
        "CustomErrorName.__init__",
        ("self", "error_name"),
    ),
    HookPoint(
        "bucket-policy-conditions",
        "moto.s3.models",
        "FakeBucket.get_permission",
        ("self", "action", "resource"),
    ),
    HookPoint(
        "bucket-policy-conditions",
        "moto.iam.access_control",
        "IAMPolicy.is_action_permitted",
        ("self", "action", "resource", "principal", "incoming_condition_values"),
    ),
    HookPoint(
        "context-times",
        f"{_SFN}.asl.component.state.state",
        "CommonStateField._eval_state_input",
        ("self", "env"),
    ),
    HookPoint(
        "math-random",
        f"{_SFN}.asl.component.intrinsic.function.statesfunction.math_operations.math_random",
        "MathRandom._eval_body",
        ("self", "env"),
    ),
    HookPoint("aws-validation", "moto.core.responses", "BaseResponse.call_action", ("self",)),
    HookPoint(
        "aws-validation",
        "moto.s3.models",
        "S3Backend.create_bucket",
        ("self", "bucket_name", "region_name", "bucket_namespace"),
    ),
    HookPoint(
        "aws-validation",
        "moto.sns.models",
        "SNSBackend.subscribe",
        ("self", "topic_arn", "endpoint", "protocol"),
    ),
    *(
        HookPoint(
            "iam", f"{_STATE_TASK}.{module}", "boto_client_for", ("region", "service", "state_credentials")
        )
        for module in (
            "lambda_eval_utils",
            "service.state_task_service_aws_sdk",
            "service.state_task_service_glue",
            "service.state_task_service_sns",
            "service.state_task_service_sqs",
            "service.state_task_service_sfn",
            "service.state_task_service_dynamodb",
            "service.state_task_service_events",
            "service.state_task_service_ecs",
            "service.state_task_service_batch",
            "service.state_task_service_unsupported",
        )
    ),
    HookPoint(
        "mock-invocations",
        f"{_SFN}.asl.eval.environment",
        "Environment.get_current_mocked_response",
        ("self",),
    ),
)


@dataclass(frozen=True)
class RecordedDelay:
    kind: str  # "wait" | "retry"
    requested_seconds: float
    slept_seconds: float


@dataclass
class HookSettings:
    time_scale: float = 0.01
    sync_poll_seconds: float = 0.05
    lambda_runner: Callable[[LambdaInvocation], LambdaResult] | None = None
    glue_runner: Callable[[GlueJobRunRequest], GlueJobRunOutcome] | None = None
    # Reads a role's policy documents, for the engine's calls as the execution's role; None: IAM is off.
    role_policies: Callable[[str], list[dict[str, Any]]] | None = None
    # Step Functions Local mock config (MockConfigFile format), merged from everything loaded.
    mock_config: dict[str, Any] = field(default_factory=lambda: {"StateMachines": {}, "MockedResponses": {}})


settings = HookSettings()
_delays: deque[RecordedDelay] = deque(maxlen=10_000)
_install_lock = threading.Lock()
_installed = False
_pending = threading.local()


class HookPointMismatch(RuntimeError):
    pass


def hook_point_problems() -> list[str]:
    return [problem for point in HOOK_POINTS if (problem := point.problem()) is not None]


def install() -> None:
    """Patch moto (idempotent). Refuses, naming the attribute, when moto no longer matches a hook."""
    global _installed
    with _install_lock:
        if _installed:
            return
        problems = hook_point_problems()
        if problems:
            raise HookPointMismatch(
                "moto does not match the offline runtime's hooks:\n" + "\n".join(problems)
            )
        _install_lambda()
        _install_glue()
        _install_sdk()
        _install_time()
        _install_execution_start()
        _install_bucket_policies()
        _install_intrinsics()
        _install_validation()
        _install_iam()
        _installed = True


def is_installed() -> bool:
    return _installed


def recorded_delays() -> list[RecordedDelay]:
    return list(_delays)


def clear_recorded_delays() -> None:
    _delays.clear()


def _original(point_attribute: str) -> Any:
    return _originals[point_attribute]


_originals: dict[str, Any] = {}


def _replace(owner: Any, name: str, replacement: Any, key: str) -> None:
    original = getattr(owner, name)
    _originals[key] = original
    function = replacement.__func__ if isinstance(replacement, staticmethod) else replacement
    function.__moto_original__ = original
    setattr(owner, name, replacement)


# ---------------------------------------------------------------- 1, 2: Lambda


def _install_lambda() -> None:
    from moto.awslambda import models

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        runner = settings.lambda_runner
        if runner is None:
            raise RuntimeError("offline runtime: no Lambda runner configured")
        backend = models.lambda_backends[self.account_id][self.region]
        layers = []
        for layer in self.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            layers.append(LayerContent(layer["Arn"], version.code_bytes, version.code_sha_256))
        invocation = LambdaInvocation(
            function_name=self.function_name,
            function_arn=self.function_arn,
            handler=self.handler,
            timeout_seconds=float(self.timeout),
            memory_size=int(self.memory_size),
            version=str(self.version),
            region=self.region,
            environment=dict(self.environment_vars or {}),
            code_zip=self.code_bytes,
            code_sha256=self.code_sha_256,
            layers=tuple(layers),
            event=event,
            role_arn=str(self.role or ""),
        )
        self.logs_backend.ensure_log_group(self.logs_group_name)
        result = runner(invocation)
        self.save_logs(result.logs)
        return result.payload, result.errored, result.logs

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        payload = _original("lambda.invoke")(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    _replace(models.LambdaFunction, "_invoke_lambda", _invoke_lambda, "lambda._invoke_lambda")
    _replace(models.LambdaFunction, "invoke", invoke, "lambda.invoke")


# ---------------------------------------------------------------- 3, 4: Glue


def _install_glue() -> None:
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
        _original("callback._eval_integration_pattern")(self, env, *args, **kwargs)

    _replace(
        state_task_service_callback.StateTaskServiceCallback,
        "_eval_integration_pattern",
        eval_integration_pattern,
        "callback._eval_integration_pattern",
    )
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": sys.maxsize})

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id: str = _original("glue.start_job_run")(self, *args, **kwargs)
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
        described: dict[str, Any] = _original("glue.as_dict")(self)
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

    _replace(models.FakeJob, "start_job_run", start_job_run, "glue.start_job_run")
    _replace(models.FakeJobRun, "as_dict", as_dict, "glue.as_dict")


# ---------------------------------------------------------------- 5, 6, 7: SDK integrations


@functools.cache
def _service_model(boto_service_name: str) -> Any:
    return botocore.session.get_session().get_service_model(boto_service_name)


def java_pascal_case(name: str) -> str:
    """A model name as the AWS SDK for Java 2.x names its classes (its code generator's word splitting):
    `SNS` -> `Sns`, `DynamoDB` -> `DynamoDb`, `KMSThrottlingException` -> `KmsThrottlingException`."""
    words = re.sub(r"[^A-Za-z0-9]+", " ", name)
    words = re.sub(r"([^a-z]{2,})v([0-9]+)", r"\1 v\2 ", words)
    words = re.sub(r"([^A-Z]{2,})V([0-9]+)", r"\1 V\2 ", words)
    words = re.sub(r"(?<=[a-z])(?=[A-Z](?:[a-zA-Z]|[0-9]))", " ", words)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", words)
    words = re.sub(r"([0-9])([a-zA-Z])", r"\1 \2", words)
    return "".join(word[0].upper() + word[1:].lower() for word in words.split())


def sdk_service_error_name(boto_service_name: str) -> str:
    """The service part of an aws-sdk error name: the Java SDK's client name (`SNS` -> `Sns`)."""
    try:
        service_id = _service_model(boto_service_name).service_id
    except Exception:
        service_id = boto_service_name
    return java_pascal_case(str(service_id))


def sdk_error_name(boto_service_name: str, error_code: str) -> str:
    """`<Service>.<Error>Exception` for a modeled error of the service, else `<Service>.<Service>Exception`.

    Java SDK v2 semantics, which Step Functions uses: an unmodeled error code surfaces as the service's base
    exception (e.g. `S3.S3Exception`)."""
    service = sdk_service_error_name(boto_service_name)
    shape_name = None
    try:
        for shape in _service_model(boto_service_name).error_shapes:
            if error_code in (shape.name, shape.metadata.get("error", {}).get("code")):
                shape_name = shape.name
                break
    except Exception:
        shape_name = error_code if re.fullmatch(r"[A-Za-z]\w*", error_code) else None
    name = java_pascal_case(shape_name) if shape_name else service
    if name.endswith("Fault"):
        name = name.removesuffix("Fault")
    if not name.endswith("Exception"):
        name += "Exception"
    return f"{service}.{name}"


class _ServiceName(str):
    """The SDK's service name, carrying boto3's name for the error lookup that follows."""

    boto_name: str

    def __new__(cls, display_name: str, boto_name: str) -> "_ServiceName":
        value = super().__new__(cls, display_name)
        value.boto_name = boto_name
        return value


def _sfn_to_boto_service(sfn_service_name: str) -> str:
    return {"sfn": "stepfunctions", "states": "stepfunctions"}.get(sfn_service_name, sfn_service_name)


def aws_timestamp(value: datetime.datetime) -> str:
    """A timestamp as AWS writes it in Step Functions JSON: UTC, milliseconds when not zero, `Z`."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def to_aws_json(value: Any) -> Any:
    """The JSON value AWS returns for a boto3 result value."""
    if isinstance(value, dict):
        for key in list(value):
            value[key] = to_aws_json(value[key])
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = to_aws_json(item)
        return value
    if isinstance(value, datetime.datetime):
        return aws_timestamp(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, StreamingBody):
        return value.read().decode("utf-8", errors="replace")
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def _json_members_to_text(value: Any, shape: Any) -> Any:
    type_name = getattr(shape, "type_name", None)
    if type_name == "structure" and isinstance(value, dict):
        for key, member_value in value.items():
            if key in shape.members:
                value[key] = _json_members_to_text(member_value, shape.members[key])
        return value
    if type_name == "list" and isinstance(value, list):
        return [_json_members_to_text(item, shape.member) for item in value]
    if type_name == "map" and isinstance(value, dict):
        return {key: _json_members_to_text(item, shape.value) for key, item in value.items()}
    if type_name == "blob" or (type_name == "string" and isinstance(value, dict | list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _install_sdk() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_aws_sdk,
        state_task_service_callback,
    )

    aws_sdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk

    def normalise_service_error_name(service_name: str) -> str:
        # moto passes the Resource's service (`s3` in aws-sdk:s3:getObject), prints the result in the cause.
        boto_name = _sfn_to_boto_service(service_name)
        return _ServiceName(sdk_service_error_name(boto_name), boto_name)

    def normalise_exception_name(norm_service_name: str, ex: Exception) -> str:
        code = ex.response["Error"]["Code"] if isinstance(ex, ClientError) else type(ex).__name__
        boto_name = getattr(norm_service_name, "boto_name", str(norm_service_name))
        return sdk_error_name(boto_name, str(code))

    def normalise_parameters(
        self: Any,
        parameters: dict,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        _original("aws_sdk._normalise_parameters")(self, parameters, boto_service_name, service_action_name)
        try:
            model = _service_model(self._get_boto_service_name(boto_service_name))
            action = self._get_boto_service_action(service_action_name)
            operation = next(
                model.operation_model(name)
                for name in model.operation_names
                if botocore.xform_name(name) == action
            )
        except Exception:
            return  # unknown operations fail at call time, as before
        if operation.input_shape is None:
            return
        payload = operation.input_shape.serialization.get("payload")
        members = operation.input_shape.members
        # The Java SDK sends a text body with its text content type (recorded for s3:putObject).
        if payload in parameters and members[payload].type_name == "blob" and "ContentType" in members:
            parameters.setdefault("ContentType", "text/plain; charset=UTF-8")
        _json_members_to_text(parameters, operation.input_shape)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        _original("service._normalise_response")(self, response, boto_service_name, service_action_name)
        to_aws_json(response)

    def eval_sync(self: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        outcome = _original("callback._eval_sync")(self, env, *args, **kwargs)
        return to_aws_json(outcome) if isinstance(outcome, dict | list) else outcome

    _replace(
        aws_sdk, "_normalise_service_error_name", staticmethod(normalise_service_error_name), "aws_sdk.svc"
    )
    _replace(aws_sdk, "_normalise_exception_name", staticmethod(normalise_exception_name), "aws_sdk.exc")
    _replace(aws_sdk, "_normalise_parameters", normalise_parameters, "aws_sdk._normalise_parameters")
    _replace(
        state_task_service.StateTaskService,
        "_normalise_response",
        normalise_response,
        "service._normalise_response",
    )
    _replace(
        state_task_service_callback.StateTaskServiceCallback, "_eval_sync", eval_sync, "callback._eval_sync"
    )


# ---------------------------------------------------------------- 8: time


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


# Glue runs executing now: real-time work that scaled delays would otherwise outrun.
_glue_runs_in_flight = 0
_glue_runs_lock = threading.Lock()


def glue_runs_in_flight() -> int:
    with _glue_runs_lock:
        return _glue_runs_in_flight


def _outlast_glue_runs(real_deadline: float, is_running: Callable[[], bool] = lambda: True) -> float:
    """Keep sleeping, up to the delay's real length, while a Glue run is in flight; the seconds added."""
    started = time.monotonic()
    while glue_runs_in_flight() and is_running() and time.monotonic() < real_deadline:
        time.sleep(min(0.05, max(0.0, real_deadline - time.monotonic())))
    return time.monotonic() - started if time.monotonic() > started + 1e-3 else 0.0


def _install_time() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

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

    _replace(wait_function.WaitFunction, "_wait_interval", wait_interval, "wait._wait_interval")
    _replace(retrier_decl, "time", _ScaledTime(), "retrier_decl.time")
    # Read at call time: a module constant is enough.
    state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = settings.sync_poll_seconds


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


# ---------------------------------------------------------------- 9, 10, 11: executions


class _RawReturn:
    def __init__(self, payload: Any) -> None:
        self._payload = payload

    def model_dump(self) -> Any:
        return copy.deepcopy(self._payload)


class _RawThrow:
    def __init__(self, error: str, cause: str) -> None:
        self.Error = error
        self.Cause = cause


class _RawResponse:
    def __init__(self, document: dict[str, Any]) -> None:
        self.Return = _RawReturn(document["Return"]) if "Return" in document else None
        throw = document.get("Throw")
        self.Throw = _RawThrow(str(throw["Error"]), str(throw.get("Cause", ""))) if throw else None


class _RawTestCase:
    def __init__(self, states: dict[str, str]) -> None:
        self.root = states


class _RawStateMachine:
    def __init__(self, document: dict[str, Any]) -> None:
        self.TestCases = {
            name: _RawTestCase(states) for name, states in document.get("TestCases", {}).items()
        }


class _RawMockConfig:
    """The shape moto's `_mock_test_case_from_raw` reads (LocalStack parses the file with pydantic)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.StateMachines = {
            name: _RawStateMachine(machine) for name, machine in document.get("StateMachines", {}).items()
        }
        self.MockedResponses = {
            name: {attempts: _RawResponse(response) for attempts, response in responses.items()}
            for name, responses in document.get("MockedResponses", {}).items()
        }


def validate_mock_config(document: dict[str, Any]) -> None:
    """Fail early, naming the place, on what Step Functions Local would refuse."""
    if not isinstance(document, dict) or set(document) - {"StateMachines", "MockedResponses"}:
        raise ValueError("a mock config holds only 'StateMachines' and 'MockedResponses'")
    for machine, body in document.get("StateMachines", {}).items():
        for case, states in body.get("TestCases", {}).items():
            for state, response in states.items():
                if response not in document.get("MockedResponses", {}):
                    raise ValueError(f"{machine}/{case}/{state}: no MockedResponses entry named {response!r}")
    for name, responses in document.get("MockedResponses", {}).items():
        for attempts, response in responses.items():
            if not re.fullmatch(r"\d+(-\d+)?", attempts):
                raise ValueError(f"MockedResponses/{name}: {attempts!r} is not an attempt number or range")
            if len({"Return", "Throw"} & set(response)) != 1:
                raise ValueError(f"MockedResponses/{name}/{attempts}: give exactly one of Return and Throw")
            if "Throw" in response and "Error" not in response["Throw"]:
                raise ValueError(f"MockedResponses/{name}/{attempts}: Throw needs an Error")


def load_mock_config(document: dict[str, Any]) -> None:
    """Merge a Step Functions Local mock config into the one executions use."""
    validate_mock_config(document)
    merged = settings.mock_config
    for machine, body in document.get("StateMachines", {}).items():
        cases = merged["StateMachines"].setdefault(machine, {"TestCases": {}})["TestCases"]
        cases.update(copy.deepcopy(body.get("TestCases", {})))
    merged["MockedResponses"].update(copy.deepcopy(document.get("MockedResponses", {})))


def clear_mock_config() -> None:
    settings.mock_config = {"StateMachines": {}, "MockedResponses": {}}


def _mock_test_case(state_machine_name: str, test_case: str) -> Any:
    from moto.stepfunctions.exceptions import InvalidName
    from moto.stepfunctions.parser.mocking.mock_config import _mock_test_case_from_raw

    try:
        return _mock_test_case_from_raw(state_machine_name, test_case, _RawMockConfig(settings.mock_config))
    except (RuntimeError, ValueError) as exc:
        raise InvalidName(
            f"Invalid mock test case name '{test_case}' for state machine '{state_machine_name}': {exc}"
        ) from None


# ---------------------------------------------------------------- 12: bucket policies


def _install_bucket_policies() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3 import models

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        applying = [
            {k: v for k, v in st.items() if k != "Condition"} for st in statements if statement_applies(st)
        ]
        if not applying:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": applying})).is_action_permitted(action, resource)

    _replace(models.FakeBucket, "get_permission", get_permission, "s3.get_permission")


def _validate_execution_input(text: str) -> None:
    """StartExecution takes any JSON value; anything else is InvalidExecutionInput, as recorded on AWS."""
    from moto.stepfunctions.exceptions import InvalidExecutionInput

    if not text.strip():
        raise InvalidExecutionInput("Invalid State Machine Execution Input: 'Invalid execution input.'")
    try:
        json.loads(text)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None


def _install_execution_start() -> None:
    from moto.stepfunctions import responses as stepfunctions_responses
    from moto.stepfunctions.parser import models
    from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name
    from moto.stepfunctions.parser.asl.component.common.error_name import error_name as error_name_module
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.eval import environment
    from moto.stepfunctions.parser.backend import execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Any:
        base_arn, _, test_case = state_machine_arn.partition("#")
        if execution_input is not None:
            _validate_execution_input(execution_input)
        if name:
            self._validate_name(name)
        else:
            name = str(uuid.uuid4())
        _pending.mock_test_case = None
        if test_case:
            _pending.mock_test_case = _mock_test_case(self.describe_state_machine(base_arn).name, test_case)
        try:
            return _original("sfn.start_execution")(self, base_arn, name, execution_input, trace_header)
        finally:
            _pending.mock_test_case = None

    def get_start_execution_worker(self: Any) -> Any:
        worker = _original("sfn._get_start_execution_worker")(self)
        mock_test_case = getattr(_pending, "mock_test_case", None)
        if mock_test_case is not None:
            worker._mock_test_case = mock_test_case
        return worker

    def get_start_execution_details(self: Any) -> Any:
        details = _original("sfn.get_start_execution_details")(self)
        if isinstance(details.start_time, datetime.datetime):
            details.start_time = aws_timestamp(details.start_time)
        return details

    def eval_state_input(self: Any, env: Any) -> None:
        state_data = env.states.context_object.context_object_data.get("State")
        entered = state_data.get("EnteredTime") if state_data else None
        if isinstance(entered, str) and not entered.endswith("Z"):
            state_data["EnteredTime"] = aws_timestamp(datetime.datetime.fromisoformat(entered))
        _original("sfn._eval_state_input")(self, env)

    _replace(models.StepFunctionsParserBackend, "start_execution", start_execution, "sfn.start_execution")

    def describe_execution(self: Any) -> Any:
        described = _original("sfn.describe_execution")(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        if "output" in described.result:
            described.result["output"] = json.dumps(
                execution.output, separators=(",", ":"), ensure_ascii=False
            )
        return described

    _replace(
        stepfunctions_responses.StepFunctionResponse,
        "describe_execution",
        describe_execution,
        "sfn.describe_execution",
    )
    _replace(
        execution.Execution,
        "_get_start_execution_worker",
        get_start_execution_worker,
        "sfn._get_start_execution_worker",
    )
    _replace(
        execution.Execution,
        "get_start_execution_details",
        get_start_execution_details,
        "sfn.get_start_execution_details",
    )
    _replace(state.CommonStateField, "_eval_state_input", eval_state_input, "sfn._eval_state_input")

    def get_current_mocked_response(self: Any) -> Any:
        # The test case object is parsed per execution, so its counters are the execution's.
        test_case = self.mock_test_case
        invocations: dict[str, int] = test_case.__dict__.setdefault("_offline_invocations", {})
        state_name = self.next_state_name
        number = invocations.get(state_name, 0)
        responses = test_case.state_mocked_responses.get(state_name)
        if responses is None:
            raise RuntimeError(f"No mocked response definition for state '{state_name}'")
        if number >= len(responses.mocked_responses):
            raise RuntimeError(f"No mocked response for state '{state_name}' and invocation number {number}")
        invocations[state_name] = number + 1
        return responses.mocked_responses[number]

    _replace(
        environment.Environment,
        "get_current_mocked_response",
        get_current_mocked_response,
        "sfn.get_current_mocked_response",
    )

    def custom_error_name_init(self: Any, error_name: str | None) -> None:
        error_name_module.ErrorName.__init__(self, error_name=error_name)

    _replace(
        custom_error_name.CustomErrorName, "__init__", custom_error_name_init, "sfn.CustomErrorName.__init__"
    )


# ---------------------------------------------------------------- 14: intrinsic functions


def math_random_bound(value: Any, argument: str) -> int:
    """A MathRandom argument as AWS takes it: a number, rounded half up (Java's Math.round)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Expected a number for {argument}, but got: '{value}'.")
    return math.floor(value + 0.5)


def _install_intrinsics() -> None:
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.math_operations import (
        math_random,
    )

    def eval_body(self: Any, env: Any) -> None:
        self.argument_list.eval(env=env)
        args = env.stack.pop()
        seed = math_random_bound(args.pop(), "seed") if self.argument_list.size == 3 else None
        end = math_random_bound(args.pop(), "end")
        start = math_random_bound(args.pop(), "start")
        if start >= end:
            raise ValueError(f"States.MathRandom needs start < end, got {start} and {end}.")
        env.stack.append(random.Random(seed).randrange(start, end))

    _replace(math_random.MathRandom, "_eval_body", eval_body, "intrinsic.MathRandom._eval_body")


# ---------------------------------------------------------------- 15: AWS's request validation

# JSON-protocol services whose requests AWS checks against the model's constraints before acting.
MODEL_VALIDATED_SERVICES = frozenset({"kinesis", "stepfunctions"})


def _java_pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern.replace(r"\p{ASCII}", r"[\x00-\x7F]"), re.DOTALL)
    except re.error:
        return None  # a Java construct Python lacks: not checked


def _constraint_problems(value: Any, shape: Any, location: str) -> list[str]:
    """Every constraint of `shape` that `value` (as sent in a JSON request body) breaks, in AWS's words."""
    problems: list[str] = []
    type_name = shape.type_name
    if type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                path = (
                    f"{location}.{name[0].lower()}{name[1:]}" if location else f"{name[0].lower()}{name[1:]}"
                )
                problems += _constraint_problems(value[name], member, path)
        return problems
    if type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value, start=1):
            problems += _constraint_problems(item, shape.member, f"{location}.{index}.member")
    size: int | None = None
    if type_name == "string" and isinstance(value, str):
        size = len(value)
    elif type_name == "blob" and isinstance(value, str):
        try:
            size = len(base64.b64decode(value, validate=True))
        except ValueError:
            size = len(value)
    elif type_name in ("list", "map") and isinstance(value, list | dict):
        size = len(value)
    shown = "" if shape.metadata.get("sensitive") or type_name != "string" else f" '{value[:100]}'"
    described = f"Value{shown} at '{location}' failed to satisfy constraint: Member must"
    if size is not None and "max" in shape.metadata and size > shape.metadata["max"]:
        problems.append(f"{described} have length less than or equal to {shape.metadata['max']}")
    if size is not None and "min" in shape.metadata and size < shape.metadata["min"]:
        problems.append(f"{described} have length greater than or equal to {shape.metadata['min']}")
    if type_name == "string" and isinstance(value, str) and "pattern" in shape.metadata:
        pattern = _java_pattern(shape.metadata["pattern"])
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{described} satisfy regular expression pattern: {shape.metadata['pattern']}")
    return problems


def validation_message(service: str, action: str, body: Any) -> str | None:
    """AWS's ValidationException message for a request breaking its model's constraints, or None."""
    try:
        operation = _service_model(service).operation_model(action)
    except Exception:
        return None
    if operation.input_shape is None or not isinstance(body, dict):
        return None
    problems = _constraint_problems(body, operation.input_shape, "")
    if not problems:
        return None
    count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
    return f"{count}: {'; '.join(problems)}"


def bucket_name_problem(name: str) -> str | None:
    """Why S3 refuses `name` for a general purpose bucket, or None."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name):
        return "3-63 characters of a-z, 0-9, '.' and '-', beginning and ending with a letter or digit"
    if ".." in name:
        return "two adjacent periods"
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name):
        return "formatted as an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
        return "a reserved prefix"
    if name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")):
        return "a reserved suffix"
    return None


def is_email_address(endpoint: str) -> bool:
    return bool(
        re.fullmatch(
            r"[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", endpoint
        )
    )


def _install_validation() -> None:
    from moto.core import responses
    from moto.s3 import models as s3_models
    from moto.s3.exceptions import InvalidBucketName
    from moto.sns import models as sns_models
    from moto.sns.exceptions import SNSInvalidParameter

    def call_action(self: Any) -> Any:
        service = getattr(self, "service_name", None)
        if service in MODEL_VALIDATED_SERVICES:
            try:
                body = json.loads(self.body) if self.body else {}
            except (TypeError, ValueError):
                body = None
            message = validation_message(service, self._get_action(), body)
            if message is not None:
                content_type = self.headers.get("Content-Type") or "application/x-amz-json-1.0"
                document = {"__type": "ValidationException", "message": message}
                headers = {"Content-Type": content_type, "status": 400, "x-amzn-RequestId": str(uuid.uuid4())}
                return 400, headers, json.dumps(document)
        return _original("core.call_action")(self)

    def create_bucket(
        self: Any, bucket_name: str, region_name: str, bucket_namespace: str | None = None
    ) -> Any:
        if bucket_name_problem(bucket_name) is not None:
            raise InvalidBucketName()
        return _original("s3.create_bucket")(self, bucket_name, region_name, bucket_namespace)

    def subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
        if protocol in ("email", "email-json") and not is_email_address(endpoint):
            raise SNSInvalidParameter("Invalid parameter: Email address")
        return _original("sns.subscribe")(self, topic_arn, endpoint, protocol)

    _replace(responses.BaseResponse, "call_action", call_action, "core.call_action")
    _replace(s3_models.S3Backend, "create_bucket", create_bucket, "s3.create_bucket")
    _replace(sns_models.SNSBackend, "subscribe", subscribe, "sns.subscribe")


# ---------------------------------------------------------------- 16: IAM for the engine's calls


def _install_iam() -> None:
    from offline_runtime.iam import enforce_on

    for point in HOOK_POINTS:
        if point.hook != "iam":
            continue
        module = importlib.import_module(point.module)
        original = module.boto_client_for

        def boto_client_for(
            region: str, service: str, state_credentials: Any = None, _original: Any = original
        ) -> Any:
            client = _original(region=region, service=service, state_credentials=state_credentials)
            read = settings.role_policies
            role_arn = getattr(state_credentials, "role_arn", None)
            if read is not None and role_arn:
                enforce_on(client, role_arn, lambda: read(role_arn))
            return client

        _replace(module, "boto_client_for", boto_client_for, f"iam.{point.module}")
