"""Hooks on moto: S3 bucket policies.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_bucket_policies.py.

12. bucket-policy-conditions: s3.models.FakeBucket.get_permission -> bucket policy Conditions evaluated
   as AWS does for a request over HTTPS (`aws:SecureTransport` true): a statement whose condition does
   not hold does not apply. moto ignores `Bool` and denies when any condition fails, so the usual
   DenyInsecureTransport statement denies every object request.
"""

import json
from typing import Any

from offline_aws.iam import statement_applies
from offline_aws.moto_hooks.core import HookPoint, replace

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint(
        "bucket-policy-conditions",
        "moto.s3.models",
        "FakeBucket.get_permission",
        ("self", "action", "resource"),
    ),
    HookPoint(
        "bucket-policy-conditions",
        "moto.iam.access_control",
        "IAMPolicy.is_action_permitted",
        ("self", "action", "resource", "principal", "incoming_condition_values"),
    ),
)


def install() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3 import models

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        applying = [
            {k: v for k, v in st.items() if k != "Condition"} for st in statements if statement_applies(st)
        ]
        if not applying:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": applying})).is_action_permitted(action, resource)

    replace(models.FakeBucket, "get_permission", get_permission, "s3.get_permission")
