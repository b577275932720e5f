import json
from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
STATE_MACHINE_ID = "DataPipelineStateMachine"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return yaml_parse((REPO / "template.yaml").read_text())


@pytest.fixture(scope="session")
def state_machine(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"][STATE_MACHINE_ID]["Properties"]


@pytest.fixture(scope="session")
def definition_text(state_machine: dict[str, Any]) -> str:
    return (REPO / state_machine["DefinitionUri"]).read_text()


@pytest.fixture(scope="session")
def definition(definition_text: str) -> dict[str, Any]:
    return json.loads(definition_text)
