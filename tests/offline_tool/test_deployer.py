"""The deployer: a small template read and created in the emulation (tests/workflows/test_deploy_template.py
deploys template.yaml)."""

import json
import re
import textwrap
from pathlib import Path

import pytest
from emulation_helpers import unique

from offline_aws.cfn_template import load_template
from offline_aws.deployer import DeployError, deploy, generated_name

REPO = Path(__file__).resolve().parents[2]

SMALL_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
  Email: {Type: String, Default: ""}
Conditions:
  HasEmail: !Not [!Equals [!Ref Email, ""]]
Globals:
  Function:
    Runtime: python3.11
    Timeout: 10
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        SECRET_ARN: !Ref ApiKey
        GREETING: !Ref Greeting
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/, CompatibleRuntimes: [python3.11]}
  ApiKey:
    Type: AWS::SecretsManager::Secret
  GreetFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: greet/
      Handler: app.handler
      Environment: {Variables: {ROLE: greeter}}
  Data:
    Type: AWS::S3::Bucket
  Topic:
    Type: AWS::SNS::Topic
  EmailSubscription:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties: {TopicArn: !Ref Topic, Protocol: email, Endpoint: !Ref Email}
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: glue.amazonaws.com}, Action: sts:AssumeRole}]
  Job:
    Type: AWS::Glue::Job
    Properties:
      Role: !GetAtt JobRole.Arn
      Command: {Name: glueetl, ScriptLocation: job.py}
      DefaultArguments: {--output: !Sub "s3://${Data}/out/"}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: machine.asl.json
      DefinitionSubstitutions:
        FunctionArn: !GetAtt GreetFunction.Arn
        TopicName: !GetAtt Topic.TopicName
        Where: !Sub "${AWS::Region}/${AWS::AccountId}/${AWS::Partition}/${AWS::StackName}"
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref GreetFunction}
Outputs:
  MachineArn: {Value: !Ref Machine}
  BucketArn: {Value: !GetAtt Data.Arn}
"""

MACHINE = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "${FunctionArn}",
                "Payload": {"where": "${Where}", "topic": "${TopicName}"},
            },
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}

HANDLER = """
    import os

    import shared


    def handler(event, context):
        environ = os.environ
        return {"event": event, "word": shared.WORD, "greeting": environ["GREETING"], "role": environ["ROLE"],
                "secret": environ["SECRET_ARN"]}
"""


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(textwrap.dedent(SMALL_TEMPLATE))
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "shared.py").write_text("WORD = 'from the layer'\n")
    (tmp_path / "greet").mkdir()
    (tmp_path / "greet" / "app.py").write_text(textwrap.dedent(HANDLER))
    (tmp_path / "job.py").write_text("print('the job')\n")
    (tmp_path / "machine.asl.json").write_text(json.dumps(MACHINE, indent=2))
    return tmp_path


def test_a_small_template_deploys_and_its_state_machine_runs_the_function(emulation, small_project) -> None:
    stack_name = unique("small")
    stack = deploy(
        emulation, small_project / "template.yaml", stack_name=stack_name, secret_values={"ApiKey": "k-1"}
    )

    assert "EmailSubscription" not in stack.resources  # condition false
    function_name = stack.ref("GreetFunction")
    assert re.fullmatch(rf"{stack_name}-GreetFunction-[A-Z0-9]{{12}}", function_name)
    assert re.fullmatch(rf"{stack_name}-data-[a-z0-9]{{12}}", stack.ref("Data"))
    assert stack.outputs["BucketArn"] == f"arn:aws:s3:::{stack.ref('Data')}"
    secret = emulation.client("secretsmanager").get_secret_value(SecretId=stack.ref("ApiKey"))
    assert secret["SecretString"] == "k-1"

    result = emulation.run_execution(stack.outputs["MachineArn"], {"name": "x"})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {
        "event": {
            "where": f"us-east-1/123456789012/aws/{stack_name}",
            "topic": stack.attribute("Topic", "TopicName"),
        },
        "word": "from the layer",
        "greeting": "hello",
        "role": "greeter",
        "secret": stack.ref("ApiKey"),
    }


def test_a_local_glue_script_is_uploaded_and_the_job_points_at_it(emulation, small_project) -> None:
    stack = deploy(emulation, small_project / "template.yaml", stack_name=unique("small"))
    job = emulation.client("glue").get_job(JobName=stack.ref("Job"))["Job"]
    location = job["Command"]["ScriptLocation"]
    bucket, key = location.removeprefix("s3://").split("/", 1)
    assert bucket.startswith("aws-sam-cli-managed-default-samclisourcebucket-")
    assert emulation.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == b"print('the job')\n"
    assert job["DefaultArguments"] == {"--output": f"s3://{stack.ref('Data')}/out/"}
    # No samconfig.toml: under the stack name, as `sam deploy --guided` sets s3_prefix.
    assert key.startswith(f"{stack.stack_name}/")


def test_local_artifacts_go_under_samconfigs_s3_prefix_as_sam_deploy_puts_them(
    emulation, small_project
) -> None:
    (small_project / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\ns3_prefix = "shared-prefix"\n'
    )
    stack = deploy(emulation, small_project / "template.yaml", stack_name=unique("small"))
    job = emulation.client("glue").get_job(JobName=stack.ref("Job"))["Job"]
    key = job["Command"]["ScriptLocation"].removeprefix("s3://").split("/", 1)[1]
    assert key.startswith("shared-prefix/") and key.endswith(".py")


def test_parameter_overrides_and_conditions(emulation, small_project) -> None:
    stack = deploy(
        emulation,
        small_project / "template.yaml",
        stack_name=unique("small"),
        parameter_overrides={"Email": "ops@example.com"},
    )
    subscriptions = emulation.client("sns").list_subscriptions_by_topic(TopicArn=stack.ref("Topic"))[
        "Subscriptions"
    ]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]


def edited(small_project: Path, edit) -> Path:
    template = load_template(small_project / "template.yaml")
    edit(template)
    # JSON is YAML: the long forms of the intrinsics read back the same.
    (small_project / "template.yaml").write_text(json.dumps(template))
    return small_project / "template.yaml"


def test_a_placeholder_without_a_substitution_fails(emulation, small_project) -> None:
    def drop_topic(template):
        del template["Resources"]["Machine"]["Properties"]["DefinitionSubstitutions"]["TopicName"]

    with pytest.raises(
        DeployError, match=r"Machine: placeholders without a DefinitionSubstitutions value: \$\{TopicName\}"
    ):
        deploy(emulation, edited(small_project, drop_topic), stack_name=unique("small"))


def test_an_unsupported_resource_type_fails_naming_it(emulation, small_project) -> None:
    def add_queue(template):
        template["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue"}

    with pytest.raises(DeployError, match="Queue: resource type AWS::SQS::Queue is not supported"):
        deploy(emulation, edited(small_project, add_queue), stack_name=unique("small"))


def test_an_unsupported_property_fails_naming_it(emulation, small_project) -> None:
    def add_notification(template):
        template["Resources"]["Data"]["Properties"] = {"NotificationConfiguration": {}}

    with pytest.raises(
        DeployError, match=r"Data \(AWS::S3::Bucket\): unsupported properties \['NotificationConfiguration'\]"
    ):
        deploy(emulation, edited(small_project, add_notification), stack_name=unique("small"))


def test_an_unsupported_intrinsic_fails_naming_it(emulation, small_project) -> None:
    def add_azs(template):
        template["Resources"]["Topic"]["Properties"] = {"DisplayName": {"Fn::GetAZs": ""}}

    with pytest.raises(
        DeployError, match=r"Resources\.Topic\.Properties\.DisplayName: intrinsic function Fn::GetAZs"
    ):
        deploy(emulation, edited(small_project, add_azs), stack_name=unique("small"))


def test_generated_names_are_cut_to_the_limit() -> None:
    name = generated_name(
        "a-very-long-stack-name-for-testing", "AVeryLongLogicalIdForAFunctionResource", max_length=64
    )
    assert len(name) <= 64
    assert re.fullmatch(r"a-very-long-stack[\w-]*-AVeryLong\w*-[A-Z0-9]{12}", name)
