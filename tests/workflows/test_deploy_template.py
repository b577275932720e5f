"""template.yaml deployed into the emulation as offline_pipeline.stack assembles it: every resource, the
substitutions, the functions' code and environment, the Glue job's script and arguments."""

import pytest
from pipeline_helpers import REPO, observed_pipeline

from offline_aws.cfn_template import load_template


@pytest.fixture(scope="module")
def project_stack(emulation, rapidapi_standin):
    return observed_pipeline(emulation, rapidapi_standin).stack


def test_every_unconditional_resource_of_the_template_is_deployed(project_stack) -> None:
    resources = load_template(REPO / "template.yaml")["Resources"]
    expected = {logical_id for logical_id, spec in resources.items() if "Condition" not in spec}
    assert expected <= set(project_stack.resources)


def test_the_state_machine_has_every_substitution_resolved(emulation, project_stack) -> None:
    arn = project_stack.ref("DataPipelineStateMachine")
    definition = emulation.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    assert "${" not in definition
    assert project_stack.attribute("FetchStockDataFunction", "Arn") in definition
    assert project_stack.ref("DataBucket") in definition
    assert project_stack.attribute("NotificationKey", "Arn") in definition


def test_the_schedule_gets_a_generated_name_and_targets_the_state_machine(emulation, project_stack) -> None:
    name = project_stack.ref("ScheduledRunSchedule")
    assert name.startswith(project_stack.stack_name)
    schedule = emulation.client("scheduler").get_schedule(Name=name)
    assert schedule["State"] == "DISABLED"
    assert schedule["Target"]["Arn"] == project_stack.ref("DataPipelineStateMachine")
    assert schedule["Target"]["RoleArn"] == project_stack.attribute("ScheduledRunRole", "Arn")


def test_functions_get_their_code_layer_environment_and_handler(
    emulation, project_stack, rapidapi_standin
) -> None:
    configuration = emulation.client("lambda").get_function_configuration(
        FunctionName=project_stack.ref("FetchStockDataFunction")
    )
    assert configuration["Handler"] == "app.lambda_handler"
    assert configuration["Runtime"] == "python3.11"
    assert configuration["Timeout"] == 30
    assert configuration["TracingConfig"] == {"Mode": "Active"}  # Globals' Tracing: Active
    assert [layer["Arn"] for layer in configuration["Layers"]] == [project_stack.ref("RequestsLayer")]
    variables = configuration["Environment"]["Variables"]
    assert variables["RAPIDAPI_KEY_SECRET_ARN"] == project_stack.ref("RapidApiKeySecret")
    assert variables["POWERTOOLS_SERVICE_NAME"] == "fetch-stock-data"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == project_stack.stack_name
    secret = emulation.client("secretsmanager").get_secret_value(
        SecretId=project_stack.ref("RapidApiKeySecret")
    )
    assert secret["SecretString"] == rapidapi_standin.api_key


def test_the_glue_job_runs_the_packaged_script_with_its_default_arguments(emulation, project_stack) -> None:
    job = emulation.client("glue").get_job(JobName=project_stack.ref("StockDataGlueJob"))["Job"]
    bucket, key = job["Command"]["ScriptLocation"].removeprefix("s3://").split("/", 1)
    packaged = emulation.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert packaged == (REPO / "glue" / "stock_data_etl.py").read_bytes()
    data_bucket = project_stack.ref("DataBucket")
    assert job["DefaultArguments"]["--curated_path"] == f"s3://{data_bucket}/curated/stock_minute_bars/"


def test_the_data_bucket_policy_does_not_block_sdk_requests(emulation, project_stack) -> None:
    s3 = emulation.client("s3")
    bucket = project_stack.ref("DataBucket")
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.put_object(Bucket=bucket, Key="raw/probe.json", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="raw/probe.json")["Body"].read() == b"{}"
