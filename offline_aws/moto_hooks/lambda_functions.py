"""Hooks on moto: Lambda functions.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_lambda_functions.py.

1. lambda-run: awslambda.models.LambdaFunction._invoke_lambda -> run the real handler in a subprocess
   (lambda_runner). moto runs Lambdas in Docker, which does not exist here.
2. lambda-unhandled: awslambda.models.LambdaFunction.invoke -> report `FunctionError: Unhandled` for a
   handler's exception, as AWS does (moto says `Handled`).
"""

from typing import Any

from offline_aws.lambda_runner import LambdaInvocation, LayerContent
from offline_aws.moto_hooks.core import HookPoint, original, replace, settings

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint("lambda-run", "moto.awslambda.models", "LambdaFunction._invoke_lambda", ("self", "event")),
    HookPoint("lambda-run", "moto.awslambda.models", "LambdaFunction.save_logs", ("self", "output")),
    HookPoint(
        "lambda-run",
        "moto.awslambda.models",
        "LambdaBackend.layers_versions_by_arn",
        ("self", "layer_version_arn"),
    ),
    HookPoint("lambda-run", "moto.awslambda.models", "lambda_backends"),
    HookPoint(
        "lambda-unhandled",
        "moto.awslambda.models",
        "LambdaFunction.invoke",
        ("self", "body", "request_headers", "response_headers"),
    ),
)


def install() -> None:
    from moto.awslambda import models

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        runner = settings.lambda_runner
        if runner is None:
            raise RuntimeError("offline runtime: no Lambda runner configured")
        backend = models.lambda_backends[self.account_id][self.region]
        layers = []
        for layer in self.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            layers.append(LayerContent(layer["Arn"], version.code_bytes, version.code_sha_256))
        invocation = LambdaInvocation(
            function_name=self.function_name,
            function_arn=self.function_arn,
            handler=self.handler,
            timeout_seconds=float(self.timeout),
            memory_size=int(self.memory_size),
            version=str(self.version),
            region=self.region,
            environment=dict(self.environment_vars or {}),
            code_zip=self.code_bytes,
            code_sha256=self.code_sha_256,
            layers=tuple(layers),
            event=event,
            role_arn=str(self.role or ""),
            tracing_mode=str((self.tracing_config or {}).get("Mode", "PassThrough")),
        )
        self.logs_backend.ensure_log_group(self.logs_group_name)
        result = runner(invocation)
        self.save_logs(result.logs)
        return result.payload, result.errored, result.logs

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        payload = original("lambda.invoke")(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    replace(models.LambdaFunction, "_invoke_lambda", _invoke_lambda, "lambda._invoke_lambda")
    replace(models.LambdaFunction, "invoke", invoke, "lambda.invoke")
