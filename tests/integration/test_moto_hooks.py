"""Guards for the hook points themselves: each hooked moto attribute exists with the expected signature.

The behaviour each hook gives is guarded through boto3 in the other test_hook_*.py modules.
"""

import datetime
import re
from pathlib import Path

import pytest

from offline_runtime import moto_hooks
from offline_runtime.moto_hooks import HOOK_POINTS, HookPoint

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("point", HOOK_POINTS, ids=lambda p: f"{p.hook}:{p.attribute}")
def test_hook_point_matches_moto(point: HookPoint) -> None:
    assert point.problem() is None


def test_every_hook_named_in_the_module_docstring_has_hook_points() -> None:
    documented = set(re.findall(r"^\d+\. ([a-z-]+):", moto_hooks.__doc__ or "", flags=re.MULTILINE))
    assert documented == {point.hook for point in HOOK_POINTS}


def test_every_hook_has_a_behaviour_test_module_naming_it() -> None:
    docstrings = " ".join(
        path.read_text().split('"""')[1] for path in Path(__file__).parent.glob("test_hook_*.py")
    )
    assert {point.hook for point in HOOK_POINTS if point.hook not in docstrings} == set()


def test_a_changed_signature_is_reported() -> None:
    point = HookPoint(
        "lambda-run", "moto.awslambda.models", "LambdaFunction._invoke_lambda", ("self", "payload")
    )
    assert "takes ('self', 'event')" in (point.problem() or "")
    assert "is gone" in (HookPoint("x", "moto.awslambda.models", "NoSuchThing").problem() or "")


def test_the_hooks_are_installed_by_the_emulation(emulation) -> None:
    assert moto_hooks.is_installed()
    assert moto_hooks.hook_point_problems() == []


def test_moto_is_pinned_to_one_exact_version() -> None:
    pins = re.findall(
        r"^moto\[server\]==([\d.]+)$", (REPO / "requirements-dev.txt").read_text(), flags=re.MULTILINE
    )
    assert pins == ["5.2.5"]


@pytest.mark.parametrize(
    ("service", "code", "expected"),
    [
        ("s3", "NoSuchBucket", "S3.NoSuchBucketException"),
        ("s3", "BucketAlreadyOwnedByYou", "S3.BucketAlreadyOwnedByYouException"),
        ("s3", "InvalidBucketName", "S3.S3Exception"),  # not a modeled error: the service's base exception
        ("kinesis", "ResourceNotFoundException", "Kinesis.ResourceNotFoundException"),
        ("kinesis", "ResourceInUseException", "Kinesis.ResourceInUseException"),
        ("sns", "NotFound", "Sns.NotFoundException"),
        ("dynamodb", "ConditionalCheckFailedException", "DynamoDb.ConditionalCheckFailedException"),
        ("stepfunctions", "ExecutionAlreadyExists", "Sfn.ExecutionAlreadyExistsException"),
        ("acm-pca", "ResourceNotFoundException", "AcmPca.ResourceNotFoundException"),
    ],
)
def test_sdk_error_names_follow_the_aws_rule(service: str, code: str, expected: str) -> None:
    assert moto_hooks.sdk_error_name(service, code) == expected


def test_timestamps_are_written_as_aws_does() -> None:
    utc = datetime.UTC
    assert moto_hooks.aws_timestamp(datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=utc)) == (
        "2024-05-01T12:00:00.123Z"
    )
    assert (
        moto_hooks.aws_timestamp(datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=utc))
        == "2024-05-01T12:00:00Z"
    )
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    assert (
        moto_hooks.aws_timestamp(datetime.datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
        == "2024-05-01T12:00:00Z"
    )


def test_mock_configs_are_validated_before_use() -> None:
    with pytest.raises(ValueError, match="no MockedResponses entry"):
        moto_hooks.validate_mock_config({"StateMachines": {"m": {"TestCases": {"c": {"S": "missing"}}}}})
    with pytest.raises(ValueError, match="exactly one of Return and Throw"):
        moto_hooks.validate_mock_config({"MockedResponses": {"r": {"0": {}}}})
    with pytest.raises(ValueError, match="not an attempt number"):
        moto_hooks.validate_mock_config({"MockedResponses": {"r": {"first": {"Return": {}}}}})
