"""The definition's service calls against botocore's service models: error names each call can raise, and
blob members given JSON values, as Step Functions serialises them."""

import ast
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from conftest import all_states

from offline_aws.moto_hooks.sdk_integrations import java_pascal_case, sdk_service_error_name

LAYER = Path(__file__).resolve().parents[2] / "layers" / "requests"
FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

SESSION = botocore.session.get_session()
AWS_SDK = "arn:aws:states:::aws-sdk:"
STATES_ERRORS = {"States.ALL", "States.Timeout", "States.TaskFailed", "States.DataLimitExceeded"}
# Step Functions' documented names for lambda:invoke service failures (bp-lambda-serviceexception).
LAMBDA_DOCUMENTED = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
}
# What the project's functions raise: Lambda reports the exception class name as the error. Read from the
# source, not imported: the layer's loggers take the service name of the process that imports them first.
FUNCTION_ERRORS = {
    node.name
    for module in ("rapidapi/errors.py", "execution_input/errors.py")
    for node in ast.walk(ast.parse((LAYER / module).read_text()))
    if isinstance(node, ast.ClassDef)
}
# Named in the definition's own failure-recording Pass states, never raised by a call.
DEFINITION_ERRORS = {"StreamNotWritableError", "BucketListTooLargeError"}


def operation(service: str, action: str) -> Any:
    boto_service = {"sfn": "stepfunctions"}.get(service, service)
    model = SESSION.get_service_model(boto_service)
    api_name = action[0].upper() + action[1:]
    return boto_service, model.operation_model(api_name)


def raisable_errors(resource: str) -> set[str]:
    """Every error name a Task with `resource` can end in, as Step Functions names it."""
    if resource.startswith(AWS_SDK):
        service, action = resource.removeprefix(AWS_SDK).split(":")
        boto_service, op = operation(service, action)
        prefix = sdk_service_error_name(boto_service)
        modeled = {java_pascal_case(shape.name) for shape in op.error_shapes}
        names = {f"{prefix}.{n if n.endswith('Exception') else n + 'Exception'}" for n in modeled}
        return STATES_ERRORS | names | {f"{prefix}.{prefix}Exception"}
    if resource == "arn:aws:states:::lambda:invoke":
        _, op = operation("lambda", "invoke")
        return (
            STATES_ERRORS
            | LAMBDA_DOCUMENTED
            | {f"Lambda.{s.name}" for s in op.error_shapes}
            | FUNCTION_ERRORS
        )
    if resource == "arn:aws:states:::glue:startJobRun.sync":
        shapes = {
            s.name
            for action in ("startJobRun", "getJobRun")
            for s in operation("glue", action)[1].error_shapes
        }
        return STATES_ERRORS | {f"Glue.{name}" for name in shapes}
    raise AssertionError(f"no error model for {resource}")


def tasks(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every Task, those of Map iterations included."""
    return [(name, state) for name, state in all_states(definition).items() if state["Type"] == "Task"]


def test_every_retried_or_caught_error_is_one_the_call_can_raise(definition):
    wrong = []
    for name, state in tasks(definition):
        allowed = raisable_errors(state["Resource"])
        for handler in [*state.get("Retry", []), *state.get("Catch", [])]:
            wrong += [(name, error) for error in handler["ErrorEquals"] if error not in allowed]
    assert wrong == []


def test_the_checker_refuses_names_the_models_do_not_have():
    allowed = raisable_errors(f"{AWS_SDK}kinesis:putRecord")
    assert "Kinesis.KmsThrottlingException" in allowed and "Kinesis.KinesisException" in allowed
    assert "Kinesis.LimitExceededException" not in allowed  # modeled for ListStreams, not PutRecord
    assert "Kinesis.KMSThrottlingException" not in allowed  # the model's spelling, not the SDK's class
    assert "Sns.ThrottledException" not in raisable_errors(f"{AWS_SDK}sns:listTopics")  # SMS operations only
    assert "Glue.ThrottlingException" not in raisable_errors("arn:aws:states:::glue:startJobRun.sync")


def test_generic_service_errors_are_retried_at_most_twice(definition):
    # They carry throttling and permanent refusals (access denied) alike.
    for name, state in tasks(definition):
        for retrier in state.get("Retry", []):
            generic = [e for e in retrier["ErrorEquals"] if e.split(".")[0] + "Exception" == e.split(".")[-1]]
            if generic:
                assert retrier["MaxAttempts"] <= 2 and retrier["ErrorEquals"] == generic, name


def test_the_function_errors_the_definition_routes_on_exist():
    routed = {"UpstreamRateLimitError", "UpstreamUnavailableError", "InvalidInputError"}
    assert routed <= FUNCTION_ERRORS
    assert not DEFINITION_ERRORS & FUNCTION_ERRORS


def test_the_definitions_own_error_names_are_those_its_pass_states_give(definition):
    named = {
        state["Parameters"]["Error"]
        for state in all_states(definition).values()
        if state["Type"] == "Pass" and "Error" in state.get("Parameters", {})
    }
    assert named == DEFINITION_ERRORS


def raised_by_fetch_functions() -> set[str]:
    """The error classes the fetch functions' code constructs (raised, or returned to be raised): their own
    modules and the layer's packages they import. A base class only subclassed is not among them."""
    sources = [
        *FUNCTIONS.glob("fetch_*/*.py"),
        *(LAYER / "rapidapi").glob("*.py"),
        # Not schema.py: the execution input's schema is ValidateExecutionInputFunction's alone.
        *(path for path in (LAYER / "execution_input").glob("*.py") if path.name != "schema.py"),
    ]
    return {
        node.func.id
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTION_ERRORS
    }


def test_the_errors_parsed_as_a_functions_error_object_are_exactly_those_the_functions_raise(definition):
    # A Pass state that reads the Cause as Lambda's JSON error object (States.StringToJson) may only get a
    # function's own error: any other Cause ("" after a timeout, a service error's text) is not JSON and
    # fails the whole Map; an own error left out is recorded with its whole Cause, stack trace included.
    states = all_states(definition)
    parsers = {
        name
        for name, state in states.items()
        if state["Type"] == "Pass"
        and "States.StringToJson($.failure.Cause)" in json.dumps(state.get("Parameters"))
    }
    assert parsers == {"ParseStockFetchError", "ParseCountryFetchError"}
    raised = raised_by_fetch_functions()
    assert "InvalidInputError" in raised and "UpstreamError" not in raised
    routed = {}
    for name, state in states.items():
        for index, catcher in enumerate(state.get("Catch", [])):
            if catcher["Next"] in parsers:
                routed[name] = set(catcher["ErrorEquals"])
                assert catcher["ResultPath"] == "$.failure" and index < len(state["Catch"]) - 1, name
        # Nothing else leads into a parser.
        assert not {state.get("Next"), state.get("Default")} & parsers, name
    assert routed == {"FetchStockData": raised, "FetchSubscriptionData": raised}
    assert {states[n]["Resource"] for n in routed} == {"arn:aws:states:::lambda:invoke"}


def blob_members(resource: str) -> set[str]:
    service, action = resource.removeprefix(AWS_SDK).split(":")
    _, op = operation(service, action)
    return {name for name, shape in op.input_shape.members.items() if shape.type_name == "blob"}


def blob_paths(definition: dict[str, Any]) -> dict[str, str]:
    """Each aws-sdk Task's path given to a blob member, checked to be a JSON value's path."""
    # Step Functions JSON-serialises a blob member's value (recorded for s3:putObject): JSON text given
    # there is stored quoted and escaped, not as the document.
    seen = {}
    for name, state in tasks(definition):
        if not state["Resource"].startswith(AWS_SDK):
            continue
        for member in blob_members(state["Resource"]):
            assert member not in state["Parameters"], f"{name}.{member}: a literal would be stored as JSON"
            path = state["Parameters"].get(f"{member}.$")
            if path is not None:
                assert path.startswith("$.") and "States." not in path, f"{name}.{member}.$ = {path}"
                seen[name] = path
    return seen


def test_blob_members_get_json_values_never_json_text(definition):
    assert blob_paths(definition) == {
        "PutRawStockData": "$.fetched.document",
        "PutPendingRawObject": "$.raw.document",
        "PutSubscriptionRecord": "$.streaming.document",
    }


@pytest.mark.parametrize(
    "member_value", ["States.JsonToString($.fetched.document)", "States.Format('{}', $.x)"]
)
def test_the_blob_check_catches_json_text(definition, member_value):
    state = all_states(definition)["PutRawStockData"]
    assert blob_paths({"States": {"PutRawStockData": state}}) == {"PutRawStockData": "$.fetched.document"}
    broken = {**state, "Parameters": {**state["Parameters"], "Body.$": member_value}}
    with pytest.raises(AssertionError):
        blob_paths({"States": {"PutRawStockData": broken}})
