"""Tests against a deployed stack, named the `sam init` way: AWS_SAM_STACK_NAME=<stack> make test."""

import os
from typing import Any

import boto3
import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("AWS_SAM_STACK_NAME"):
        return
    skip = pytest.mark.skip(reason="AWS_SAM_STACK_NAME is not set: no deployed stack to test")
    for item in items:
        if "tests/deployed" in str(item.path):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack_outputs() -> dict[str, str]:
    stack_name = os.environ["AWS_SAM_STACK_NAME"]
    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture(scope="session")
def aws() -> Any:
    session = boto3.Session()
    services = ("stepfunctions", "s3", "kinesis", "lambda", "cloudwatch")
    return {name: session.client(name) for name in services}
