"""This project's pipeline for the workflow tests: template.yaml deployed through offline_pipeline.stack,
with an SQS observer on its topic (conftest.py holds the fixtures)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation_helpers import SqsObserver, unique

from offline_aws.emulation import Emulation, ExecutionResult
from offline_pipeline.rapidapi_standin import PAYLOADS, Api, RapidApiStandIn
from offline_pipeline.stack import PROJECT_DIR, TEMPLATE, OfflinePipeline, deploy_pipeline

REPO = PROJECT_DIR
EVENTS = REPO / "events"

# The parameter overrides that let an execution name any bucket, stream and topic.
WIDENED_TO_ANY_NAME = {"InputBucketName": "*", "InputStreamName": "*", "InputTopicName": "*"}


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def reference(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@dataclass
class Pipeline(OfflinePipeline):
    """The project's offline pipeline with an observer of what its topic delivers."""

    notifications: SqsObserver = field(repr=False, kw_only=True)

    def fresh(self) -> "Pipeline":
        """No scripted answers or recorded requests left over; handlers pointed at the stand-in."""
        self.standin.reset()
        # Re-applied every time: another test may have changed the handler variables.
        self.emulation.set_lambda_env(self.standin.env)
        return self

    def run(
        self,
        execution_input: Any,
        *,
        name: str | None = None,
        test_case: str | None = None,
        timeout: float = 300,
    ) -> ExecutionResult:
        return super().run(execution_input, name=name, test_case=test_case, timeout=timeout)

    def requests(self, api: Api) -> int:
        return len(self.standin.requests_to(api))

    def topic_arn_for(self, name: str) -> str:
        return f"arn:aws:sns:{self.emulation.region}:{self.emulation.account_id}:{name}"


def observed_pipeline(
    emulation: Emulation,
    standin: RapidApiStandIn,
    *,
    template: Path = TEMPLATE,
    prefix: str = "pipeline",
    overrides: Mapping[str, str] | None = None,
    own_glue_job: bool = True,
) -> Pipeline:
    """A stack of `template` with its own account-wide names (catalog database and, unless told otherwise,
    Glue job), the secret holding the stand-in's key, and an SQS observer on its notification topic."""
    name = unique(prefix)
    own_names = {"CatalogDatabaseName": name.replace("-", "_")}
    if own_glue_job:
        own_names["GlueJobName"] = name
    deployed = deploy_pipeline(
        emulation,
        standin,
        template=template,
        stack_name=name,
        parameter_overrides={**own_names, **(overrides or {})},
    )
    observer = SqsObserver(emulation, deployed.topic_arn)
    return Pipeline(deployed.emulation, deployed.stack, deployed.standin, notifications=observer).fresh()
