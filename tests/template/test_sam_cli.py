"""The SAM CLI accepts the template: validate with lint, build, and package against an emulated S3.

`sam build` installs the functions' and layer's pinned requirements from the local wheelhouse that
`make test` downloads, so the test itself never reaches the internet.
"""

import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from samcli.yamlhelper import yaml_parse

pytestmark = pytest.mark.sam

REGION = "us-east-1"


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


def test_sam_build_bundles_layer_and_functions(built_template):
    build = built_template.parent
    layer = build / "RequestsLayer" / "python"
    assert (layer / "requests" / "__init__.py").is_file()
    assert (layer / "rapidapi" / "__init__.py").is_file(), "the shared RapidAPI client is not in the layer"
    for function in ("FetchStockDataFunction", "FetchSubscriptionDataFunction"):
        assert (build / function / "app.py").is_file()
        assert (build / function / "aws_lambda_powertools").is_dir()
        assert not (build / function / "requests").exists(), "requests belongs in the layer only"


@pytest.fixture
def emulated_s3() -> Any:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    yield endpoint, boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **credentials)
    server.stop()


def test_sam_package_uploads_every_artifact(repo, built_template, emulated_s3, tmp_path):
    endpoint, s3 = emulated_s3
    s3.create_bucket(Bucket="artifacts")
    packaged = tmp_path / "packaged.yaml"
    sam(
        repo,
        "package",
        "--template-file", str(built_template),
        "--s3-bucket", "artifacts",
        "--output-template-file", str(packaged),
        "--region", REGION,
        env={"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "x"},
    )  # fmt: skip
    resources = yaml_parse(packaged.read_text())["Resources"]
    uploaded = {obj["Key"] for obj in s3.list_objects_v2(Bucket="artifacts")["Contents"]}

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

    script = s3.get_object(Bucket="artifacts", Key=locations["StockDataGlueJob"])["Body"].read()
    assert script == (repo / "glue" / "stock_data_etl.py").read_bytes()
    body = s3.get_object(Bucket="artifacts", Key=locations["DataPipelineStateMachine"])["Body"].read()
    assert body == (repo / "statemachine" / "data_pipeline.asl.json").read_bytes()
