"""Hooks on moto: Executions.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_executions.py.

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
13. mock-invocations: ...asl.eval.environment.Environment.get_current_mocked_response -> a mocked state
   answers with the response for its invocation number in the execution (every attempt counts, as in
   Step Functions Local); moto picks by the state's RetryCount, so a state entered again (a polling
   loop) would always get response "0".
"""

import copy
import datetime
import json
import re
import threading
import uuid
from typing import Any

from offline_aws.moto_hooks.core import SFN, HookPoint, original, replace, settings
from offline_aws.moto_hooks.sdk_integrations import aws_timestamp

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint(
        "execution-start",
        f"{SFN}.models",
        "StepFunctionsParserBackend.start_execution",
        ("self", "state_machine_arn", "name", "execution_input", "trace_header"),
    ),
    HookPoint(
        "execution-start", f"{SFN}.backend.execution", "Execution._get_start_execution_worker", ("self",)
    ),
    HookPoint(
        "execution-start",
        "moto.stepfunctions.responses",
        "StepFunctionResponse.describe_execution",
        ("self",),
    ),
    HookPoint(
        "execution-start",
        f"{SFN}.mocking.mock_config",
        "_mock_test_case_from_raw",
        ("state_machine_name", "test_case_name", "raw_mock_config"),
    ),
    HookPoint(
        "execution-start", "moto.stepfunctions.models", "StepFunctionBackend._validate_name", ("self", "name")
    ),
    HookPoint(
        "context-times", f"{SFN}.backend.execution", "Execution.get_start_execution_details", ("self",)
    ),
    HookPoint(
        "context-times",
        f"{SFN}.asl.component.state.state",
        "CommonStateField._eval_state_input",
        ("self", "env"),
    ),
    HookPoint(
        "reraise-states-errors",
        f"{SFN}.asl.component.common.error_name.custom_error_name",
        "CustomErrorName.__init__",
        ("self", "error_name"),
    ),
    HookPoint(
        "mock-invocations",
        f"{SFN}.asl.eval.environment",
        "Environment.get_current_mocked_response",
        ("self",),
    ),
)


# The mock test case of the StartExecution this thread is serving, for the execution it creates.
_pending = threading.local()


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


def _validate_execution_input(text: str) -> None:
    """StartExecution takes any JSON value; anything else is InvalidExecutionInput, as recorded on AWS."""
    from moto.stepfunctions.exceptions import InvalidExecutionInput

    if not text.strip():
        raise InvalidExecutionInput("Invalid State Machine Execution Input: 'Invalid execution input.'")
    try:
        json.loads(text)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None


def install() -> None:
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
            return original("sfn.start_execution")(self, base_arn, name, execution_input, trace_header)
        finally:
            _pending.mock_test_case = None

    def get_start_execution_worker(self: Any) -> Any:
        worker = original("sfn._get_start_execution_worker")(self)
        mock_test_case = getattr(_pending, "mock_test_case", None)
        if mock_test_case is not None:
            worker._mock_test_case = mock_test_case
        return worker

    def get_start_execution_details(self: Any) -> Any:
        details = original("sfn.get_start_execution_details")(self)
        if isinstance(details.start_time, datetime.datetime):
            details.start_time = aws_timestamp(details.start_time)
        return details

    def eval_state_input(self: Any, env: Any) -> None:
        state_data = env.states.context_object.context_object_data.get("State")
        entered = state_data.get("EnteredTime") if state_data else None
        if isinstance(entered, str) and not entered.endswith("Z"):
            state_data["EnteredTime"] = aws_timestamp(datetime.datetime.fromisoformat(entered))
        original("sfn._eval_state_input")(self, env)

    replace(models.StepFunctionsParserBackend, "start_execution", start_execution, "sfn.start_execution")

    def describe_execution(self: Any) -> Any:
        described = original("sfn.describe_execution")(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        if "output" in described.result:
            described.result["output"] = json.dumps(
                execution.output, separators=(",", ":"), ensure_ascii=False
            )
        return described

    replace(
        stepfunctions_responses.StepFunctionResponse,
        "describe_execution",
        describe_execution,
        "sfn.describe_execution",
    )
    replace(
        execution.Execution,
        "_get_start_execution_worker",
        get_start_execution_worker,
        "sfn._get_start_execution_worker",
    )
    replace(
        execution.Execution,
        "get_start_execution_details",
        get_start_execution_details,
        "sfn.get_start_execution_details",
    )
    replace(state.CommonStateField, "_eval_state_input", eval_state_input, "sfn._eval_state_input")

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

    replace(
        environment.Environment,
        "get_current_mocked_response",
        get_current_mocked_response,
        "sfn.get_current_mocked_response",
    )

    def custom_error_name_init(self: Any, error_name: str | None) -> None:
        error_name_module.ErrorName.__init__(self, error_name=error_name)

    replace(
        custom_error_name.CustomErrorName, "__init__", custom_error_name_init, "sfn.CustomErrorName.__init__"
    )
