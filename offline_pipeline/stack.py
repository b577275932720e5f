"""The one place that assembles this project offline: the RapidAPI stand-in, the emulation, template.yaml
deployed into it, and the key secret holding the stand-in's key (or a chosen broken state). The CLI, the
tests and the benchmarks all start their pipeline here; the logical IDs they read live here too."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from offline_aws.deployer import DeployedStack, deploy
from offline_aws.emulation import Emulation, ExecutionResult
from offline_pipeline.rapidapi_standin import RapidApiStandIn

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_DIR / "template.yaml"
KEY_SECRET = "RapidApiKeySecret"
STATE_MACHINE = "DataPipelineStateMachine"

SecretState = Literal["unset", "empty", "placeholder"]
# What the key secret holds instead of the stand-in's key (None: created without a value, as on AWS before
# a key is stored). Secrets Manager refuses a zero-length value: the emptiest a user can store is blank.
SECRET_STATES: dict[str, str | None] = {"unset": None, "empty": " ", "placeholder": "YOUR_KEY"}


@dataclass
class OfflinePipeline:
    """template.yaml deployed into a running emulation, its handlers pointed at the RapidAPI stand-in."""

    emulation: Emulation
    stack: DeployedStack
    standin: RapidApiStandIn

    def run(
        self,
        execution_input: Any,
        *,
        name: str | None = None,
        test_case: str | None = None,
        timeout: float = 600,
    ) -> ExecutionResult:
        return self.emulation.run_execution(
            self.state_machine_arn, execution_input, name=name, test_case=test_case, timeout=timeout
        )

    @property
    def state_machine_arn(self) -> str:
        return str(self.stack.ref(STATE_MACHINE))

    @property
    def state_machine_name(self) -> str:
        return str(self.stack.attribute(STATE_MACHINE, "Name"))

    @property
    def data_bucket(self) -> str:
        return str(self.stack.ref("DataBucket"))

    @property
    def stream(self) -> str:
        return str(self.stack.ref("SubscriptionStream"))

    @property
    def topic_arn(self) -> str:
        return str(self.stack.ref("NotificationTopic"))

    @property
    def topic_name(self) -> str:
        return str(self.stack.attribute("NotificationTopic", "TopicName"))

    @property
    def glue_job(self) -> str:
        return str(self.stack.ref("StockDataGlueJob"))

    def function_arns(self) -> dict[str, str]:
        """Logical ID -> ARN of every function of the stack."""
        return {
            logical_id: str(resource.attributes["Arn"])
            for resource_type in ("AWS::Serverless::Function", "AWS::Lambda::Function")
            for logical_id, resource in self.stack.of_type(resource_type).items()
        }


def deploy_pipeline(
    emulation: Emulation,
    standin: RapidApiStandIn,
    *,
    template: Path = TEMPLATE,
    stack_name: str | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
    secret: SecretState | None = None,
) -> OfflinePipeline:
    """Deploy `template` into the running emulation; the key secret holds the stand-in's key unless
    `secret` names another state, and every handler reaches the stand-in."""
    stack = deploy(
        emulation,
        template,
        stack_name=stack_name,
        parameter_overrides=parameter_overrides,
        secret_values={KEY_SECRET: SECRET_STATES[secret] if secret else standin.api_key},
    )
    emulation.set_lambda_env(standin.env)
    return OfflinePipeline(emulation, stack, standin)


@contextmanager
def offline_pipeline(
    *,
    parameter_overrides: Mapping[str, str] | None = None,
    secret: SecretState | None = None,
    time_scale: float | None = None,
    work_dir: Path | None = None,
) -> Iterator[OfflinePipeline]:
    """The stand-in and the emulation running, template.yaml deployed into it; all stopped afterwards."""
    with (
        RapidApiStandIn() as standin,
        Emulation(time_scale=time_scale, work_dir=work_dir, lambda_env=standin.env) as emulation,
    ):
        yield deploy_pipeline(emulation, standin, parameter_overrides=parameter_overrides, secret=secret)
