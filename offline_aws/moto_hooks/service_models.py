"""Hooks on botocore, for moto: Service models.
Guarded by tests/offline_tool/hooks/test_hook_service_models.py.

17. shared-loader: botocore.session.create_loader -> one data loader per data path for the whole process.
   moto creates botocore Sessions freely (three while importing moto.ec2, which the Step Functions engine
   imports, and one for its region lists), and each new Session's loader decodes a service's JSON model
   again: ec2's three times before the emulation serves a request. Decoding models was about a third of
   an emulation's start and first deploy. botocore already shares one loader, and so the same model
   dictionaries, among all clients of a Session; this extends that to every Session of the process.
   Installed before the other families' hook points are resolved, since resolving them imports moto.ec2.
"""

import functools
import threading
from typing import Any

from offline_aws.moto_hooks.core import HookPoint, original, replace

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint("shared-loader", "botocore.session", "create_loader", ("search_path_string",)),
)

_lock = threading.Lock()


def install() -> None:
    import botocore.session

    if hasattr(botocore.session.create_loader, "__moto_original__"):
        return  # installed by an earlier install() that then refused another family
    loaders: dict[str | None, Any] = {}

    @functools.wraps(botocore.session.create_loader)
    def create_loader(search_path_string: str | None = None) -> Any:
        with _lock:
            if search_path_string not in loaders:
                loaders[search_path_string] = original("botocore.session.create_loader")(search_path_string)
            return loaders[search_path_string]

    replace(botocore.session, "create_loader", create_loader, "botocore.session.create_loader")
