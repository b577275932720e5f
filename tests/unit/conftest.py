import importlib.util
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from offline_runtime.rapidapi_standin import RapidApiStandIn

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "offline_runtime" / "reference_payloads"


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the Lambda runtime's context object."""

    function_name: str = "fetch-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fetch-function"
    aws_request_id: str = "request-1"


def load_handler(function_dir: str) -> ModuleType:
    # Both functions name their handler module app.py (the SAM convention): load each under its own name.
    path = REPO / "functions" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"{function_dir}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def reference() -> Any:
    return lambda name: json.loads((REFERENCE / name).read_text())


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Any:
    with RapidApiStandIn() as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DataPipelineTests",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": "fetch-tests",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager")
    parameters.clear_caches()


@pytest.fixture
def stored_key(aws: Any, standin: RapidApiStandIn, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = aws.create_secret(Name="rapidapi-key", SecretString=standin.api_key)["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    return standin.api_key


@pytest.fixture
def stock_handler(stored_key: str) -> ModuleType:
    return load_handler("fetch_stock_data")


@pytest.fixture
def subscription_handler(stored_key: str) -> ModuleType:
    return load_handler("fetch_subscription_data")


@pytest.fixture
def log_stream(stock_handler: ModuleType) -> io.StringIO:
    """What the functions' Powertools loggers write (their handler outlives one test's stdout capture)."""
    stream = io.StringIO()
    for handler in logging.getLogger("fetch-tests").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return stream
