"""Hooks on moto: AWS SDK integrations.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_sdk_integrations.py.

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
"""

import base64
import datetime
import functools
import json
import re
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from offline_aws.moto_hooks.core import (
    STATE_TASK_SERVICE,
    HookPoint,
    original,
    replace,
)

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint(
        "sdk-error-names",
        f"{STATE_TASK_SERVICE}.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk._normalise_service_error_name",
        ("service_name",),
    ),
    HookPoint(
        "sdk-error-names",
        f"{STATE_TASK_SERVICE}.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk._normalise_exception_name",
        ("norm_service_name", "ex"),
    ),
    HookPoint(
        "result-json",
        f"{STATE_TASK_SERVICE}.state_task_service",
        "StateTaskService._normalise_response",
        ("self", "response", "boto_service_name", "service_action_name"),
    ),
    HookPoint(
        "result-json",
        f"{STATE_TASK_SERVICE}.state_task_service_callback",
        "StateTaskServiceCallback._eval_sync",
        ("self", "env", "sync_resolver", "timeout_seconds", "callback_endpoint", "heartbeat_endpoint"),
    ),
    HookPoint(
        "sdk-request-json",
        f"{STATE_TASK_SERVICE}.state_task_service_aws_sdk",
        "StateTaskServiceAwsSdk._normalise_parameters",
        ("self", "parameters", "boto_service_name", "service_action_name"),
    ),
)


@functools.cache
def service_model(boto_service_name: str) -> Any:
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
        service_id = service_model(boto_service_name).service_id
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
        for shape in service_model(boto_service_name).error_shapes:
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


def install() -> None:
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
        original("aws_sdk._normalise_parameters")(self, parameters, boto_service_name, service_action_name)
        try:
            model = service_model(self._get_boto_service_name(boto_service_name))
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
        original("service._normalise_response")(self, response, boto_service_name, service_action_name)
        to_aws_json(response)

    def eval_sync(self: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        outcome = original("callback._eval_sync")(self, env, *args, **kwargs)
        return to_aws_json(outcome) if isinstance(outcome, dict | list) else outcome

    replace(
        aws_sdk, "_normalise_service_error_name", staticmethod(normalise_service_error_name), "aws_sdk.svc"
    )
    replace(aws_sdk, "_normalise_exception_name", staticmethod(normalise_exception_name), "aws_sdk.exc")
    replace(aws_sdk, "_normalise_parameters", normalise_parameters, "aws_sdk._normalise_parameters")
    replace(
        state_task_service.StateTaskService,
        "_normalise_response",
        normalise_response,
        "service._normalise_response",
    )
    replace(
        state_task_service_callback.StateTaskServiceCallback, "_eval_sync", eval_sync, "callback._eval_sync"
    )
