"""The definition's service calls against botocore's service models: error names each call can raise, and
blob members given JSON values, as Step Functions serialises them."""

import ast
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from offline_aws.moto_hooks.sdk_integrations import java_pascal_case, sdk_service_error_name

LAYER = Path(__file__).resolve().parents[2] / "layers" / "requests"

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
    return [(name, state) for name, state in definition["States"].items() if state["Type"] == "Task"]


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


def blob_members(resource: str) -> set[str]:
    service, action = resource.removeprefix(AWS_SDK).split(":")
    _, op = operation(service, action)
    return {name for name, shape in op.input_shape.members.items() if shape.type_name == "blob"}


def test_blob_members_get_json_values_never_json_text(definition):
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
    assert seen == {"PutRawStockData": "$.etl.document", "PutSubscriptionRecord": "$.streaming.document"}


@pytest.mark.parametrize("member_value", ["States.JsonToString($.etl.document)", "States.Format('{}', $.x)"])
def test_the_blob_check_catches_json_text(definition, member_value):
    broken = {**definition["States"]["PutRawStockData"]}
    broken["Parameters"] = {**broken["Parameters"], "Body.$": member_value}
    with pytest.raises(AssertionError):
        test_blob_members_get_json_values_never_json_text({"States": {"PutRawStockData": broken}})
