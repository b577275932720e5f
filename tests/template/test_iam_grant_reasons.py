"""Every grant traced to the call that needs it, and every traced call to its grant.

Each role's policies as the SAM translator expands them (policy templates, conditions at their defaults) are
read as (role, action, resource) grants plus attached managed policies. GRANTS says for each why it is
there: a state of the definition whose integration calls the action (checked against the definition), a
call in the project's code (checked to be in the file), or what AWS documents the service needs (cited).
A grant with no entry, or an entry with no grant, fails: a new grant needs a reason, a removed call its
grant removed. KNOWN_EXCESS lists the grants with no call on AWS, kept until their statement is split.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import (
    ACCOUNT,
    REGION,
    REPO,
    all_states,
    iam_actions_of,
    resolve_resources,
    samconfig_s3_prefixes,
)


@dataclass(frozen=True)
class Task:
    """States of the definition (of a Map iteration too) whose Resource makes the call."""

    states: tuple[str, ...]


@dataclass(frozen=True)
class Code:
    """A call in the project's code: the file and the text (or each of the texts) that makes it."""

    path: str
    text: str | tuple[str, ...]
    why: str

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.text,) if isinstance(self.text, str) else self.text


@dataclass(frozen=True)
class Documented:
    """What AWS documents the service itself needs from the role."""

    url: str
    why: str


@dataclass(frozen=True)
class KnownExcess:
    """No call needs it on AWS; kept for the reason given (see the module docstring)."""

    why: str


Reason = Task | Code | Documented | KnownExcess
Grant = tuple[str, str, str]  # role, action, resource

STATE_MACHINE = "DataPipelineStateMachineRole"
GLUE = "GlueJobRole"
SCHEDULE = "ScheduledRunRole"
FETCHERS = ("FetchStockDataFunctionRole", "FetchSubscriptionDataFunctionRole")
FUNCTIONS = (*FETCHERS, "ValidateExecutionInputFunctionRole")

S3 = "arn:aws:s3:::"
DATA = f"{S3}<DataBucket>"
INPUT_BUCKET = f"{S3}stockdatabucket2810202312"
STREAMS = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/"
TOPICS = f"arn:aws:sns:{REGION}:{ACCOUNT}:"
OWN_STREAM, INPUT_STREAM = f"{STREAMS}<SubscriptionStream>", f"{STREAMS}subscriptionStream"
OWN_TOPIC, INPUT_TOPIC = f"{TOPICS}<NotificationTopic>", f"{TOPICS}serviceSubscriptionptrTopic"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
ARTIFACTS = f"{S3}aws-sam-cli-managed-default-samclisourcebucket-*/{samconfig_s3_prefixes()['deploy']}/*"
GLUE_SCRIPT = "glue/stock_data_etl.py"

SFN_LOGGING = "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html"
GLUE_LOGGING = "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html"
SNS_SSE = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"


def grant(role: str, actions: list[str], resources: list[str], reason: Reason) -> dict[Grant, Reason]:
    return {(role, action, resource): reason for action in actions for resource in resources}


GRANTS: dict[Grant, Reason] = {
    # ------------------------------------------------ the state machine's role
    **grant(
        STATE_MACHINE,
        ["lambda:InvokeFunction"],
        [f"{FUNCTION}<ValidateExecutionInputFunction>*"],
        Task(("ValidateExecutionInput",)),
    ),
    **grant(
        STATE_MACHINE,
        ["lambda:InvokeFunction"],
        [f"{FUNCTION}<FetchStockDataFunction>*"],
        Task(("FetchStockData",)),
    ),
    **grant(
        STATE_MACHINE,
        ["lambda:InvokeFunction"],
        [f"{FUNCTION}<FetchSubscriptionDataFunction>*"],
        Task(("FetchSubscriptionData",)),
    ),
    **grant(STATE_MACHINE, ["s3:ListAllMyBuckets"], ["*"], Task(("ListBuckets",))),
    **grant(STATE_MACHINE, ["kinesis:ListStreams"], ["*"], Task(("ListStreams", "ListMoreStreams"))),
    **grant(STATE_MACHINE, ["sns:ListTopics"], ["*"], Task(("ListTopics", "ListMoreTopics"))),
    # Created only when the lookup misses it: never the stack's bucket, stream or topic, which exist.
    **grant(
        STATE_MACHINE, ["s3:CreateBucket"], [INPUT_BUCKET], Task(("CreateBucketInUsEast1", "CreateBucket"))
    ),
    **grant(
        STATE_MACHINE,
        ["s3:PutObject"],
        [f"{DATA}/raw/*", f"{INPUT_BUCKET}/raw/*"],
        Task(("PutRawStockData",)),
    ),
    **grant(STATE_MACHINE, ["s3:GetObject"], [f"{DATA}/run-summaries/*"], Task(("ReadGlueRunSummary",))),
    # A failed Glue run: KeepUncuratedRawObjects copies each fetched symbol's raw object, from whichever
    # bucket the watchlist wrote it to, under the stack's pending/ folder, which the next run curates.
    **grant(
        STATE_MACHINE,
        ["s3:GetObject"],
        [f"{DATA}/raw/*", f"{INPUT_BUCKET}/raw/*"],
        Task(("GetUncuratedRawObject",)),
    ),
    **grant(STATE_MACHINE, ["s3:PutObject"], [f"{DATA}/pending/*"], Task(("PutPendingRawObject",))),
    **grant(
        STATE_MACHINE,
        ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
        [f"arn:aws:glue:{REGION}:{ACCOUNT}:job/<StockDataGlueJob>"],
        Task(("RunStockDataGlueJob",)),
    ),
    **grant(STATE_MACHINE, ["kinesis:CreateStream"], [INPUT_STREAM], Task(("CreateStream",))),
    **grant(
        STATE_MACHINE,
        ["kinesis:DescribeStreamSummary"],
        [OWN_STREAM, INPUT_STREAM],
        Task(("DescribeStream",)),
    ),
    **grant(
        STATE_MACHINE, ["kinesis:PutRecord"], [OWN_STREAM, INPUT_STREAM], Task(("PutSubscriptionRecord",))
    ),
    **grant(STATE_MACHINE, ["sns:CreateTopic"], [INPUT_TOPIC], Task(("CreateTopic",))),
    # Subscribe follows CreateTopic only: the address goes to a topic the execution created.
    **grant(STATE_MACHINE, ["sns:Subscribe"], [INPUT_TOPIC], Task(("SubscribeEmailToTopic",))),
    # The stack's topic hears of failures, and of symbols that failed within the tolerance; the record
    # notification goes to the input's topic, the stack's when the input names none.
    **grant(
        STATE_MACHINE,
        ["sns:Publish"],
        [OWN_TOPIC],
        Task(("PublishRecordNotification", "NotifyStockFetchFailures", "NotifyFailure")),
    ),
    **grant(STATE_MACHINE, ["sns:Publish"], [INPUT_TOPIC], Task(("PublishRecordNotification",))),
    **grant(
        STATE_MACHINE,
        ["kms:GenerateDataKey", "kms:Decrypt"],
        [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/<NotificationKey>"],
        Documented(
            SNS_SSE,
            "a publisher to a topic encrypted with a customer managed key needs both "
            "(PublishRecordNotification, NotifyStockFetchFailures, NotifyFailure; CreateTopic gives "
            "created topics that key)",
        ),
    ),
    **grant(
        STATE_MACHINE,
        [
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ],
        ["*"],
        Documented(
            SFN_LOGGING,
            "the permissions Step Functions lists for logging to CloudWatch Logs "
            "(Logging: Level ERROR to StateMachineLogGroup); they admit no narrower resource",
        ),
    ),
    # ------------------------------------------------ the Glue job's role
    **grant(
        GLUE,
        ["s3:GetObject"],
        [ARTIFACTS],
        Documented(
            "https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html",
            "Glue reads Command.ScriptLocation as the job role; sam deploy uploads it under "
            "samconfig.toml's s3_prefix (tests/template/test_sam_cli.py shows the key)",
        ),
    ),
    **grant(
        GLUE,
        ["s3:GetObject"],
        [f"{DATA}/raw/*", f"{INPUT_BUCKET}/raw/*"],
        Code(
            GLUE_SCRIPT,
            "read_raw_documents(spark, raw_paths)",
            "read_raw_documents: spark.read.json of the raw objects in the execution's folder (--raw_path)",
        ),
    ),
    **grant(
        GLUE,
        ["s3:ListBucket"],
        [DATA],
        Code(
            GLUE_SCRIPT,
            (
                "--curated_path",
                'list_json_files(spark, f"{arguments.raw_path',
                'spark, f"{arguments.pending_path',
                "oldest=PENDING_OBJECTS_PER_RUN",
            ),
            "Spark lists the curated partitions it reads and overwrites, and the quarantine folder it "
            "replaces; list_json_files globs the execution's raw folder (the input may name the stack's "
            "bucket) and the pending folder",
        ),
    ),
    **grant(
        GLUE,
        ["s3:ListBucket"],
        [INPUT_BUCKET],
        Code(
            GLUE_SCRIPT,
            'list_json_files(spark, f"{arguments.raw_path',
            "list_json_files globs the execution's raw folder (--raw_path), in the bucket the input names",
        ),
    ),
    **grant(
        GLUE,
        ["s3:GetObject"],
        [f"{DATA}/pending/*"],
        Code(
            GLUE_SCRIPT,
            "raw_paths = own + pending",
            "the run reads the raw objects a failed run left under --pending_path with its own",
        ),
    ),
    **grant(
        GLUE,
        ["s3:DeleteObject"],
        [f"{DATA}/pending/*"],
        Code(
            GLUE_SCRIPT,
            "delete_files(spark, pending)",
            "the pending objects curated are deleted after the merge",
        ),
    ),
    **grant(
        GLUE,
        ["s3:PutObject"],
        [f"{DATA}/pending/*"],
        Code(
            GLUE_SCRIPT,
            "delete_files(spark, pending)",
            "delete_files removes an execution=<name>/ folder's last object through Hadoop's FileSystem, "
            "whose S3 connectors then write the emptied folder's marker, a key under pending/ "
            "(hadoop-aws directory_markers.md: 'When a file is deleted, ... if not a marker is created')",
        ),
    ),
    **grant(
        GLUE,
        ["s3:GetObject"],
        [f"{DATA}/curated/*"],
        Code(GLUE_SCRIPT, "--curated_path", "merge_into_curated reads the stored partitions it touches"),
    ),
    **grant(
        GLUE,
        ["s3:PutObject", "s3:DeleteObject"],
        [f"{DATA}/curated/*"],
        Code(
            GLUE_SCRIPT,
            "--curated_path",
            "merge_into_curated moves each partition's new file in (a rename: copy, then delete) and its"
            " old ones out",
        ),
    ),
    **grant(
        GLUE,
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        [f"{DATA}/staging/*"],
        Code(
            GLUE_SCRIPT,
            "--staging_path",
            "Spark writes the rewritten partitions under the staging path, the move reads them as its copy"
            " source, and the run clears staging before and after",
        ),
    ),
    **grant(
        GLUE,
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        [f"{DATA}/quarantine/*"],
        Code(
            GLUE_SCRIPT,
            "--quarantine_path",
            "quarantine: write.mode('overwrite') checks (HEAD, authorized "
            "as GetObject), removes and writes the fetch's rejects",
        ),
    ),
    **grant(
        GLUE,
        ["s3:PutObject"],
        [f"{DATA}/run-summaries/*"],
        Code(GLUE_SCRIPT, "--run_summary_path", "write_summary: boto3 put_object of the run summary"),
    ),
    **grant(
        GLUE,
        ["s3:GetObject"],
        [f"{DATA}/run-summaries/*"],
        KnownExcess(
            "WriteCuratedData grants its prefixes alike; only the offline Glue runner reads "
            "(HEAD) the summary object before a run"
        ),
    ),
    **grant(
        GLUE,
        ["s3:DeleteObject"],
        [f"{DATA}/run-summaries/*"],
        KnownExcess("WriteCuratedData grants its prefixes alike; write_summary only overwrites"),
    ),
    **grant(
        GLUE,
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/*"],
        Documented(
            GLUE_LOGGING,
            "the job's output, error and continuous logs (--enable-continuous-cloudwatch-"
            "log); logs:AssociateKmsKey only with a security configuration encrypting them: none",
        ),
    ),
    **grant(
        GLUE,
        ["cloudwatch:PutMetricData"],
        ["*"],
        Documented(
            "https://docs.aws.amazon.com/glue/latest/dg/monitoring-awsglue-with-cloudwatch-metrics.html",
            "job metrics (--enable-metrics), in the Glue namespace only",
        ),
    ),
    # ------------------------------------------------ the functions' and the schedule's roles
    **{
        (role, "secretsmanager:GetSecretValue", "<RapidApiKeySecret>"): Code(
            "layers/requests/rapidapi/client.py", "parameters.get_secret(", "read_api_key: the RapidAPI key"
        )
        for role in FETCHERS
    },
    **grant(
        SCHEDULE,
        ["states:StartExecution"],
        [f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:<DataPipelineStateMachine>"],
        Documented(
            "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role",
            "EventBridge Scheduler starts the target execution as this role",
        ),
    ),
}

LAMBDA_LOGS = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
XRAY_WRITE = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
MANAGED: dict[tuple[str, str], Documented] = {
    **{
        (role, LAMBDA_LOGS): Documented(
            "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
            "Lambda writes the function's logs as its role",
        )
        for role in FUNCTIONS
    },
    **{
        (role, XRAY_WRITE): Documented(
            "https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
            "Tracing: Active: Lambda sends the function's segments with its role (SAM attaches the policy)",
        )
        for role in FUNCTIONS
    },
    (STATE_MACHINE, XRAY_WRITE): Documented(
        "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html",
        "Tracing: Enabled: Step Functions sends the execution's trace (SAM attaches the policy)",
    ),
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def roles(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = resolve_resources(translated)
    return {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"}


def test_every_grant_has_its_reason_and_every_reason_its_grant(roles):
    granted: set[Grant] = set()
    for role, properties in roles.items():
        for policy in properties.get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                assert statement["Effect"] == "Allow", (role, statement)
                for action in as_list(statement["Action"]):
                    granted |= {(role, action, resource) for resource in as_list(statement["Resource"])}
    assert sorted(granted - set(GRANTS)) == [], "grants without a reason"
    assert sorted(set(GRANTS) - granted) == [], "reasons without a grant"


def test_every_managed_policy_has_its_reason(roles):
    attached = {
        (role, arn) for role, properties in roles.items() for arn in properties.get("ManagedPolicyArns", [])
    }
    assert attached == set(MANAGED)


def test_each_task_reason_names_states_whose_integration_calls_the_action(definition):
    states = all_states(definition)
    for (_, action, _), reason in GRANTS.items():
        if isinstance(reason, Task):
            for name in reason.states:
                assert action in iam_actions_of(states[name]["Resource"]), (name, action)


def test_every_task_is_a_reason_for_each_action_its_integration_calls(definition):
    # The other way round: a Task the definition gains is traced to the grant it calls on.
    named = {
        (name, action) for (_, action, _), r in GRANTS.items() if isinstance(r, Task) for name in r.states
    }
    for name, state in all_states(definition).items():
        if state["Type"] == "Task":
            for action in iam_actions_of(state["Resource"]):
                assert (name, action) in named, (name, action)


def test_each_code_reason_is_in_its_file():
    for grant_, reason in GRANTS.items():
        if isinstance(reason, Code):
            for text in reason.texts:
                assert text in (REPO / reason.path).read_text(), (grant_, reason.path, text)


def test_the_known_excess_stays_as_small_as_it_is():
    excess = sorted(g for g, reason in GRANTS.items() if isinstance(reason, KnownExcess))
    assert excess == [
        (GLUE, "s3:DeleteObject", f"{DATA}/run-summaries/*"),
        (GLUE, "s3:GetObject", f"{DATA}/run-summaries/*"),
    ]
