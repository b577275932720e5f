"""Every hook the offline tool puts on moto's internals, grouped by family. moto is pinned to 5.2.5 for them.

Each hook closes a gap between moto and a real AWS run. A family module holds its hooks' points (the
hooked attributes, with the signatures the hooks were written against), its patches, and names the test
module guarding it through boto3 in tests/offline_tool/hooks/; its docstring says which gap each closes.
`install()` refuses to patch when any hook point differs from moto (tests/offline_tool/hooks/
test_hook_points.py checks them without installing).

 1, 2        lambda_functions   real handlers in a subprocess; unhandled errors reported as AWS does
 3, 4        glue_jobs          `glue:startJobRun.sync` runs the job's script; runs report real states
 5, 6, 7     sdk_integrations   SDK error names, result JSON and request blobs as on AWS
 8           time_scale         scaled Wait/Retry delays that never change an execution's outcome
 9-11, 13    executions         StartExecution and DescribeExecution as on AWS, context times, mock configs
 12          bucket_policies    bucket policy Conditions evaluated as for an HTTPS request
 14          intrinsics         States.MathRandom as AWS documents it
 15          validation         requests AWS refuses are refused (model constraints, bucket names, e-mail)
 16          iam_enforcement    the Step Functions engine's calls authorized as the execution's role
 17          service_models     each botocore service model decoded once per process, not once per Session
 18          asl_parser         a definition parsed by ANTLR once, not again for every execution
"""

import threading
from types import ModuleType

from offline_aws.moto_hooks import (
    asl_parser,
    bucket_policies,
    executions,
    glue_jobs,
    iam_enforcement,
    intrinsics,
    lambda_functions,
    sdk_integrations,
    service_models,
    time_scale,
    validation,
)
from offline_aws.moto_hooks.core import HookPoint, HookPointMismatch, settings
from offline_aws.moto_hooks.executions import clear_mock_config, load_mock_config, validate_mock_config
from offline_aws.moto_hooks.time_scale import (
    RecordedDelay,
    clear_recorded_delays,
    configure,
    recorded_delays,
)

FAMILIES: tuple[ModuleType, ...] = (
    service_models,  # installed first (see install)
    lambda_functions,
    glue_jobs,
    sdk_integrations,
    time_scale,
    executions,
    bucket_policies,
    intrinsics,
    validation,
    iam_enforcement,
    asl_parser,
)
HOOK_POINTS: tuple[HookPoint, ...] = tuple(point for family in FAMILIES for point in family.HOOK_POINTS)

__all__ = [
    "FAMILIES",
    "HOOK_POINTS",
    "HookPoint",
    "HookPointMismatch",
    "RecordedDelay",
    "clear_mock_config",
    "clear_recorded_delays",
    "configure",
    "hook_point_problems",
    "install",
    "is_installed",
    "load_mock_config",
    "recorded_delays",
    "settings",
    "validate_mock_config",
]

_install_lock = threading.Lock()
_installed = False


def hook_point_problems(points: tuple[HookPoint, ...] = HOOK_POINTS) -> list[str]:
    return [problem for point in points if (problem := point.problem()) is not None]


def install() -> None:
    """Patch moto (idempotent). Refuses, naming the attribute, when moto no longer matches a hook; only
    the shared service-model loader, which changes no behaviour, may then be in place already."""
    global _installed
    with _install_lock:
        if _installed:
            return
        # The loader first: resolving the other families' hook points imports moto.ec2.
        for families in ((service_models,), FAMILIES[1:]):
            points = tuple(point for family in families for point in family.HOOK_POINTS)
            problems = hook_point_problems(points)
            if problems:
                raise HookPointMismatch(
                    "moto does not match the offline tool's hooks:\n" + "\n".join(problems)
                )
            for family in families:
                family.install()
        _installed = True


def is_installed() -> bool:
    return _installed
