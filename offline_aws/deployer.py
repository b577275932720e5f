"""Deploys a SAM template into the emulation, reading template.yaml itself so nothing is repeated.

Resources are created through boto3 in dependency order, with the names CloudFormation would generate
when the template gives none. Functions run from their CodeUri directories and layers from their
ContentUri directories (the layer's requirements come from the project's virtualenv). A resource type,
property or intrinsic this deployer does not know fails with DeployError naming it, never silently;
properties with no offline meaning (IAM policies, tracing, ...) are listed per type as accepted.
"""

import hashlib
import io
import json
import os
import re
import secrets
import string
import tomllib
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from offline_aws.cfn_template import Resolver, TemplateError, load_template, parameter_values, references
from offline_aws.emulation import Emulation

DEFAULT_STACK_NAME = "offline-stack"
_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_RESOURCE_ATTRIBUTES = {
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
}


class DeployError(RuntimeError):
    pass


@dataclass
class DeployedResource:
    logical_id: str
    resource_type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class DeployedStack:
    stack_name: str
    template_path: Path
    parameters: dict[str, str]
    resources: dict[str, DeployedResource]
    outputs: dict[str, Any]

    def ref(self, logical_id: str) -> Any:
        return self.resources[logical_id].ref

    def attribute(self, logical_id: str, name: str) -> Any:
        return self.resources[logical_id].attributes[name]

    def of_type(self, resource_type: str) -> dict[str, DeployedResource]:
        return {lid: r for lid, r in self.resources.items() if r.resource_type == resource_type}


def _samconfig_parameters(project_dir: Path, command: str) -> dict[str, Any]:
    """The `default` environment's parameters of `command` in samconfig.toml, as the SAM CLI reads them."""
    config = project_dir / "samconfig.toml"
    if not config.is_file():
        return {}
    document = tomllib.loads(config.read_text())
    return dict(document.get("default", {}).get(command, {}).get("parameters", {}))


def stack_name_from_samconfig(project_dir: Path, default: str = DEFAULT_STACK_NAME) -> str:
    return str(_samconfig_parameters(project_dir, "global").get("stack_name", default))


def s3_prefix_from_samconfig(project_dir: Path) -> str | None:
    """`sam deploy`'s s3_prefix: the key prefix of every artifact it uploads."""
    prefix = _samconfig_parameters(project_dir, "deploy").get("s3_prefix")
    return str(prefix) if prefix else None


def deploy(
    emulation: Emulation,
    template_path: Path,
    *,
    stack_name: str | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
    secret_values: Mapping[str, str | None] | None = None,
    s3_prefix: str | None = None,
) -> DeployedStack:
    """Create the template's resources in the emulation. `secret_values` maps a secret's logical ID to the
    value it is created with, or None to create it without a value (as the template's own secret is on
    AWS until a key is stored); other secrets get a random dummy value. Local artifacts are uploaded under
    `s3_prefix`, else samconfig.toml's, else the stack name (what `sam deploy --guided` writes there)."""
    template_path = template_path.resolve()
    template = load_template(template_path)
    name = stack_name or stack_name_from_samconfig(template_path.parent)
    return _Deployment(
        emulation,
        template,
        template_path,
        name,
        parameter_overrides or {},
        secret_values or {},
        s3_prefix or s3_prefix_from_samconfig(template_path.parent) or name,
    ).run()


def _suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))


def generated_name(stack_name: str, logical_id: str, *, max_length: int = 128, lower: bool = False) -> str:
    """`<stack>-<LogicalId>-<SUFFIX>` as CloudFormation names resources the template leaves unnamed."""
    suffix = _suffix()
    budget = max_length - len(suffix) - 2
    stack_part = (
        stack_name[: max(1, budget // 2)] if len(stack_name) + len(logical_id) > budget else stack_name
    )
    logical_part = logical_id[: budget - len(stack_part)]
    name = f"{stack_part}-{logical_part}-{suffix}"
    return name.lower() if lower else name


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


class _Deployment:
    def __init__(
        self,
        emulation: Emulation,
        template: dict[str, Any],
        template_path: Path,
        stack_name: str,
        overrides: Mapping[str, str],
        secret_values: Mapping[str, str | None],
        s3_prefix: str,
    ) -> None:
        self.emulation = emulation
        self.template = template
        self.base_dir = template_path.parent
        self.template_path = template_path
        self.stack_name = stack_name
        self.secret_values = secret_values
        self.deployed: dict[str, DeployedResource] = {}
        try:
            self.parameters = parameter_values(template, overrides)
        except TemplateError as exc:
            raise DeployError(str(exc)) from None
        region, account = emulation.region, emulation.account_id
        self.resolver = Resolver(
            template,
            parameters=self.parameters,
            pseudo_parameters={
                "AWS::Region": region,
                "AWS::AccountId": account,
                "AWS::Partition": "aws",
                "AWS::StackName": stack_name,
                "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/offline",
                "AWS::URLSuffix": "amazonaws.com",
            },
            resource_ref=self._ref,
            resource_attribute=self._attribute,
        )
        self._artifacts_bucket: str | None = None
        self.s3_prefix = s3_prefix  # where local artifacts are uploaded
        self._translated: dict[str, Any] | None = None

    # -------------------------------------------------------- driver

    def run(self) -> DeployedStack:
        resources: dict[str, Any] = self.template["Resources"]
        for logical_id in self._order(resources):
            spec = resources[logical_id]
            unknown = set(spec) - _RESOURCE_ATTRIBUTES
            if unknown:
                raise DeployError(f"{logical_id}: unsupported resource attributes {sorted(unknown)}")
            if "Condition" in spec and not self._condition(spec["Condition"]):
                continue
            resource_type = spec.get("Type")
            handler = _HANDLERS.get(resource_type)
            if handler is None:
                raise DeployError(
                    f"{logical_id}: resource type {resource_type} is not supported by the offline deployer"
                )
            properties = self._with_globals(resource_type, spec.get("Properties", {}))
            accepted = _ACCEPTED_PROPERTIES[resource_type]
            unsupported = set(properties) - accepted
            if unsupported:
                raise DeployError(
                    f"{logical_id} ({resource_type}): unsupported properties {sorted(unsupported)}"
                )
            try:
                resolved = self.resolver.resolve(properties, f"Resources.{logical_id}.Properties")
                ref, attributes = handler(self, logical_id, resolved)
            except TemplateError as exc:
                raise DeployError(str(exc)) from None
            except (BotoCoreError, ClientError, KeyError) as exc:
                raise DeployError(f"{logical_id} ({resource_type}): {exc!r}") from exc
            self.deployed[logical_id] = DeployedResource(logical_id, resource_type, ref, attributes)
        try:
            outputs = {
                name: self.resolver.resolve(output["Value"], f"Outputs.{name}")
                for name, output in self.template.get("Outputs", {}).items()
                if "Condition" not in output or self._condition(output["Condition"])
            }
        except TemplateError as exc:
            raise DeployError(str(exc)) from None
        return DeployedStack(self.stack_name, self.template_path, self.parameters, self.deployed, outputs)

    def _condition(self, name: str) -> bool:
        try:
            return self.resolver.condition(name)
        except TemplateError as exc:
            raise DeployError(str(exc)) from None

    def _order(self, resources: Mapping[str, Any]) -> list[str]:
        dependencies: dict[str, set[str]] = {}
        for logical_id, spec in resources.items():
            properties = self._with_globals(spec.get("Type", ""), spec.get("Properties", {}))
            depends_on = spec.get("DependsOn", [])
            names = references(properties) | set([depends_on] if isinstance(depends_on, str) else depends_on)
            dependencies[logical_id] = {name for name in names if name in resources and name != logical_id}
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(logical_id: str) -> None:
            if logical_id in ordered:
                return
            if logical_id in visiting:
                raise DeployError(f"circular dependency through {logical_id}")
            visiting.add(logical_id)
            for dependency in sorted(dependencies[logical_id], key=list(resources).index):
                visit(dependency)
            visiting.discard(logical_id)
            ordered.append(logical_id)

        for logical_id in resources:
            visit(logical_id)
        return ordered

    def _with_globals(self, resource_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        section = {
            "AWS::Serverless::Function": "Function",
            "AWS::Serverless::StateMachine": "StateMachine",
        }.get(resource_type)
        globals_ = self.template.get("Globals", {}).get(section, {}) if section else {}
        merged = dict(globals_)
        for key, value in properties.items():
            if key in merged and isinstance(value, list) and isinstance(merged[key], list):
                merged[key] = [*merged[key], *value]  # SAM appends lists (Layers)
            elif key in merged and isinstance(value, dict) and isinstance(merged[key], dict):
                merged[key] = _merge_maps(merged[key], value)
            else:
                merged[key] = value
        return merged

    def _ref(self, logical_id: str) -> Any:
        if logical_id not in self.deployed:
            raise TemplateError(f"Ref to {logical_id}, which is not deployed (condition false, or a cycle)")
        return self.deployed[logical_id].ref

    def _attribute(self, logical_id: str, name: str) -> Any:
        if logical_id not in self.deployed:
            raise TemplateError(f"Fn::GetAtt on {logical_id}, which is not deployed")
        attributes = self.deployed[logical_id].attributes
        if name not in attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{name}: attribute not supported offline")
        return attributes[name]

    # -------------------------------------------------------- helpers

    def client(self, service: str) -> Any:
        return self.emulation.client(service)

    def name(self, logical_id: str, *, max_length: int = 128, lower: bool = False) -> str:
        return generated_name(self.stack_name, logical_id, max_length=max_length, lower=lower)

    def local_path(self, relative: str, logical_id: str) -> Path:
        path = (self.base_dir / relative).resolve()
        if not path.exists():
            raise DeployError(f"{logical_id}: {relative} does not exist (relative to {self.base_dir})")
        return path

    def artifacts_bucket(self) -> str:
        """Where local artifacts go, as `sam deploy --resolve-s3` would put them."""
        if self._artifacts_bucket is None:
            suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
            self._artifacts_bucket = f"aws-sam-cli-managed-default-samclisourcebucket-{suffix}"
            self.client("s3").create_bucket(Bucket=self._artifacts_bucket)
        return self._artifacts_bucket

    def role(self, logical_id: str, assume_service: str) -> str:
        """The execution role SAM generates for a function or state machine, with the policies SAM gives it:
        its `Policies` (SAM policy templates expanded) and managed policies, as the SAM translator writes
        them."""
        generated = self.sam_translated()["Resources"].get(f"{logical_id}Role", {}).get("Properties", {})
        document = generated.get("AssumeRolePolicyDocument") or {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": assume_service}, "Action": "sts:AssumeRole"}
            ],
        }
        iam = self.client("iam")
        name = self.name(f"{logical_id}Role", max_length=64)
        where = f"Resources.{logical_id}Role (generated by SAM)"
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))
        for policy in generated.get("Policies", []):
            resolved = self.resolver.resolve(policy, where)
            # SAM's policy templates give no Version (IAM then takes 2008-10-17; moto refuses that): none
            # of their statements uses a policy variable, where the two would differ.
            document = {"Version": "2012-10-17", **resolved["PolicyDocument"]}
            iam.put_role_policy(
                RoleName=name, PolicyName=resolved["PolicyName"], PolicyDocument=_json(document)
            )
        for arn in self.resolver.resolve(generated.get("ManagedPolicyArns", []), where):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return str(role["Role"]["Arn"])

    def sam_translated(self) -> dict[str, Any]:
        if self._translated is None:
            try:
                self._translated = sam_translate(self.template, self.emulation.region, self.parameters)
            except Exception as exc:
                raise DeployError(f"the SAM translator refused the template: {exc}") from None
        return self._translated


def sam_translate(template: Mapping[str, Any], region: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The template as the SAM translator (the one `sam deploy` runs) expands it, with local artifact paths
    replaced by S3 URIs as `sam package` does."""
    import copy

    from samtranslator.translator.transform import transform

    packaged = copy.deepcopy(dict(template))
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://offline-artifacts/{properties[key]}"

    class NoNamedManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the region from here
    try:
        return dict(transform(packaged, dict(parameters), NoNamedManagedPolicies()))
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def _merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_maps(merged[key], value)
        else:
            merged[key] = value
    return merged


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _environment(logical_id: str, properties: Mapping[str, Any]) -> dict[str, str]:
    variables = properties.get("Environment", {}).get("Variables", {})
    for key, value in variables.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise DeployError(f"{logical_id}: environment variable {key} is not a string: {value!r}")
    return {key: str(value) for key, value in variables.items()}


# ---------------------------------------------------------------- resource handlers

Handler = Callable[[_Deployment, str, dict[str, Any]], tuple[Any, dict[str, Any]]]


def _layer_version(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    content_uri = p["ContentUri"]
    if not isinstance(content_uri, str):
        raise DeployError(f"{logical_id}: ContentUri must be a local directory")
    content_dir = d.local_path(content_uri, logical_id)
    kwargs: dict[str, Any] = {
        "LayerName": p.get("LayerName", logical_id),
        "Content": {"ZipFile": zip_directory(content_dir)},
        "CompatibleRuntimes": p.get("CompatibleRuntimes", []),
    }
    if "Description" in p:
        kwargs["Description"] = p["Description"]
    published = d.client("lambda").publish_layer_version(**kwargs)
    arn = published["LayerVersionArn"]
    # The layer's requirements are installed in the project's virtualenv; its own modules are here.
    d.emulation.require_lambda_runner().register_layer_source(arn, content_dir)
    return arn, {}


def _function(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if p.get("Events"):
        raise DeployError(f"{logical_id}: function Events are not supported by the offline deployer")
    code_uri = p.get("CodeUri")
    if not isinstance(code_uri, str):
        raise DeployError(f"{logical_id}: CodeUri must be a local directory")
    code_dir = d.local_path(code_uri, logical_id)
    name = p.get("FunctionName") or d.name(logical_id, max_length=64)
    kwargs: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": p.get("Runtime", "python3.11"),
        "Role": p.get("Role") or d.role(logical_id, "lambda.amazonaws.com"),
        "Handler": p["Handler"],
        "Code": {"ZipFile": zip_directory(code_dir)},
        "Timeout": int(p.get("Timeout", 3)),
        "MemorySize": int(p.get("MemorySize", 128)),
        "Environment": {"Variables": _environment(logical_id, p)},
        "Layers": [str(layer) for layer in p.get("Layers", [])],
        "Architectures": p.get("Architectures", ["x86_64"]),
    }
    if "Description" in p:
        kwargs["Description"] = p["Description"]
    if p.get("Tracing") in ("Active", "PassThrough"):  # SAM's Tracing is the function's TracingConfig mode
        kwargs["TracingConfig"] = {"Mode": p["Tracing"]}
    created = d.client("lambda").create_function(**kwargs)
    d.emulation.require_lambda_runner().register_function_source(name, code_dir)
    return name, {"Arn": created["FunctionArn"]}


def _secret(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    kwargs: dict[str, Any] = {"Name": p.get("Name") or f"{logical_id}-{secrets.token_hex(6)}"}
    if logical_id not in d.secret_values:
        kwargs["SecretString"] = p.get("SecretString") or secrets.token_urlsafe(32)  # a dummy, made up here
    elif d.secret_values[logical_id] is not None:
        kwargs["SecretString"] = d.secret_values[logical_id]
    if "Description" in p:
        kwargs["Description"] = p["Description"]
    if "KmsKeyId" in p:
        kwargs["KmsKeyId"] = p["KmsKeyId"]
    created = d.client("secretsmanager").create_secret(**kwargs)
    return created["ARN"], {"Id": created["ARN"]}


def _bucket(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    s3 = d.client("s3")
    name = p.get("BucketName") or d.name(logical_id, max_length=63, lower=True)
    kwargs: dict[str, Any] = {"Bucket": name}
    if d.emulation.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": d.emulation.region}
    s3.create_bucket(**kwargs)
    if "BucketEncryption" in p:
        rules = [
            {
                (
                    "ApplyServerSideEncryptionByDefault" if key == "ServerSideEncryptionByDefault" else key
                ): value
                for key, value in rule.items()
            }
            for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "VersioningConfiguration" in p:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in p:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in p:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
    if "LifecycleConfiguration" in p:
        rules = [_lifecycle_rule(rule) for rule in p["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if "Tags" in p:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": p["Tags"]})
    region = d.emulation.region
    return name, {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
    }


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape to the S3 API's."""
    converted: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "NoncurrentVersionExpiration" in rule:
        converted["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    unknown = set(rule) - {
        "Id",
        "Status",
        "Prefix",
        "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
        "ExpirationInDays",
    }
    if unknown:
        raise DeployError(f"lifecycle rule {rule.get('Id')}: unsupported fields {sorted(unknown)}")
    return converted


def _bucket_policy(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    d.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=_json(p["PolicyDocument"]))
    return p["Bucket"], {}


def _stream(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    kinesis = d.client("kinesis")
    name = p.get("Name") or d.name(logical_id)
    mode = p.get("StreamModeDetails", {"StreamMode": "PROVISIONED"})
    kwargs: dict[str, Any] = {"StreamName": name, "StreamModeDetails": mode}
    if mode.get("StreamMode") == "PROVISIONED":
        kwargs["ShardCount"] = int(p.get("ShardCount", 1))
    kinesis.create_stream(**kwargs)
    hours = int(p.get("RetentionPeriodHours", 24))
    if hours > 24:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
    encryption = p.get("StreamEncryption")
    if encryption:
        kinesis.start_stream_encryption(
            StreamName=name, EncryptionType=encryption["EncryptionType"], KeyId=encryption["KeyId"]
        )
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    return name, {"Arn": summary["StreamARN"]}


def _topic(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    name = p.get("TopicName") or d.name(logical_id, max_length=256)
    attributes = {
        key: str(p[key])
        for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
        if key in p
    }
    arn = d.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in p.get("Subscription", []):
        d.client("sns").subscribe(
            TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
        )
    return arn, {"TopicArn": arn, "TopicName": name}


def _subscription(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    kwargs: dict[str, Any] = {"TopicArn": p["TopicArn"], "Protocol": p["Protocol"], "Endpoint": p["Endpoint"]}
    if "FilterPolicy" in p:
        kwargs["Attributes"] = {"FilterPolicy": _json(p["FilterPolicy"])}
    created = d.client("sns").subscribe(**kwargs, ReturnSubscriptionArn=True)
    return created["SubscriptionArn"], {}


def _kms_key(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    kms = d.client("kms")
    kwargs: dict[str, Any] = {"Policy": _json(p["KeyPolicy"])} if "KeyPolicy" in p else {}
    for key in ("Description", "KeyUsage", "KeySpec"):
        if key in p:
            kwargs[key] = p[key]
    metadata = kms.create_key(**kwargs)["KeyMetadata"]
    if p.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}


def _glue_job(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    command = dict(p["Command"])
    location = command.get("ScriptLocation", "")
    if not str(location).startswith("s3://"):
        # As `sam package` does: upload the local script and point the job at the object.
        script = d.local_path(str(location), logical_id)
        digest = hashlib.md5(script.read_bytes(), usedforsecurity=False).hexdigest()
        key = f"{d.s3_prefix}/{digest}{script.suffix}"
        d.client("s3").upload_file(str(script), d.artifacts_bucket(), key)
        command["ScriptLocation"] = f"s3://{d.artifacts_bucket()}/{key}"
    name = p.get("Name") or d.name(logical_id, max_length=255)
    kwargs: dict[str, Any] = {
        "Name": name,
        "Role": p["Role"],
        "Command": command,
        "DefaultArguments": {key: str(value) for key, value in p.get("DefaultArguments", {}).items()},
    }
    for key in ("Description", "GlueVersion", "WorkerType", "ExecutionClass", "ExecutionProperty", "Tags"):
        if key in p:
            kwargs[key] = p[key]
    for key in ("MaxRetries", "Timeout", "NumberOfWorkers"):
        if key in p:
            kwargs[key] = int(p[key])
    if "MaxCapacity" in p:
        kwargs["MaxCapacity"] = float(p["MaxCapacity"])
    d.client("glue").create_job(**kwargs)
    return name, {}


def _glue_database(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    database_input = dict(p["DatabaseInput"])
    database_input.setdefault("Name", d.name(logical_id, lower=True).replace("-", "_"))
    d.client("glue").create_database(CatalogId=str(p["CatalogId"]), DatabaseInput=database_input)
    return database_input["Name"], {}


def _glue_table(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    d.client("glue").create_table(
        CatalogId=str(p["CatalogId"]), DatabaseName=p["DatabaseName"], TableInput=p["TableInput"]
    )
    return p["TableInput"]["Name"], {}


def _iam_role(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    iam = d.client("iam")
    name = p.get("RoleName") or d.name(logical_id, max_length=64)
    kwargs: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": _json(p["AssumeRolePolicyDocument"]),
    }
    for key in ("Path", "Description"):
        if key in p:
            kwargs[key] = p[key]
    if "MaxSessionDuration" in p:
        kwargs["MaxSessionDuration"] = int(p["MaxSessionDuration"])
    role = iam.create_role(**kwargs)["Role"]
    for policy in p.get("Policies", []):
        iam.put_role_policy(
            RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=_json(policy["PolicyDocument"])
        )
    for arn in p.get("ManagedPolicyArns", []):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}


def _log_group(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    logs = d.client("logs")
    name = p.get("LogGroupName") or d.name(logical_id, max_length=512)
    kwargs: dict[str, Any] = {"logGroupName": name}
    if "KmsKeyId" in p:
        kwargs["kmsKeyId"] = p["KmsKeyId"]
    logs.create_log_group(**kwargs)
    if "RetentionInDays" in p:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
    region, account = d.emulation.region, d.emulation.account_id
    return name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"}


def _same(value: Any) -> Any:
    return value


def _alarm(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    name = p.get("AlarmName") or d.name(logical_id, max_length=255)
    # Properties were checked against _ACCEPTED_PROPERTIES; the template may give numbers as strings.
    numeric: dict[str, type] = {
        "EvaluationPeriods": int,
        "DatapointsToAlarm": int,
        "Period": int,
        "Threshold": float,
    }
    kwargs = {key: numeric.get(key, _same)(value) for key, value in p.items() if key != "Tags"}
    kwargs["AlarmName"] = name
    for metric in kwargs.get("Metrics", []):
        if "MetricStat" in metric:
            metric["MetricStat"]["Period"] = int(metric["MetricStat"]["Period"])
    d.client("cloudwatch").put_metric_alarm(**kwargs)
    region, account = d.emulation.region, d.emulation.account_id
    return name, {"Arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"}


def _state_machine(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if "DefinitionUri" in p:
        uri = p["DefinitionUri"]
        if not isinstance(uri, str):
            raise DeployError(f"{logical_id}: DefinitionUri must be a local file")
        text = d.local_path(uri, logical_id).read_text()
    elif "Definition" in p:
        text = json.dumps(p["Definition"], indent=2)
    else:
        raise DeployError(f"{logical_id}: needs Definition or DefinitionUri")
    substitutions = p.get("DefinitionSubstitutions", {})
    for key, value in substitutions.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise DeployError(f"{logical_id}: DefinitionSubstitutions.{key} is not a string: {value!r}")
        text = text.replace("${" + key + "}", str(value))
    left = sorted(set(_PLACEHOLDER.findall(text)))
    if left:
        raise DeployError(
            f"{logical_id}: placeholders without a DefinitionSubstitutions value: {', '.join(left)}"
        )
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeployError(f"{logical_id}: the definition is not JSON after substitution: {exc}") from None

    # CloudFormation names state machines `<LogicalId>-<SUFFIX>`, without the stack's name.
    name = p.get("Name") or f"{logical_id[:67]}-{_suffix()}"
    role_arn = p.get("Role") or d.role(logical_id, "states.amazonaws.com")
    kwargs: dict[str, Any] = {
        "name": name,
        "definition": text,
        "roleArn": role_arn,
        "type": p.get("Type", "STANDARD"),
    }
    if "Logging" in p:
        kwargs["loggingConfiguration"] = {
            "level": p["Logging"].get("Level", "OFF"),
            "includeExecutionData": bool(p["Logging"].get("IncludeExecutionData", False)),
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": dest["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                for dest in p["Logging"].get("Destinations", [])
            ],
        }
    if "Tracing" in p:
        kwargs["tracingConfiguration"] = {"enabled": bool(p["Tracing"].get("Enabled", False))}
    if p.get("Events"):
        raise DeployError(f"{logical_id}: state machine Events are not supported offline")
    arn = d.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
    return arn, {"Arn": arn, "Name": name}


def _schedule(d: _Deployment, logical_id: str, p: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    # CloudFormation generates a unique name when the template gives none. Created as deployed; the
    # emulation never fires schedules.
    name = p.get("Name") or d.name(logical_id, max_length=64)
    kwargs: dict[str, Any] = {
        "Name": name,
        "ScheduleExpression": p["ScheduleExpression"],
        "FlexibleTimeWindow": p["FlexibleTimeWindow"],
        "Target": p["Target"],
    }
    for key in ("Description", "State", "GroupName", "ScheduleExpressionTimezone"):
        if key in p:
            kwargs[key] = p[key]
    arn = d.client("scheduler").create_schedule(**kwargs)["ScheduleArn"]
    return name, {"Arn": arn}


_HANDLERS: dict[str, Handler] = {
    "AWS::Serverless::LayerVersion": _layer_version,
    "AWS::Serverless::Function": _function,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::Kinesis::Stream": _stream,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::KMS::Key": _kms_key,
    "AWS::Glue::Job": _glue_job,
    "AWS::Glue::Database": _glue_database,
    "AWS::Glue::Table": _glue_table,
    "AWS::IAM::Role": _iam_role,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::Serverless::StateMachine": _state_machine,
    "AWS::Scheduler::Schedule": _schedule,
}

# Per type: every property the deployer reads, plus those accepted with no offline effect (a function's
# and state machine's Policies reach their roles through the SAM translator; X-Ray and retention of
# deleted layers do not exist here).
_ACCEPTED_PROPERTIES: dict[str, set[str]] = {
    "AWS::Serverless::LayerVersion": {
        "ContentUri",
        "LayerName",
        "Description",
        "CompatibleRuntimes",
        "CompatibleArchitectures",
        "LicenseInfo",
        "RetentionPolicy",
    },
    "AWS::Serverless::Function": {
        "CodeUri",
        "Handler",
        "Runtime",
        "FunctionName",
        "Description",
        "Timeout",
        "MemorySize",
        "Environment",
        "Layers",
        "Architectures",
        "Role",
        "Events",
        "Policies",
        "Tracing",
        "Tags",
    },
    "AWS::SecretsManager::Secret": {
        "Name",
        "Description",
        "SecretString",
        "GenerateSecretString",
        "KmsKeyId",
        "Tags",
    },
    "AWS::S3::Bucket": {
        "BucketName",
        "BucketEncryption",
        "VersioningConfiguration",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "LifecycleConfiguration",
        "Tags",
    },
    "AWS::S3::BucketPolicy": {"Bucket", "PolicyDocument"},
    "AWS::Kinesis::Stream": {
        "Name",
        "ShardCount",
        "StreamModeDetails",
        "RetentionPeriodHours",
        "StreamEncryption",
        "Tags",
    },
    "AWS::SNS::Topic": {
        "TopicName",
        "DisplayName",
        "KmsMasterKeyId",
        "FifoTopic",
        "ContentBasedDeduplication",
        "Subscription",
        "Tags",
    },
    "AWS::SNS::Subscription": {"TopicArn", "Protocol", "Endpoint", "FilterPolicy", "Region"},
    "AWS::KMS::Key": {
        "Description",
        "KeyPolicy",
        "KeyUsage",
        "KeySpec",
        "EnableKeyRotation",
        "Enabled",
        "Tags",
    },
    "AWS::Glue::Job": {
        "Name",
        "Role",
        "Command",
        "DefaultArguments",
        "Description",
        "GlueVersion",
        "WorkerType",
        "NumberOfWorkers",
        "ExecutionClass",
        "ExecutionProperty",
        "MaxRetries",
        "Timeout",
        "MaxCapacity",
        "Tags",
    },
    "AWS::Glue::Database": {"CatalogId", "DatabaseInput"},
    "AWS::Glue::Table": {"CatalogId", "DatabaseName", "TableInput"},
    "AWS::IAM::Role": {
        "RoleName",
        "AssumeRolePolicyDocument",
        "Policies",
        "ManagedPolicyArns",
        "Path",
        "Description",
        "MaxSessionDuration",
        "Tags",
    },
    "AWS::Logs::LogGroup": {"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags"},
    "AWS::CloudWatch::Alarm": {
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "AlarmActions",
        "OKActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "Dimensions",
        "Unit",
        "Period",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "Metrics",
    },
    "AWS::Serverless::StateMachine": {
        "Name",
        "Type",
        "Definition",
        "DefinitionUri",
        "DefinitionSubstitutions",
        "Role",
        "Policies",
        "Logging",
        "Tracing",
        "Events",
        "Tags",
    },
    "AWS::Scheduler::Schedule": {
        "Name",
        "Description",
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "State",
        "FlexibleTimeWindow",
        "GroupName",
        "Target",
    },
}
