"""Hook bucket-policy-conditions: bucket policy Conditions evaluated as AWS does for an HTTPS request."""

import json

import pytest
from botocore.exceptions import ClientError
from emulation_helpers import unique


def bucket_with_policy(emulation, secure_transport: str) -> str:
    bucket = unique("policy-bucket")
    s3 = emulation.client("s3")
    s3.create_bucket(Bucket=bucket)
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": secure_transport}},
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    return bucket


def test_a_deny_insecure_transport_policy_lets_sdk_requests_through(emulation) -> None:
    s3 = emulation.client("s3")
    bucket = bucket_with_policy(emulation, secure_transport="false")
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_bucket_policy_conditions_are_evaluated_not_ignored(emulation) -> None:
    s3 = emulation.client("s3")
    bucket = bucket_with_policy(emulation, secure_transport="true")  # denies every (HTTPS) request
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
