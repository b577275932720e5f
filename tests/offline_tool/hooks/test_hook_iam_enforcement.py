"""Hook iam and offline_aws.iam: the engine's calls authorized as the execution's role, with the error AWS
gives; the evaluator's decisions. tests/workflows/test_iam_grants.py removes template.yaml's grants one
at a time."""

import json
from typing import Any

import pytest
from emulation_helpers import unique

from offline_aws.iam import Authorization, decision


def role_allowing(emulation, *statements: dict[str, Any]) -> str:
    iam = emulation.client("iam")
    name = unique("engine-role")
    trust = {"Version": "2012-10-17", "Statement": []}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_role_policy(RoleName=name, PolicyName="Grants", PolicyDocument=json.dumps(document))
    return str(arn)


def machine_as(emulation, role_arn: str, states: dict[str, Any]) -> str:
    created = emulation.client("stepfunctions").create_state_machine(
        name=unique("iam-sm"),
        definition=json.dumps({"StartAt": next(iter(states)), "States": states}),
        roleArn=role_arn,
    )
    return str(created["stateMachineArn"])


def put_object(bucket: str, key: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
        "Parameters": {"Bucket": bucket, "Key": key, "Body": "x"},
        "End": True,
    }


def test_a_call_the_role_allows_goes_through(emulation) -> None:
    bucket = unique("iam-allowed")
    emulation.client("s3").create_bucket(Bucket=bucket)
    role = role_allowing(emulation, allow("s3:PutObject", f"arn:aws:s3:::{bucket}/raw/*"))
    result = emulation.run_execution(machine_as(emulation, role, {"Put": put_object(bucket, "raw/a")}), {})
    assert result.status == "SUCCEEDED", result.cause
    assert emulation.client("s3").get_object(Bucket=bucket, Key="raw/a")["Body"].read() == b'"x"'


def test_a_call_outside_the_grant_fails_with_the_services_access_denied_error(emulation) -> None:
    bucket = unique("iam-denied")
    emulation.client("s3").create_bucket(Bucket=bucket)
    role = role_allowing(emulation, allow("s3:PutObject", f"arn:aws:s3:::{bucket}/raw/*"))
    result = emulation.run_execution(
        machine_as(emulation, role, {"Put": put_object(bucket, "curated/a")}), {}
    )
    assert result.error == "S3.AccessDeniedException"
    assert "not authorized to perform: s3:PutObject" in (result.cause or "")
    assert f"arn:aws:s3:::{bucket}/curated/a" in (result.cause or "")
    listed = emulation.client("s3").list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0


def test_an_explicit_deny_wins_over_an_allow(emulation) -> None:
    bucket = unique("iam-deny")
    emulation.client("s3").create_bucket(Bucket=bucket)
    role = role_allowing(
        emulation,
        allow("s3:*", "*"),
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
    )
    result = emulation.run_execution(machine_as(emulation, role, {"Put": put_object(bucket, "raw/a")}), {})
    assert result.error == "S3.AccessDeniedException"
    assert "explicit deny" in (result.cause or "")


# ---------------------------------------------------------------- the evaluator


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def policy(*statements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/subscriptionStream"


@pytest.mark.parametrize(
    ("documents", "authorization", "expected"),
    [
        (policy(allow("kinesis:PutRecord", STREAM)), Authorization("kinesis:PutRecord", STREAM), "Allow"),
        (policy(allow("Kinesis:put*", STREAM)), Authorization("kinesis:PutRecord", STREAM), "Allow"),
        (
            policy(allow("kinesis:PutRecord", STREAM.upper())),
            Authorization("kinesis:PutRecord", STREAM),
            "ImplicitDeny",
        ),
        (
            policy(allow("kinesis:PutRecord", STREAM + "x")),
            Authorization("kinesis:PutRecord", STREAM),
            "ImplicitDeny",
        ),
        (
            policy(allow("*", "*"), {"Effect": "Deny", "Action": "kinesis:*", "Resource": "*"}),
            Authorization("kinesis:PutRecord", STREAM),
            "ExplicitDeny",
        ),
        (
            policy({"Effect": "Allow", "NotAction": "kinesis:*", "Resource": "*"}),
            Authorization("kinesis:PutRecord", STREAM),
            "ImplicitDeny",
        ),
        (
            policy(allow("s3:PutObject", "arn:aws:s3:::bucket/raw/*")),
            Authorization("s3:PutObject", "arn:aws:s3:::bucket/curated/x"),
            "ImplicitDeny",
        ),
        (
            policy(allow("s3:PutObject", "arn:aws:s3:::bucket*")),
            Authorization("s3:PutObject", "arn:aws:s3:::bucket/curated/x"),
            "Allow",  # IAM's * also matches '/'
        ),
        (
            policy(allow("s3:GetObject", "*", Condition={"Bool": {"aws:SecureTransport": "true"}})),
            Authorization("s3:GetObject", "arn:aws:s3:::b/k"),
            "Allow",
        ),
        (
            policy(allow("s3:GetObject", "*", Condition={"StringEquals": {"aws:PrincipalTag/team": "data"}})),
            Authorization("s3:GetObject", "arn:aws:s3:::b/k"),
            "ImplicitDeny",  # a key offline requests do not carry: never more than on AWS
        ),
    ],
)
def test_policies_are_evaluated_as_iam_does(documents, authorization, expected) -> None:
    assert decision(documents, authorization) == expected
