"""template.yaml's grants under offline IAM: every call made as a role is authorized as AWS would.

The template is deployed as SAM translates it (policy templates expanded, managed policies attached);
removing one grant a happy path needs makes the offline run fail at the state that needs it, with the
error AWS gives, as a deploy would show.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emulation_helpers import task_failures
from pipeline_helpers import REPO, Pipeline, observed_pipeline
from samcli.yamlhelper import yaml_parse

from offline_pipeline.report import error_message

Template = dict[str, Any]


def statements(template: Template, resource: str) -> list[dict[str, Any]]:
    properties = template["Resources"][resource]["Properties"]
    if resource == "GlueJobRole":
        return properties["Policies"][0]["PolicyDocument"]["Statement"]
    return next(p["Statement"] for p in properties["Policies"] if "Statement" in p)


def without_action(resource: str, sid: str, action: str) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        statement = next(s for s in statements(template, resource) if s["Sid"] == sid)
        statement["Action"] = [a for a in statement["Action"] if a != action]

    return mutate


def without_statement(resource: str, sid: str) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        listed = statements(template, resource)
        listed.remove(next(s for s in listed if s["Sid"] == sid))

    return mutate


def without_policy(resource: str, index: int) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        del template["Resources"][resource]["Properties"]["Policies"][index]

    return mutate


def deploy_mutated(emulation, standin, tmp_path: Path, mutate: Callable[[Template], None]) -> Pipeline:
    template = yaml_parse((REPO / "template.yaml").read_text())
    mutate(template)
    # samconfig.toml too: its s3_prefix says where the Glue script goes, which the Glue role may read.
    for entry in ("functions", "layers", "glue", "statemachine", "samconfig.toml"):
        (tmp_path / entry).symlink_to(REPO / entry)
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    return observed_pipeline(emulation, standin, template=tmp_path / "template.yaml", prefix="iam")


STREAMING = {"workflow": "streaming"}
ETL = {"workflow": "etl"}

MISSING_GRANTS = [
    pytest.param(
        without_action("DataPipelineStateMachine", "WriteSubscriptionRecords", "kinesis:PutRecord"),
        STREAMING,
        "PutSubscriptionRecord",
        "Kinesis.AccessDeniedException",
        id="state-machine-kinesis-PutRecord",
    ),
    pytest.param(
        without_action("DataPipelineStateMachine", "ListCallsAdmitNoNarrowerResource", "kinesis:ListStreams"),
        STREAMING,
        "ListStreams",
        "Kinesis.AccessDeniedException",
        id="state-machine-kinesis-ListStreams",
    ),
    pytest.param(
        without_action("DataPipelineStateMachine", "NotifySubscribers", "sns:Publish"),
        STREAMING,
        "PublishRecordNotification",
        "Sns.AuthorizationErrorException",
        id="state-machine-sns-Publish",
    ),
    pytest.param(
        without_statement("DataPipelineStateMachine", "WriteRawStockData"),
        ETL,
        "PutRawStockData",
        "S3.AccessDeniedException",
        id="state-machine-s3-PutObject",
    ),
    pytest.param(
        without_policy("DataPipelineStateMachine", 0),
        STREAMING,
        "ValidateExecutionInput",
        "Lambda.AccessDeniedException",
        id="state-machine-lambda-InvokeFunction",
    ),
    pytest.param(
        without_policy("FetchSubscriptionDataFunction", 0),
        STREAMING,
        "FetchSubscriptionData",
        "GetParameterError",
        id="function-secretsmanager-GetSecretValue",
    ),
]


@pytest.mark.parametrize(("mutate", "execution_input", "failed_at", "error"), MISSING_GRANTS)
def test_a_missing_grant_fails_the_run_where_aws_would(
    emulation, rapidapi_standin, tmp_path, mutate, execution_input, failed_at, error
) -> None:
    pipeline = deploy_mutated(emulation, rapidapi_standin, tmp_path, mutate)
    result = pipeline.run(execution_input)

    assert result.status == "FAILED"
    assert result.error == error, (result.error, error_message(result.cause))
    assert task_failures(result)[0] == (failed_at, error)
    assert "is not authorized to perform" in result.cause


@pytest.mark.spark
def test_a_glue_role_without_its_curated_grant_fails_the_job_run(
    emulation, rapidapi_standin, tmp_path
) -> None:
    pipeline = deploy_mutated(
        emulation, rapidapi_standin, tmp_path, without_statement("GlueJobRole", "WriteCuratedData")
    )
    result = pipeline.run(ETL)

    assert (result.status, result.error) == ("FAILED", "States.TaskFailed")
    assert task_failures(result)[-1] == ("RunStockDataGlueJob", "States.TaskFailed")
    # The first S3 call the grant covered is refused: the run summary's, mirrored before the script runs.
    assert "GlueJobRole" in result.cause and "is not authorized to perform: s3:" in result.cause


def test_the_unchanged_template_grants_what_both_workflows_need(
    emulation, rapidapi_standin, tmp_path
) -> None:
    pipeline = deploy_mutated(emulation, rapidapi_standin, tmp_path, lambda template: None)
    result = pipeline.run(STREAMING)
    assert result.status == "SUCCEEDED", (result.error, error_message(result.cause))
