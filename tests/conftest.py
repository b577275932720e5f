"""Fixtures for tests on the embedded AWS emulation: one emulation per test session, shared by the offline
tool's tests (tests/offline_tool) and the workflows' (tests/workflows, whose conftest deploys the project)."""

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulation_helpers import TEST_TIME_SCALE, unique

from offline_aws.deployer import zip_directory
from offline_aws.emulation import Emulation


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


# ---------------------------------------------------------------- test processes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `make test` (xdist, --dist loadgroup) a module's tests share one process, and with it their
    module fixtures (one ETL run per scenario), unless the module sets SPREAD_OVER_PROCESSES: each of its
    tests then goes to whichever process is free (the CLI tests, each its own subprocess)."""
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and not getattr(module, "SPREAD_OVER_PROCESSES", False):
            item.add_marker(pytest.mark.xdist_group(module.__name__))
