"""Hooks on moto: IAM for the engine's calls.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_iam_enforcement.py.

16. iam: `boto_client_for` as each of ENGINE_CLIENT_MODULES imported it -> the Step Functions engine's
   service calls are authorized against the execution's role (offline_aws.iam) before they are sent,
   a denied call failing with the service's access-denied error, as on AWS; moto sends them unchecked
   with fixed dummy credentials. `settings.role_policies` reads a role's policies (None: not enforced).
"""

import importlib
from typing import Any

from offline_aws.moto_hooks.core import STATE_TASK, HookPoint, replace, settings

# Every engine module that imported `boto_client_for`: each holds its own reference to patch.
ENGINE_CLIENT_MODULES = (
    "lambda_eval_utils",
    "service.state_task_service_aws_sdk",
    "service.state_task_service_glue",
    "service.state_task_service_sns",
    "service.state_task_service_sqs",
    "service.state_task_service_sfn",
    "service.state_task_service_dynamodb",
    "service.state_task_service_events",
    "service.state_task_service_ecs",
    "service.state_task_service_batch",
    "service.state_task_service_unsupported",
)
HOOK_POINTS: tuple[HookPoint, ...] = tuple(
    HookPoint("iam", f"{STATE_TASK}.{module}", "boto_client_for", ("region", "service", "state_credentials"))
    for module in ENGINE_CLIENT_MODULES
)


def install() -> None:
    from offline_aws.iam import enforce_on

    for point in HOOK_POINTS:
        module = importlib.import_module(point.module)
        original = module.boto_client_for

        def boto_client_for(
            region: str, service: str, state_credentials: Any = None, _original: Any = original
        ) -> Any:
            client = _original(region=region, service=service, state_credentials=state_credentials)
            read = settings.role_policies
            role_arn = getattr(state_credentials, "role_arn", None)
            if read is not None and role_arn:
                enforce_on(client, role_arn, lambda: read(role_arn))
            return client

        replace(module, "boto_client_for", boto_client_for, f"iam.{point.module}")
