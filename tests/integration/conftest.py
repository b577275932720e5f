"""Fixtures for tests on the embedded AWS emulation (one emulation per test session).

The workflow tests share one deployment of template.yaml (`pipeline_stack`, session-wide) and the
RapidAPI stand-in; the `pipeline` fixture hands it to a test with the stand-in's scripts and recorded
requests cleared.
"""

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulation_helpers import REPO, TEST_TIME_SCALE, WIDENED_TO_ANY_NAME, Pipeline, SqsObserver, unique

from offline_runtime.deployer import deploy, zip_directory
from offline_runtime.emulation import Emulation
from offline_runtime.rapidapi_standin import RapidApiStandIn


@pytest.fixture(scope="session")
def emulation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulation]:
    with Emulation(
        time_scale=TEST_TIME_SCALE, work_dir=tmp_path_factory.mktemp("offline-runtime")
    ) as running:
        yield running


@pytest.fixture(scope="session")
def role_arn(emulation: Emulation) -> str:
    """A role for the hook tests' own state machines, functions and jobs: allowed everything, so that
    what they test is not IAM (test_hook_iam.py tests that)."""
    document = {"Version": "2012-10-17", "Statement": []}
    iam = emulation.client("iam")
    name = unique("test-role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="AllowEverything", PolicyDocument=json.dumps(everything))
    return str(role["Role"]["Arn"])


@pytest.fixture
def create_state_machine(emulation: Emulation, role_arn: str) -> Callable[..., str]:
    def create(definition: dict[str, Any], name: str | None = None) -> str:
        created = emulation.client("stepfunctions").create_state_machine(
            name=name or unique("sm"), definition=json.dumps(definition), roleArn=role_arn
        )
        return str(created["stateMachineArn"])

    return create


@pytest.fixture
def create_function(emulation: Emulation, role_arn: str, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Deploy a handler given as source text (module `app`), returning create_function's answer."""

    def create(
        source: str,
        *,
        handler: str = "app.handler",
        timeout: int = 10,
        environment: dict[str, str] | None = None,
        layers: list[str] | None = None,
    ) -> dict[str, Any]:
        code_dir = tmp_path / unique("code")
        code_dir.mkdir()
        (code_dir / "app.py").write_text(textwrap.dedent(source))
        created = emulation.client("lambda").create_function(
            FunctionName=unique("fn"),
            Runtime="python3.11",
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": zip_directory(code_dir)},
            Timeout=timeout,
            Environment={"Variables": environment or {}},
            Layers=layers or [],
        )
        return dict(created)

    return create


# ---------------------------------------------------------------- the project's pipeline


@pytest.fixture(scope="session")
def rapidapi_standin() -> Iterator[RapidApiStandIn]:
    with RapidApiStandIn() as standin:
        yield standin


@pytest.fixture(scope="session")
def pipeline_stack(emulation: Emulation, rapidapi_standin: RapidApiStandIn) -> Pipeline:
    """template.yaml with its default Glue job name (StockDataETLJOB, which the original input names), the
    secret holding the stand-in's key, and an SQS observer on the notification topic.

    The branch tests name fresh buckets, streams and topics, so this stack is widened to any name (the
    README's documented override); `default_stack` in test_input_validation.py keeps the defaults."""
    stack = deploy(
        emulation,
        REPO / "template.yaml",
        stack_name=unique("pipeline"),
        parameter_overrides={
            # Catalog database names are account-wide; other tests deploy the template with the default.
            "CatalogDatabaseName": unique("pipeline").replace("-", "_"),
            **WIDENED_TO_ANY_NAME,
        },
        secret_values={"RapidApiKeySecret": rapidapi_standin.api_key},
    )
    observer = SqsObserver(emulation, str(stack.ref("NotificationTopic")))
    return Pipeline(emulation, stack, rapidapi_standin, observer).fresh()


@pytest.fixture
def pipeline(pipeline_stack: Pipeline) -> Iterator[Pipeline]:
    yield pipeline_stack.fresh()
    pipeline_stack.standin.reset()
