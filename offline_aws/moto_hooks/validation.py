"""Hooks on moto: AWS's request validation.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_validation.py.

15. aws-validation: core.responses.BaseResponse.call_action, s3.models.S3Backend.create_bucket and
   sns.models.SNSBackend.subscribe -> requests AWS refuses are refused: for the JSON-protocol services in
   MODEL_VALIDATED_SERVICES (Kinesis, Step Functions) every member's length and pattern constraint of
   botocore's model, as `ValidationException` with AWS's message (a stream name with a space, an
   execution input over 262,144 bytes); S3's general purpose bucket naming rules (`InvalidBucketName`);
   e-mail endpoints that are no address (`InvalidParameter`). moto checks none of these.
"""

import base64
import json
import re
import uuid
from typing import Any

from offline_aws.moto_hooks.core import (
    HookPoint,
    original,
    replace,
)
from offline_aws.moto_hooks.sdk_integrations import service_model

HOOK_POINTS: tuple[HookPoint, ...] = (
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
)


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
        operation = service_model(service).operation_model(action)
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


def install() -> None:
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
        return original("core.call_action")(self)

    def create_bucket(
        self: Any, bucket_name: str, region_name: str, bucket_namespace: str | None = None
    ) -> Any:
        if bucket_name_problem(bucket_name) is not None:
            raise InvalidBucketName()
        return original("s3.create_bucket")(self, bucket_name, region_name, bucket_namespace)

    def subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
        if protocol in ("email", "email-json") and not is_email_address(endpoint):
            raise SNSInvalidParameter("Invalid parameter: Email address")
        return original("sns.subscribe")(self, topic_arn, endpoint, protocol)

    replace(responses.BaseResponse, "call_action", call_action, "core.call_action")
    replace(s3_models.S3Backend, "create_bucket", create_bucket, "s3.create_bucket")
    replace(sns_models.SNSBackend, "subscribe", subscribe, "sns.subscribe")
