"""The SAM CLI accepts the template: validate with lint, build, and package against an emulated S3.

`sam build` installs the layer's pinned requirements from the local wheelhouse that `make test`
downloads, so the test itself never reaches the internet; the built handlers then import with only what
Lambda's python3.11 runtime puts on their path.
"""

import fnmatch
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import resolve_resources, samconfig_s3_prefixes
from moto.server import ThreadedMotoServer
from samcli.yamlhelper import yaml_parse

from bench.bench_workflows import runtime_libraries
from execution_input import StackBounds

pytestmark = pytest.mark.sam

REGION = "us-east-1"
FUNCTIONS = ("FetchStockDataFunction", "FetchSubscriptionDataFunction", "ValidateExecutionInputFunction")


def sam(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    sam_cli = Path(os.environ.get("VIRTUAL_ENV", repo / ".venv")) / "bin" / "sam"
    result = subprocess.run(
        [str(sam_cli), *args],
        cwd=repo,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def built_template(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheelhouse = repo / ".wheelhouse"
    if not any(wheelhouse.glob("*.whl")):
        pytest.fail("No wheelhouse: run `make test` (or `make wheelhouse`) so sam build can install offline.")
    build_dir = tmp_path_factory.mktemp("sam-build")
    sam(
        repo,
        "build",
        "--build-dir", str(build_dir / "build"),
        "--cache-dir", str(build_dir / "cache"),
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)},
    )  # fmt: skip
    return build_dir / "build" / "template.yaml"


def test_sam_validate_lint_passes(repo):
    result = sam(repo, "validate", "--lint", "--region", REGION)
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_build_puts_what_functions_share_in_the_layer_once(built_template, tmp_path):
    build = built_template.parent
    layer = build / "RequestsLayer" / "python"
    for package in ("requests", "aws_lambda_powertools", "pydantic", "rapidapi", "execution_input"):
        assert (layer / package / "__init__.py").is_file(), f"{package} is not in the layer"
    # No X-Ray SDK (no releases after 2027-02-25): Lambda's active tracing needs none.
    assert not {"aws_xray_sdk", "wrapt"} & {path.name for path in layer.iterdir()}
    for function in FUNCTIONS:
        assert (build / function / "app.py").is_file()
        packages = [path.name for path in (build / function).iterdir() if path.is_dir()]
        assert packages == [], f"{function} bundles {packages}: what functions share belongs in the layer"
    # Nothing of what the python3.11 runtime provides: a copy would shadow the runtime's boto3 and its kin.
    runtime = {path.name for path in runtime_libraries(tmp_path / "runtime").iterdir()}
    assert {"boto3", "botocore", "urllib3"} <= runtime
    assert not runtime & {path.name for path in layer.iterdir()}


def test_built_handlers_import_from_their_package_the_layer_and_the_runtime_only(built_template, tmp_path):
    """As on Lambda: `-S` hides this virtualenv; what loads at init or at the first call must be there."""
    build = built_template.parent
    runtime = runtime_libraries(tmp_path / "runtime")
    deferred = (
        "from aws_lambda_powertools.utilities import parameters; "
        "from aws_lambda_powertools.utilities.parser import parse; import execution_input.schema"
    )
    bounds = {name: "x" for name in StackBounds.ENVIRONMENT.values()}
    for function in FUNCTIONS:
        package = build / function
        path = [str(package), str(build / "RequestsLayer" / "python"), str(runtime)]
        result = subprocess.run(
            [sys.executable, "-S", "-P", "-c", f"import app; {deferred}"],
            cwd=package,
            env={
                "PATH": os.environ["PATH"],
                "PYTHONPATH": os.pathsep.join(path),
                "LAMBDA_TASK_ROOT": str(package),
                "AWS_LAMBDA_FUNCTION_NAME": function,
                "AWS_REGION": REGION,
                "POWERTOOLS_SERVICE_NAME": function,
                **bounds,
            },
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{function}: {result.stderr[-2000:]}"


@pytest.fixture
def emulated_s3() -> Any:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    yield endpoint, boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **credentials)
    server.stop()


def test_sam_package_uploads_every_artifact(repo, built_template, emulated_s3, tmp_path, translated):
    endpoint, s3 = emulated_s3
    s3.create_bucket(Bucket="artifacts")
    packaged = tmp_path / "packaged.yaml"
    # The built template sits outside the project, where sam finds no samconfig.toml: pass its prefix.
    prefix = samconfig_s3_prefixes()["package"]
    sam(
        repo,
        "package",
        "--template-file", str(built_template),
        "--s3-bucket", "artifacts",
        "--s3-prefix", prefix,
        "--output-template-file", str(packaged),
        "--region", REGION,
        env={"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "x"},
    )  # fmt: skip
    resources = yaml_parse(packaged.read_text())["Resources"]
    uploaded = {obj["Key"] for obj in s3.list_objects_v2(Bucket="artifacts")["Contents"]}
    assert all(key.startswith(f"{prefix}/") for key in uploaded), uploaded

    def key_of(uri: str) -> str:
        assert uri.startswith("s3://artifacts/"), uri
        return uri.removeprefix("s3://artifacts/")

    locations = {
        "RequestsLayer": key_of(resources["RequestsLayer"]["Properties"]["ContentUri"]),
        "FetchStockDataFunction": key_of(resources["FetchStockDataFunction"]["Properties"]["CodeUri"]),
        "FetchSubscriptionDataFunction": key_of(
            resources["FetchSubscriptionDataFunction"]["Properties"]["CodeUri"]
        ),
        "StockDataGlueJob": key_of(resources["StockDataGlueJob"]["Properties"]["Command"]["ScriptLocation"]),
    }
    definition = resources["DataPipelineStateMachine"]["Properties"]["DefinitionUri"]
    assert definition["Bucket"] == "artifacts"
    locations["DataPipelineStateMachine"] = definition["Key"]
    assert set(locations.values()) <= uploaded, locations

    # The Glue job role's grant, resolved for this bucket, admits the uploaded script's key.
    resolved = resolve_resources(translated, {"DeploymentArtifactsBucketPattern": "artifacts"})
    statements = resolved["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (read_script,) = [statement for statement in statements if statement["Sid"] == "ReadJobScript"]
    script_arn = f"arn:aws:s3:::artifacts/{locations['StockDataGlueJob']}"
    assert fnmatch.fnmatchcase(script_arn, read_script["Resource"])
    script = s3.get_object(Bucket="artifacts", Key=locations["StockDataGlueJob"])["Body"].read()
    assert script == (repo / "glue" / "stock_data_etl.py").read_bytes()
    body = s3.get_object(Bucket="artifacts", Key=locations["DataPipelineStateMachine"])["Body"].read()
    assert body == (repo / "statemachine" / "data_pipeline.asl.json").read_bytes()
