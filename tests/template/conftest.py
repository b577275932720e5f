import json
import tomllib
from collections.abc import Iterator
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


def state_scopes(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The definition and every state machine nested in it (a Map's ItemProcessor, a Parallel's branches),
    outermost first: each has its own StartAt and States, and transitions never leave it."""
    yield definition
    for state in definition["States"].values():
        for nested in [
            *([state["ItemProcessor"]] if "ItemProcessor" in state else []),
            *state.get("Branches", []),
        ]:
            yield from state_scopes(nested)


def all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, those of Map iterations included (names are unique in the whole definition)."""
    return {name: state for scope in state_scopes(definition) for name, state in scope["States"].items()}


ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="session")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml as the SAM translator (the one `sam deploy` runs) expands it."""
    from offline_aws.deployer import sam_translate

    return sam_translate(template, REGION, {})


def resolve_resources(translated: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Every resource's properties with parameters, conditions and intrinsics evaluated as CloudFormation
    would; a resource stands for itself as `<LogicalId>` (Ref) or an ARN of its type (Fn::GetAtt)."""
    from offline_aws.cfn_template import Resolver, parameter_values

    resources = translated["Resources"]
    arn_formats = {
        "AWS::S3::Bucket": "arn:aws:s3:::{ref}",
        "AWS::Kinesis::Stream": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{{ref}}",
        "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{ref}}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{ref}}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{{ref}}",
    }
    refs = {
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{{ref}}",
        "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{ref}}",
    }

    def ref(logical_id: str) -> str:
        return refs.get(resources[logical_id]["Type"], "{ref}").format(ref=f"<{logical_id}>")

    def attribute(logical_id: str, name: str) -> str:
        if name in ("Arn",) and resources[logical_id]["Type"] in arn_formats:
            return arn_formats[resources[logical_id]["Type"]].format(ref=f"<{logical_id}>")
        return f"<{logical_id}.{name}>"

    resolver = Resolver(
        translated,
        parameters=parameter_values(translated, overrides or {}),
        pseudo_parameters={
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": "stack",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/stack/id",
            "AWS::URLSuffix": "amazonaws.com",
        },
        resource_ref=ref,
        resource_attribute=attribute,
    )
    return {
        logical_id: {**resource, "Properties": resolver.resolve(resource.get("Properties", {}), logical_id)}
        for logical_id, resource in resources.items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def samconfig_s3_prefixes() -> dict[str, str]:
    """samconfig.toml's s3_prefix of `sam deploy` and of `sam package`: where this stack's artifacts go."""
    config = tomllib.loads((REPO / "samconfig.toml").read_text())["default"]
    return {command: config[command]["parameters"]["s3_prefix"] for command in ("deploy", "package")}


# The IAM actions a Task's Resource needs: an aws-sdk integration its API's action (where IAM names it
# otherwise, as listed), an optimized integration what the Step Functions guide lists for it.
SDK_API_ACTIONS = {"s3:listBuckets": ["s3:ListAllMyBuckets"]}
OPTIMIZED_INTEGRATION_ACTIONS = {
    "arn:aws:states:::lambda:invoke": ["lambda:InvokeFunction"],
    # https://docs.aws.amazon.com/step-functions/latest/dg/glue-iam.html (.sync)
    "arn:aws:states:::glue:startJobRun.sync": [
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    ],
}


def iam_actions_of(task_resource: str) -> set[str]:
    if task_resource.startswith("arn:aws:states:::aws-sdk:"):
        api = task_resource.removeprefix("arn:aws:states:::aws-sdk:")
        service, action = api.split(":")
        return set(SDK_API_ACTIONS.get(api, [f"{service}:{action[0].upper()}{action[1:]}"]))
    return set(OPTIMIZED_INTEGRATION_ACTIONS[task_resource])
