"""IAM as AWS will see it: the template expanded by the SAM translator, parameters and conditions evaluated.

Least privilege by default: no grant reaches a resource the stack does not own beyond the one name per kind
that InputBucketName, InputStreamName and InputTopicName allow; bucket actions on bucket ARNs, object
actions on the raw prefix (and, in the stack's own bucket, on the folders it keeps for itself); source
conditions on grants to AWS services.
"""

import fnmatch
from typing import Any

import pytest
from conftest import ACCOUNT, REGION, resolve_resources, samconfig_s3_prefixes

ORIGINAL_NAMES = ("stockdatabucket2810202312", "subscriptionStream", "serviceSubscriptionptrTopic")
STACK_BUCKET, STACK_STREAM, STACK_TOPIC = "<DataBucket>", "<SubscriptionStream>", "<NotificationTopic>"
# Actions whose IAM authorization has no resource type narrower than "*" (Service Authorization Reference).
WILDCARD_ONLY = {"s3:ListAllMyBuckets", "kinesis:ListStreams", "sns:ListTopics"}
WILDCARD_PREFIXES = ("logs:", "cloudwatch:PutMetricData")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    properties = resources[role]["Properties"]
    statements = []
    for policy in properties.get("Policies", []):
        statements += as_list(policy["PolicyDocument"]["Statement"])
    return statements


def grants(resources: dict[str, Any], role: str) -> dict[str, set[str]]:
    """action -> resources, over the role's Allow statements."""
    granted: dict[str, set[str]] = {}
    for statement in role_statements(resources, role):
        if statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                granted.setdefault(action, set()).update(as_list(statement["Resource"]))
    return granted


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


def expected_data_access(bucket: str, stream: str, topic: str) -> dict[str, set[str]]:
    # Creating (and subscribing to a topic just created) only for the input's one name: the stack's own
    # bucket, stream and topic always exist, so the definition's lookups find them and never create them.
    raw = {f"{bucket_arn(STACK_BUCKET)}/raw/*", *([f"{bucket_arn(bucket)}/raw/*"] if bucket else [])}
    return {
        "s3:CreateBucket": {bucket_arn(bucket)} if bucket else set(),
        # Raw objects in either bucket; a failed Glue run's copies only in the stack's own.
        "s3:PutObject": {*raw, f"{bucket_arn(STACK_BUCKET)}/pending/*"},
        "s3:GetObject": {*raw, f"{bucket_arn(STACK_BUCKET)}/run-summaries/*"},
        "kinesis:CreateStream": {stream_arn(stream)} if stream else set(),
        "kinesis:PutRecord": {stream_arn(STACK_STREAM), *([stream_arn(stream)] if stream else [])},
        "sns:CreateTopic": {topic_arn(topic)} if topic else set(),
        "sns:Subscribe": {topic_arn(topic)} if topic else set(),
        "sns:Publish": {topic_arn(STACK_TOPIC), *([topic_arn(topic)] if topic else [])},
    }


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        pytest.param({}, ORIGINAL_NAMES, id="defaults-hold-the-original-inputs-names"),
        pytest.param(
            {"InputBucketName": "", "InputStreamName": "", "InputTopicName": ""}, ("", "", ""), id="none"
        ),
        pytest.param(
            {"InputBucketName": "mine", "InputStreamName": "s", "InputTopicName": "t"},
            ("mine", "s", "t"),
            id="own",
        ),
        pytest.param(
            {"InputBucketName": "*", "InputStreamName": "*", "InputTopicName": "*"},
            ("*", "*", "*"),
            id="widened",
        ),
    ],
)
def test_state_machine_reaches_only_the_stacks_resources_and_the_named_ones(translated, overrides, names):
    resources = resolve_resources(translated, overrides)
    granted = grants(resources, "DataPipelineStateMachineRole")
    for action, expected in expected_data_access(*names).items():
        assert granted.get(action, set()) == expected, action


def test_object_actions_reach_the_raw_prefix_and_bucket_actions_bucket_arns(translated):
    granted = grants(resolve_resources(translated), "DataPipelineStateMachineRole")
    own = f"arn:aws:s3:::{STACK_BUCKET}/"
    assert all(arn.endswith("/raw/*") or arn == f"{own}pending/*" for arn in granted["s3:PutObject"])
    assert all(arn.endswith("/raw/*") or arn == f"{own}run-summaries/*" for arn in granted["s3:GetObject"])
    assert all("/" not in arn.removeprefix("arn:aws:s3:::") for arn in granted["s3:CreateBucket"])
    # IAM's * matches '/': no object grant may sit on a bucket-name pattern.
    for action in ("s3:PutObject", "s3:GetObject"):
        assert not any(fnmatch.fnmatchcase(f"{own}curated/x", arn) for arn in granted[action]), action


def test_wildcard_resources_only_where_iam_has_nothing_narrower(translated):
    resources = resolve_resources(translated)
    roles = [lid for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    assert {"DataPipelineStateMachineRole", "GlueJobRole", "ScheduledRunRole"} <= set(roles)
    for role in roles:
        for action, arns in grants(resources, role).items():
            if "*" in arns:
                assert action in WILDCARD_ONLY or action.startswith(WILDCARD_PREFIXES), (role, action)


def test_the_schedule_role_starts_only_this_state_machine(translated):
    resources = resolve_resources(translated)
    assert grants(resources, "ScheduledRunRole") == {
        "states:StartExecution": {
            f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:<DataPipelineStateMachine>"
        }
    }


def test_glue_reads_raw_data_only_from_the_stacks_bucket_and_the_named_one(translated):
    for overrides, extra in (({}, ["stockdatabucket2810202312"]), ({"InputBucketName": ""}, [])):
        granted = grants(resolve_resources(translated, overrides), "GlueJobRole")
        raw_reads = {arn for arn in granted["s3:GetObject"] if arn.endswith("/raw/*")}
        assert raw_reads == {f"{bucket_arn(b)}/raw/*" for b in [STACK_BUCKET, *extra]}
        # It lists the execution's raw folder, in either bucket; everything else it lists is the stack's.
        assert granted["s3:ListBucket"] == {bucket_arn(b) for b in [STACK_BUCKET, *extra]}
        # What it writes and deletes (pending copies included) is in the stack's bucket only.
        for action in ("s3:PutObject", "s3:DeleteObject"):
            assert all(arn.startswith(f"{bucket_arn(STACK_BUCKET)}/") for arn in granted[action]), action


def service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    return as_list(principal.get("Service", [])) if isinstance(principal, dict) else []


def test_resource_policy_grants_to_aws_services_carry_source_conditions(translated):
    resources = resolve_resources(translated)
    checked = 0
    for logical_id, resource in resources.items():
        properties = resource["Properties"]
        document = properties.get("KeyPolicy") or properties.get("PolicyDocument")
        if resource["Type"] == "AWS::IAM::Role" or not isinstance(document, dict):
            continue
        for statement in as_list(document.get("Statement", [])):
            if statement["Effect"] == "Allow" and service_principals(statement):
                conditions = statement.get("Condition", {})
                assert conditions["StringEquals"]["aws:SourceAccount"] == ACCOUNT, logical_id
                assert conditions["ArnLike"]["aws:SourceArn"].startswith(
                    f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:"
                )
                checked += 1
    assert checked >= 1


def test_the_schedule_roles_trust_names_this_account_and_its_schedule_group(translated):
    trust = resolve_resources(translated)["ScheduledRunRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert service_principals(statement) == ["scheduler.amazonaws.com"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/default"},
    }


def test_the_schedule_has_no_fixed_name_so_a_second_stack_can_deploy(translated):
    schedules = {
        lid: r for lid, r in translated["Resources"].items() if r["Type"] == "AWS::Scheduler::Schedule"
    }
    assert list(schedules) == ["ScheduledRunSchedule"]
    assert "Name" not in schedules["ScheduledRunSchedule"]["Properties"]


def test_the_notification_key_outlives_the_stack_for_the_topics_executions_create(translated):
    key = translated["Resources"]["NotificationKey"]
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_functions_read_only_their_secret_and_the_validator_nothing(translated):
    resources = resolve_resources(translated)
    for function in ("FetchStockDataFunction", "FetchSubscriptionDataFunction"):
        granted = grants(resources, f"{function}Role")
        assert set(granted) == {"secretsmanager:GetSecretValue"}
        assert granted["secretsmanager:GetSecretValue"] == {"<RapidApiKeySecret>"}
    assert grants(resources, "ValidateExecutionInputFunctionRole") == {}


def test_glue_reads_its_script_only_under_this_stacks_artifacts_prefix(template, translated):
    # One owner: samconfig.toml's s3_prefix; the template's default follows it, for deploy and package alike.
    prefixes = samconfig_s3_prefixes()
    assert set(prefixes.values()) == {template["Parameters"]["DeploymentArtifactsPrefix"]["Default"]}
    statements = role_statements(resolve_resources(translated), "GlueJobRole")
    (script,) = [s for s in statements if s.get("Sid") == "ReadJobScript"]
    bucket = template["Parameters"]["DeploymentArtifactsBucketPattern"]["Default"]
    assert script["Resource"] == f"arn:aws:s3:::{bucket}/{prefixes['deploy']}/*"
    # Not another stack's artifacts in the same managed bucket.
    other_stack = f"arn:aws:s3:::{bucket.replace('*', 'x')}/other-stack/x"
    assert not fnmatch.fnmatchcase(other_stack, script["Resource"])
