"""The SAM template: one runtime, secrets kept out, resources hardened, parameters self-explanatory."""

import json
import re
from typing import Any

import stock_data_etl

RUNTIME = "python3.11"


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_runtime_is_stated_once_and_the_layer_builds_for_it(template, repo):
    assert template["Globals"]["Function"]["Runtime"] == RUNTIME
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert set(functions) == {
        "ValidateExecutionInputFunction",
        "FetchStockDataFunction",
        "FetchSubscriptionDataFunction",
    }
    assert all("Runtime" not in f["Properties"] for f in functions.values())
    layer = template["Resources"]["RequestsLayer"]
    # Its Makefile installs the pinned requirements for the runtime, without the runtime's own libraries.
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (repo / "layers" / "requests" / "Makefile").read_text()
    assert "build-RequestsLayer:" in makefile
    assert f"--python-version {RUNTIME.removeprefix('python')} " in makefile
    assert f"PYTHON ?= {RUNTIME}\n" in makefile
    assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME]
    assert layer["Properties"]["ContentUri"] == "layers/requests/"


def test_functions_share_the_layer_and_only_the_fetch_functions_know_the_secret(template):
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "RequestsLayer"}]
    assert "RAPIDAPI_KEY_SECRET_ARN" not in template["Globals"]["Function"]["Environment"]["Variables"]
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"]
        if name.startswith("Fetch"):
            assert variables["RAPIDAPI_KEY_SECRET_ARN"] == {"Ref": "RapidApiKeySecret"}
            assert function["Properties"]["Policies"] == [
                {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "RapidApiKeySecret"}}}
            ]
        else:
            assert "RAPIDAPI_KEY_SECRET_ARN" not in variables and "Policies" not in function["Properties"]


def test_the_validator_gets_every_bound_the_schema_reads(template):
    from execution_input import StackBounds

    variables = template["Resources"]["ValidateExecutionInputFunction"]["Properties"]["Environment"][
        "Variables"
    ]
    assert set(StackBounds.ENVIRONMENT.values()) <= set(variables)


def test_every_function_has_a_ready_made_event(template, repo):
    for function in resources_of_type(template, "AWS::Serverless::Function").values():
        code_dir = function["Properties"]["CodeUri"].rstrip("/").split("/")[-1]
        event = json.loads((repo / "events" / f"{code_dir}.json").read_text())
        assert isinstance(event, dict) and event


def test_secret_is_created_without_a_value(template):
    secret = template["Resources"]["RapidApiKeySecret"]["Properties"]
    assert "SecretString" not in secret and "GenerateSecretString" not in secret
    assert "put-secret-value" in secret["Description"]


def test_no_key_like_string_in_tracked_configuration(repo):
    # A RapidAPI key is a 50-character alphanumeric string.
    key_like = re.compile(r"\b[A-Za-z0-9]{40,60}\b")
    for path in [repo / "template.yaml", repo / "samconfig.toml", *sorted((repo / "events").glob("*.json"))]:
        assert not key_like.search(path.read_text()), path


def test_data_bucket_is_private_encrypted_versioned_and_tls_only(template):
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    statements = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_stream_and_topic_are_encrypted(template):
    stream = template["Resources"]["SubscriptionStream"]["Properties"]
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    topic = template["Resources"]["NotificationTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "NotificationKey"}


def test_glue_job_is_glue_5_with_uploadable_script_and_no_own_retries(template, repo):
    job = template["Resources"]["StockDataGlueJob"]["Properties"]
    assert job["GlueVersion"] == "5.0"
    assert job["Command"]["Name"] == "glueetl"
    script = job["Command"]["ScriptLocation"]
    assert not script.startswith("s3://") and (repo / script).is_file()
    assert job["MaxRetries"] == 0
    assert job["Timeout"] > 0 and job["NumberOfWorkers"] >= 2


def test_glue_role_is_scoped_to_the_data_bucket(template):
    statements = template["Resources"]["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith(":*") for a in actions), statement["Sid"]
        if statement["Resource"] == "*":
            assert actions == ["cloudwatch:PutMetricData"]
    writes = next(s for s in statements if s["Sid"] == "WriteCuratedData")
    assert all("DataBucket.Arn" in r["Fn::Sub"] for r in writes["Resource"])


def test_state_machine_is_standard_logged_without_data_and_traced(state_machine):
    assert state_machine["Type"] == "STANDARD"
    assert state_machine["Logging"]["IncludeExecutionData"] is False
    assert state_machine["Tracing"] == {"Enabled": True}


def test_schedule_exists_and_is_disabled_by_default(template):
    schedule = template["Resources"]["ScheduledRunSchedule"]["Properties"]
    assert schedule["State"] == {"Ref": "ScheduleState"}
    assert schedule["Target"]["Arn"] == {"Ref": "DataPipelineStateMachine"}
    assert template["Parameters"]["ScheduleState"]["Default"] == "DISABLED"


def test_alarm_watches_failed_executions_and_notifies(template):
    alarm = template["Resources"]["FailedExecutionsAlarm"]["Properties"]
    metrics = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert "ExecutionsFailed" in metrics
    assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]


def test_every_parameter_explains_itself(template):
    for name, parameter in template["Parameters"].items():
        assert len(parameter.get("Description", "")) > 20, name
        assert "Default" in parameter, name


def test_default_glue_job_name_accepts_the_original_input(template, repo):
    original = json.loads((repo / "events" / "execution_original.json").read_text())
    assert template["Parameters"]["GlueJobName"]["Default"] == original["glueJobName"]


def test_original_input_is_the_reference_file_unchanged(repo):
    reference = repo.parent / "shared" / "reference" / "original_workflow_input.json"
    if reference.exists():
        assert (repo / "events" / "execution_original.json").read_bytes() == reference.read_bytes()


def test_catalog_table_declares_what_the_glue_job_writes(template):
    table = template["Resources"]["StockMinuteBarsTable"]["Properties"]["TableInput"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    partitions = [(c["Name"], c["Type"]) for c in table["PartitionKeys"]]
    assert columns == stock_data_etl.CURATED_COLUMNS
    assert partitions == stock_data_etl.PARTITION_COLUMNS
    assert table["Parameters"]["projection.enabled"] == "true"
    job = template["Resources"]["StockDataGlueJob"]["Properties"]
    curated = job["DefaultArguments"]["--curated_path"]["Fn::Sub"]
    assert table["StorageDescriptor"]["Location"]["Fn::Sub"] == curated
