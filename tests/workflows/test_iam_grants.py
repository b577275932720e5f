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
from emulation_helpers import task_failures, unique
from pipeline_helpers import REPO, Pipeline, observed_pipeline
from samcli.yamlhelper import yaml_parse

from offline_pipeline.report import error_message

Template = dict[str, Any]


def statements(template: Template, resource: str) -> list[dict[str, Any]]:
    properties = template["Resources"][resource]["Properties"]
    if resource == "GlueJobRole":
        return properties["Policies"][0]["PolicyDocument"]["Statement"]
    return next(p["Statement"] for p in properties["Policies"] if "Statement" in p)


def sid_of(statement: dict[str, Any]) -> str:
    # A statement granted only under a condition is `!If [Condition, statement, AWS::NoValue]`.
    return str(statement["Fn::If"][1]["Sid"] if "Fn::If" in statement else statement["Sid"])


def without_action(resource: str, sid: str, action: str) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        statement = next(s for s in statements(template, resource) if sid_of(s) == sid)
        statement["Action"] = [a for a in statement["Action"] if a != action]

    return mutate


def without_statement(resource: str, sid: str) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        listed = statements(template, resource)
        listed.remove(next(s for s in listed if sid_of(s) == sid))

    return mutate


def without_policy(resource: str, index: int) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        del template["Resources"][resource]["Properties"]["Policies"][index]

    return mutate


def deploy_mutated(
    emulation,
    standin,
    tmp_path: Path,
    mutate: Callable[[Template], None],
    overrides: dict[str, str] | None = None,
) -> Pipeline:
    template = yaml_parse((REPO / "template.yaml").read_text())
    mutate(template)
    # samconfig.toml too: its s3_prefix says where the Glue script goes, which the Glue role may read.
    for entry in ("functions", "layers", "glue", "statemachine", "samconfig.toml"):
        (tmp_path / entry).symlink_to(REPO / entry)
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    return observed_pipeline(
        emulation, standin, template=tmp_path / "template.yaml", prefix="iam", overrides=overrides
    )


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
        without_statement("DataPipelineStateMachine", "NotifySubscribers"),
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


CREATE_GRANTS = [
    pytest.param(
        "CreateInputBucket", "InputBucketName", ETL, "batchBucketName", "CreateBucketInUsEast1",
        "S3.AccessDeniedException", id="state-machine-s3-CreateBucket",
    ),
    pytest.param(
        "CreateInputStream", "InputStreamName", STREAMING, "streamName", "CreateStream",
        "Kinesis.AccessDeniedException", id="state-machine-kinesis-CreateStream",
    ),
    pytest.param(
        "CreateInputTopic", "InputTopicName", STREAMING, "topicName", "CreateTopic",
        "Sns.AuthorizationErrorException", id="state-machine-sns-CreateTopic",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("sid", "parameter", "workflow", "field", "failed_at", "error"), CREATE_GRANTS)
def test_creating_the_name_an_input_may_name_needs_its_create_grant(
    emulation, rapidapi_standin, tmp_path, sid, parameter, workflow, field, failed_at, error
) -> None:
    """The stack's own resources need no create grant (the unchanged template's run shows it); the one
    name per kind that Input*Name allows does, once the workflow finds it missing."""
    name = unique("input")
    mutate = without_statement("DataPipelineStateMachine", sid)
    pipeline = deploy_mutated(emulation, rapidapi_standin, tmp_path, mutate, overrides={parameter: name})
    result = pipeline.run({**workflow, field: name})

    assert (result.status, result.error) == ("FAILED", error), error_message(result.cause)
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
