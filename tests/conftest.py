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
        tracing: str = "PassThrough",
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
            TracingConfig={"Mode": tracing},
        )
        return dict(created)

    return create


# ---------------------------------------------------------------- test processes

# Modules whose tests share nothing, not even a module fixture (each runs its own subprocess).
SPREAD_MODULES = frozenset({"tests/workflows/test_offline_cli.py"})


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest without xdist does not know it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `make test` (pytest-xdist) a module's tests run in one process, so its module and session
    fixtures (a deployed stack, one ETL run per scenario, one local Spark) are set up once; each test of
    SPREAD_MODULES goes to whichever process is free. xdist's `--dist loadgroup` cannot do this with
    pytest 9.2: the group it appends to a test's node ID is lost (xdist 3.8 writes `item._nodeid`)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in SPREAD_MODULES else module

    return ModuleScheduling(config, log)
