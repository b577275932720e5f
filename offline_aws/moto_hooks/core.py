"""What every hook family shares: hook points, the settings the hooks read, and how a hook replaces an
attribute while keeping the original at hand. moto is pinned to 5.2.5 for the hooks."""

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from offline_aws.glue_runner import GlueJobRunOutcome, GlueJobRunRequest
from offline_aws.lambda_runner import LambdaInvocation, LambdaResult

SFN = "moto.stepfunctions.parser"
STATE_TASK = f"{SFN}.asl.component.state.exec.state_task"
STATE_TASK_SERVICE = f"{STATE_TASK}.service"


@dataclass(frozen=True)
class HookPoint:
    """A moto attribute a hook replaces or changes, with the parameters the hook was written against."""

    hook: str
    module: str
    attribute: str
    parameters: tuple[str, ...] | None = None  # None: not a function (a module constant)

    def resolve(self) -> Any:
        owner: Any = importlib.import_module(self.module)
        for part in self.attribute.split("."):
            owner = getattr(owner, part)
        return owner

    def problem(self) -> str | None:
        """Why this hook point no longer matches moto, or None when it does."""
        try:
            target = self.resolve()
        except (ImportError, AttributeError) as exc:
            return f"{self.module}.{self.attribute} is gone: {exc}"
        if self.parameters is None:
            return None
        # Once installed, the attribute is the hook: check what it replaced.
        target = getattr(target, "__moto_original__", target)
        actual = tuple(inspect.signature(target).parameters)
        if actual != self.parameters:
            return f"{self.module}.{self.attribute} takes {actual}, the hook expects {self.parameters}"
        return None


class HookPointMismatch(RuntimeError):
    pass


DEFAULT_TIME_SCALE = 0.01
# `.sync` polling; each poll is a GetJobRun through the API, as the execution role.
DEFAULT_SYNC_POLL_SECONDS = 0.25


@dataclass
class HookSettings:
    time_scale: float = DEFAULT_TIME_SCALE
    sync_poll_seconds: float = DEFAULT_SYNC_POLL_SECONDS
    lambda_runner: Callable[[LambdaInvocation], LambdaResult] | None = None
    glue_runner: Callable[[GlueJobRunRequest], GlueJobRunOutcome] | None = None
    # Reads a role's policy documents, for the engine's calls as the execution's role; None: IAM is off.
    role_policies: Callable[[str], list[dict[str, Any]]] | None = None
    # Step Functions Local mock config (MockConfigFile format), merged from everything loaded.
    mock_config: dict[str, Any] = field(default_factory=lambda: {"StateMachines": {}, "MockedResponses": {}})


settings = HookSettings()
_originals: dict[str, Any] = {}


def original(key: str) -> Any:
    """What `replace` put aside under `key`."""
    return _originals[key]


def replace(owner: Any, name: str, replacement: Any, key: str) -> None:
    """Set `owner.name` to the hook, keeping moto's attribute under `key` (and on the hook, for the
    hook-point check once installed)."""
    replaced = getattr(owner, name)
    _originals[key] = replaced
    function = replacement.__func__ if isinstance(replacement, staticmethod) else replacement
    function.__moto_original__ = replaced
    setattr(owner, name, replacement)
