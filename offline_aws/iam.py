"""IAM evaluated offline: each call a role makes is authorized against the role's policies, as AWS does.

The emulation's server stays permissive (the deployer and tests act as the account's administrator);
the callers that act as a role (the Step Functions engine with the state machine's role, each function's
handler with its role, a Glue run with the job's role) authorize every call before sending it, with
`authorize`: the IAM action and resource ARN AWS checks for the operation, then the role's policies
(explicit Deny wins, then any Allow, else denied). A denied call raises the ClientError the service
answers with, so callers see AWS's error (and Step Functions names it by the usual rule).

Conditions are evaluated for the keys offline requests carry (`aws:SecureTransport`); any other key is
absent, with AWS's rules for absent keys (an Allow conditioned on it does not apply, so it never grants
more than on AWS). An operator not evaluated offline is refused with ValueError rather than guessed.
"""

import fnmatch
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

# What every request offline carries, as an SDK request to AWS over HTTPS would.
REQUEST_CONTEXT: dict[str, str] = {"aws:SecureTransport": "true"}


@dataclass(frozen=True)
class Authorization:
    action: str
    resource: str


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _function_arn(name: str, region: str, account: str) -> str:
    return name if name.startswith("arn:") else _arn("lambda", region, account, f"function:{name}")


def authorizations(
    service: str, operation: str, params: Mapping[str, Any], region: str, account: str
) -> list[Authorization]:
    """The (action, resource) pairs IAM checks for one call (Service Authorization Reference)."""
    p = params
    if service == "s3":
        bucket, key = p.get("Bucket", ""), p.get("Key")
        object_arn = f"arn:aws:s3:::{bucket}/{key}"
        by_operation = {
            "ListBuckets": ("s3:ListAllMyBuckets", "*"),
            "CreateBucket": ("s3:CreateBucket", f"arn:aws:s3:::{bucket}"),
            "HeadBucket": ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
            "ListObjects": ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
            "ListObjectsV2": ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
            "PutObject": ("s3:PutObject", object_arn),
            "CreateMultipartUpload": ("s3:PutObject", object_arn),
            "UploadPart": ("s3:PutObject", object_arn),
            "CompleteMultipartUpload": ("s3:PutObject", object_arn),
            "GetObject": ("s3:GetObject", object_arn),
            "HeadObject": ("s3:GetObject", object_arn),
            "DeleteObject": ("s3:DeleteObject", object_arn),
        }
        if operation == "DeleteObjects":
            keys = [o["Key"] for o in p.get("Delete", {}).get("Objects", [])]
            return [Authorization("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{k}") for k in keys]
        if operation in by_operation:
            return [Authorization(*by_operation[operation])]
    elif service == "kinesis":
        if operation == "ListStreams":
            return [Authorization("kinesis:ListStreams", "*")]
        stream = p.get("StreamARN") or _arn("kinesis", region, account, f"stream/{p.get('StreamName', '')}")
        return [Authorization(f"kinesis:{operation}", stream)]
    elif service == "sns":
        if operation == "ListTopics":
            return [Authorization("sns:ListTopics", "*")]
        if operation == "CreateTopic":
            return [Authorization("sns:CreateTopic", _arn("sns", region, account, p.get("Name", "")))]
        topic = p.get("TopicArn") or p.get("TargetArn") or "*"
        return [Authorization(f"sns:{operation}", topic)]
    elif service == "lambda":
        name = unquote(str(p.get("FunctionName", "")))
        return [
            Authorization(
                f"lambda:{'InvokeFunction' if operation == 'Invoke' else operation}",
                _function_arn(name, region, account),
            )
        ]
    elif service == "glue" and "JobName" in p:
        return [Authorization(f"glue:{operation}", _arn("glue", region, account, f"job/{p['JobName']}"))]
    elif service == "secretsmanager" and "SecretId" in p:
        secret = str(p["SecretId"])
        # Named without its ARN, the ARN's random suffix is unknown here: a grant naming the whole ARN does
        # not match it, so such a call is denied rather than guessed allowed.
        arn = (
            secret
            if secret.startswith("arn:")
            else _arn("secretsmanager", region, account, f"secret:{secret}")
        )
        return [Authorization(f"secretsmanager:{operation}", arn)]
    elif service == "logs" and "logGroupName" in p:
        group = _arn("logs", region, account, f"log-group:{p['logGroupName']}")
        if "logStreamName" in p:
            group += f":log-stream:{p['logStreamName']}"
        return [Authorization(f"logs:{operation}", group)]
    # Anything else: the operation's name as the action, on every resource (never wider than AWS).
    return [Authorization(f"{service}:{operation}", "*")]


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _matches(patterns: Sequence[str], value: str, *, ignore_case: bool) -> bool:
    if ignore_case:
        return any(fnmatch.fnmatchcase(value.lower(), pattern.lower()) for pattern in patterns)
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    """One IAM condition against `context`, with AWS's rules for keys the request does not carry."""
    expected_values = _listed(expected)
    base = operator.removesuffix("IfExists")
    if base == "Null":
        return (key not in context) == (expected_values[0].lower() == "true")
    if key not in context:
        # Absent keys: negated operators hold, ...IfExists holds, everything else does not.
        return operator.endswith("IfExists") or "Not" in base
    actual = context[key]
    if base == "Bool":
        return actual.lower() in (v.lower() for v in expected_values)
    if base in ("StringEquals", "ArnEquals"):
        return actual in expected_values
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in (v.lower() for v in expected_values)
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in expected_values
    if base in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, v) for v in expected_values)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(fnmatch.fnmatchcase(actual, v) for v in expected_values)
    # Guessing could grant (an Allow) or lift a Deny: refuse to evaluate instead.
    raise ValueError(f"IAM condition operator {operator} is not supported offline")


def statement_applies(statement: Mapping[str, Any], context: Mapping[str, str] = REQUEST_CONTEXT) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, pairs in statement.get("Condition", {}).items()
        for key, expected in pairs.items()
    )


def _statement_matches(statement: Mapping[str, Any], authorization: Authorization) -> bool:
    if "Action" in statement:
        if not _matches(_listed(statement["Action"]), authorization.action, ignore_case=True):
            return False
    elif _matches(_listed(statement.get("NotAction", [])), authorization.action, ignore_case=True):
        return False
    if "Resource" in statement:
        if not _matches(_listed(statement["Resource"]), authorization.resource, ignore_case=False):
            return False
    elif _matches(_listed(statement.get("NotResource", [])), authorization.resource, ignore_case=False):
        return False
    return statement_applies(statement)


def decision(documents: Sequence[Mapping[str, Any]], authorization: Authorization) -> str:
    """ "Allow", "ExplicitDeny" or "ImplicitDeny" for one action on one resource."""
    statements = [
        statement
        for document in documents
        for statement in (
            [document["Statement"]] if isinstance(document["Statement"], dict) else document["Statement"]
        )
    ]
    matching = [s for s in statements if _statement_matches(s, authorization)]
    if any(s["Effect"] == "Deny" for s in matching):
        return "ExplicitDeny"
    return "Allow" if any(s["Effect"] == "Allow" for s in matching) else "ImplicitDeny"


# Per service: the error code, HTTP status and spelling of the action in AWS's access-denied answer.
_DENIED = {
    "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "lambda": ("AccessDeniedException", 403),
}


def denied_error(
    service: str, operation: str, role_arn: str, authorization: Authorization, why: str
) -> ClientError:
    code, status = _DENIED.get(service, ("AccessDeniedException", 400))
    role_name = role_arn.rsplit("/", 1)[-1]
    account = role_arn.split(":")[4]
    principal = f"arn:aws:sts::{account}:assumed-role/{role_name}/offline"
    action = authorization.action.replace("sns:", "SNS:") if service == "sns" else authorization.action
    reason = (
        "an explicit deny in an identity-based policy"
        if why == "ExplicitDeny"
        else f"no identity-based policy allows the {action} action"
    )
    message = (
        f"User: {principal} is not authorized to perform: {action} on resource: {authorization.resource}"
        f" because {reason}"
    )
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "offline-iam", "HTTPHeaders": {}},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


def authorize(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    role_arn: str,
    documents: Sequence[Mapping[str, Any]],
    region: str,
) -> None:
    """Raise the service's access-denied ClientError unless the role's policies allow the call."""
    account = role_arn.split(":")[4]
    for authorization in authorizations(service, operation, params, region, account):
        outcome = decision(documents, authorization)
        if outcome != "Allow":
            raise denied_error(service, operation, role_arn, authorization, outcome)


def enforce_on(client: Any, role_arn: str, documents: Callable[[], Sequence[Mapping[str, Any]]]) -> Any:
    """Make `client` authorize each call as `role_arn` before sending it; returns the client."""
    service = client.meta.service_model.service_name
    region = client.meta.region_name

    def before_call(params: Mapping[str, Any], model: Any, **_: Any) -> None:
        authorize(service, model.name, params, role_arn=role_arn, documents=documents(), region=region)

    client.meta.events.register(
        f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}.*", before_call
    )
    return client


def role_policy_documents(role_arn: str) -> list[dict[str, Any]]:
    """The role's inline and attached managed policy documents (each managed policy's default version),
    as IAM holds them now. Read from moto's IAM backend, which runs in this process: through the API this
    was a dozen calls per role, about 60 ms of CPU, for every evaluation that needed a role's policies."""
    from moto.iam.models import iam_backends

    account_id = role_arn.split(":")[4]
    role = iam_backends[account_id]["global"].get_role(role_arn.rsplit("/", 1)[-1])
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents += [version.document for version in policy.versions if version.is_default]
    return [json.loads(document) if isinstance(document, str) else document for document in documents]
