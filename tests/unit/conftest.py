"""Fixtures: the RapidAPI stand-in on a real port, emulated Secrets Manager (moto), and handler loading."""

import importlib.util
import io
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from emulation_helpers import in_process_aws, unique

from offline_pipeline.rapidapi_standin import PAYLOADS, RapidApiStandIn

REPO = Path(__file__).resolve().parents[2]
REFERENCE = PAYLOADS
# Lambda sets the service name before any import; the layer's child logger takes its name at import.
SERVICE = os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "fetch-tests")


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
def reference() -> Callable[[str], Any]:
    return lambda name: json.loads((REFERENCE / name).read_text())


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[RapidApiStandIn]:
    with RapidApiStandIn() as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on (bound, then released), for connection-refused cases."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Emulated Secrets Manager, plus the environment the template gives the functions."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "DataPipelineTests",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "UPSTREAM_READ_TIMEOUT_SECONDS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "RAPIDAPI_KEY_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    parameters.clear_caches()  # the secret is cached per container; every test is a fresh container
    with in_process_aws():
        yield boto3.client("secretsmanager")
    parameters.clear_caches()


@pytest.fixture
def stored_key(aws: Any, standin: RapidApiStandIn, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = aws.create_secret(Name=unique("rapidapi-key"), SecretString=standin.api_key)["ARN"]
    monkeypatch.setenv("RAPIDAPI_KEY_SECRET_ARN", arn)
    return standin.api_key


@pytest.fixture
def stock_handler(stored_key: str) -> ModuleType:
    handler = load_handler("fetch_stock_data")
    import stock_data  # what the handler imported: its container state starts empty, as a new one's does

    stock_data.QUOTA.clear()
    return handler


@pytest.fixture
def subscription_handler(stored_key: str) -> ModuleType:
    return load_handler("fetch_subscription_data")


@pytest.fixture
def log_stream(aws: Any) -> Iterator[io.StringIO]:
    """What the Powertools loggers write; their handler is set up once, on the first test's stdout."""
    load_handler("fetch_stock_data")  # makes sure the service logger exists and is configured
    service_logger = logging.getLogger(SERVICE)
    stream = io.StringIO()
    previous = [
        (h, h.setStream(stream)) for h in service_logger.handlers if isinstance(h, logging.StreamHandler)
    ]
    level = service_logger.level
    yield stream
    service_logger.setLevel(level)
    for handler, old in previous:
        handler.setStream(old)


def emitted(capsys: pytest.CaptureFixture[str], log_stream: io.StringIO) -> list[dict[str, Any]]:
    """Every JSON line the functions printed: Powertools logs and EMF metrics."""
    printed = capsys.readouterr().out + log_stream.getvalue()
    return [json.loads(line) for line in printed.splitlines() if line.startswith("{")]


def metric_names(lines: list[dict[str, Any]]) -> set[str]:
    return {
        metric["Name"]
        for line in lines
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in directive["Metrics"]
    }


@pytest.fixture(scope="session")
def template_parameters() -> dict[str, Any]:
    from samcli.yamlhelper import yaml_parse

    return dict(yaml_parse((REPO / "template.yaml").read_text())["Parameters"])
