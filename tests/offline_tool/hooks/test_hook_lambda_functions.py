"""Hooks lambda-run and lambda-unhandled: real handlers run in execution environments of their own
(subprocesses, reused while the configuration holds, as on AWS), their errors named by class."""

import json
import re
import textwrap
from pathlib import Path

from emulation_helpers import unique, zip_directory

HANDLER = """
    import json
    import os
    from pathlib import Path


    class UpstreamRateLimitError(Exception):
        pass


    def handler(event, context):
        if event.get("fail_times"):
            # Attempts are counted in a file: every invocation is a fresh process.
            counter = Path(os.environ["COUNTER_FILE"])
            attempts = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(attempts + 1))
            if attempts < event["fail_times"]:
                raise UpstreamRateLimitError(f"attempt {attempts + 1} throttled")
        if event.get("sleep"):
            import time

            time.sleep(event["sleep"])
        return {
            "event": event,
            "greeting": os.environ.get("GREETING"),
            "function": context.function_name,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "has_time_left": context.get_remaining_time_in_millis() > 0,
        }
"""


def invoke(emulation, function_name: str, event: dict) -> tuple[str | None, dict]:
    answer = emulation.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(event))
    return answer.get("FunctionError"), json.loads(answer["Payload"].read())


def test_a_handler_runs_with_its_environment_and_the_emulation_endpoint(emulation, create_function) -> None:
    function = create_function(HANDLER, environment={"GREETING": "hello"})
    error, payload = invoke(emulation, function["FunctionName"], {"n": 1})
    assert error is None
    assert payload == {
        "event": {"n": 1},
        "greeting": "hello",
        "function": function["FunctionName"],
        "endpoint": emulation.endpoint_url,
        "has_time_left": True,
    }


def test_an_exception_is_an_unhandled_function_error_named_by_its_class(
    emulation, create_function, tmp_path
) -> None:
    function = create_function(HANDLER, environment={"COUNTER_FILE": str(tmp_path / "count")})
    error, payload = invoke(emulation, function["FunctionName"], {"fail_times": 5})
    assert error == "Unhandled"
    assert payload["errorType"] == "UpstreamRateLimitError"
    assert payload["errorMessage"] == "attempt 1 throttled"
    assert any("raise UpstreamRateLimitError" in frame for frame in payload["stackTrace"])


def test_a_handler_past_its_timeout_ends_as_sandbox_timedout(emulation, create_function) -> None:
    function = create_function(HANDLER, timeout=1)
    error, payload = invoke(emulation, function["FunctionName"], {"sleep": 30})
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]


def test_a_missing_handler_module_is_a_runtime_import_error(emulation, create_function) -> None:
    function = create_function(HANDLER, handler="nowhere.handler")
    error, payload = invoke(emulation, function["FunctionName"], {})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"


def test_layers_are_on_the_path(emulation, create_function, tmp_path: Path) -> None:
    layer_dir = tmp_path / "layer" / "python"
    layer_dir.mkdir(parents=True)
    (layer_dir / "shared_greeting.py").write_text("WORD = 'from the layer'\n")
    layer = emulation.client("lambda").publish_layer_version(
        LayerName=unique("layer"), Content={"ZipFile": zip_directory(tmp_path / "layer")}
    )
    source = "import shared_greeting\n\ndef handler(event, context):\n    return shared_greeting.WORD\n"
    function = create_function(source, layers=[layer["LayerVersionArn"]])
    assert invoke(emulation, function["FunctionName"], {}) == (None, "from the layer")


def test_a_registered_source_directory_replaces_the_deployed_zip(
    emulation, create_function, tmp_path
) -> None:
    function = create_function("def handler(event, context):\n    return 'from the zip'\n")
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    (source_dir / "app.py").write_text("def handler(event, context):\n    return 'from the source'\n")
    emulation.lambda_runner.register_function_source(function["FunctionName"], source_dir)
    assert invoke(emulation, function["FunctionName"], {}) == (None, "from the source")


def test_the_runtime_sets_extra_handler_variables(emulation, create_function) -> None:
    function = create_function(
        "import os\n\ndef handler(event, context):\n    return os.environ['ALPHA_VANTAGE_BASE_URL']\n",
        environment={"ALPHA_VANTAGE_BASE_URL": "https://real.example"},
    )
    emulation.set_lambda_env({"ALPHA_VANTAGE_BASE_URL": "http://127.0.0.1:9"})
    try:
        assert invoke(emulation, function["FunctionName"], {}) == (None, "http://127.0.0.1:9")
    finally:
        emulation.lambda_runner.extra_env.pop("ALPHA_VANTAGE_BASE_URL")


TRACING_VARIABLES = """
import os

def handler(event, context):
    names = ("_X_AMZN_TRACE_ID", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS",
             "POWERTOOLS_TRACE_DISABLED", "AWS_XRAY_SDK_ENABLED")
    return {name: os.environ.get(name) for name in names}
"""


def test_a_handler_sees_the_x_ray_variables_lambda_sets_and_no_others(emulation, create_function) -> None:
    for mode, sampled in (("Active", "1"), ("PassThrough", "0")):
        function = create_function(TRACING_VARIABLES, tracing=mode)
        first = invoke(emulation, function["FunctionName"], {})[1]
        second = invoke(emulation, function["FunctionName"], {})[1]  # the same, warm environment
        header = re.compile(rf"Root=1-[0-9a-f]{{8}}-[0-9a-f]{{24}};Parent=[0-9a-f]{{16}};Sampled={sampled}")
        assert header.fullmatch(first["_X_AMZN_TRACE_ID"]) and header.fullmatch(second["_X_AMZN_TRACE_ID"])
        assert first["_X_AMZN_TRACE_ID"] != second["_X_AMZN_TRACE_ID"]  # one trace header per invocation
        assert first["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
        assert re.fullmatch(r"[0-9.]+:\d+", first["AWS_XRAY_DAEMON_ADDRESS"])
        # Nothing Lambda does not set: tracing stays on, as with Tracing: Active on AWS.
        assert first["POWERTOOLS_TRACE_DISABLED"] is None and first["AWS_XRAY_SDK_ENABLED"] is None


def retrying_state_machine(function_arn: str) -> dict:
    return {
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function_arn, "Payload": {"fail_times.$": "$.fail_times"}},
                "ResultSelector": {"event.$": "$.Payload.event"},
                "Retry": [
                    {
                        "ErrorEquals": ["UpstreamRateLimitError"],
                        "IntervalSeconds": 10,
                        "MaxAttempts": 2,
                        "BackoffRate": 3,
                    }
                ],
                "Catch": [
                    {"ErrorEquals": ["UpstreamRateLimitError"], "ResultPath": "$.failure", "Next": "Caught"}
                ],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


def test_a_named_error_is_retried_by_name_then_succeeds(
    emulation, create_function, create_state_machine, tmp_path
):
    function = create_function(HANDLER, environment={"COUNTER_FILE": str(tmp_path / "count")})
    machine = create_state_machine(retrying_state_machine(function["FunctionArn"]))
    result = emulation.run_execution(machine, {"fail_times": 2})
    assert result.status == "SUCCEEDED"
    assert result.output == {"event": {"fail_times": 2}}
    failed = [e["taskFailedEventDetails"]["error"] for e in result.history if e["type"] == "TaskFailed"]
    assert failed == ["UpstreamRateLimitError", "UpstreamRateLimitError"]


def test_a_named_error_is_caught_by_name_once_retries_are_spent(
    emulation, create_function, create_state_machine, tmp_path
) -> None:
    function = create_function(HANDLER, environment={"COUNTER_FILE": str(tmp_path / "count")})
    machine = create_state_machine(retrying_state_machine(function["FunctionArn"]))
    result = emulation.run_execution(machine, {"fail_times": 9})
    assert result.status == "SUCCEEDED"
    assert result.states_entered() == ["Fetch", "Caught"]
    assert result.output["failure"]["Error"] == "UpstreamRateLimitError"
    cause = json.loads(result.output["failure"]["Cause"])
    assert cause["errorType"] == "UpstreamRateLimitError"
    assert cause["errorMessage"] == "attempt 3 throttled"


def test_handler_output_reaches_cloudwatch_logs(emulation, create_function) -> None:
    function = create_function(
        textwrap.dedent(
            """
            def handler(event, context):
                print("hello from the handler")
                return None
            """
        )
    )
    assert invoke(emulation, function["FunctionName"], {}) == (None, None)
    logs = emulation.client("logs")
    group = f"/aws/lambda/{function['FunctionName']}"
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert "hello from the handler" in messages
    assert any(m.startswith("START RequestId:") for m in messages)


WARM_HANDLER = """
    import os
    from pathlib import Path

    INVOCATIONS = []  # module state: lives as long as the execution environment


    def handler(event, context):
        INVOCATIONS.append(event["n"])
        marker = Path(os.environ["TMPDIR"]) / "marker"
        seen_marker = marker.exists()
        marker.write_text("x")
        if event.get("fail"):
            raise RuntimeError("failing on purpose")
        if event.get("sleep"):
            import time

            time.sleep(event["sleep"])
        return {"invocations": INVOCATIONS, "pid": os.getpid(), "seen_marker": seen_marker}
"""


def test_an_environment_serves_the_next_invocation_with_its_module_state_and_tmp(
    emulation, create_function
) -> None:
    name = create_function(WARM_HANDLER)["FunctionName"]
    _, first = invoke(emulation, name, {"n": 1})
    _, second = invoke(emulation, name, {"n": 2})
    assert first["invocations"] == [1] and not first["seen_marker"]
    assert second["invocations"] == [1, 2] and second["seen_marker"]
    assert second["pid"] == first["pid"]


def test_an_environment_whose_handler_raised_serves_on(emulation, create_function) -> None:
    # The runtime reports the error and takes the next event; Lambda resets only crashes and timeouts.
    name = create_function(WARM_HANDLER)["FunctionName"]
    _, first = invoke(emulation, name, {"n": 1})
    error, _ = invoke(emulation, name, {"n": 2, "fail": True})
    _, after = invoke(emulation, name, {"n": 3})
    assert error == "Unhandled"
    assert after["invocations"] == [1, 2, 3] and after["pid"] == first["pid"]


def test_an_environment_that_timed_out_is_replaced_by_a_cold_one(emulation, create_function) -> None:
    name = create_function(WARM_HANDLER, timeout=1)["FunctionName"]
    _, first = invoke(emulation, name, {"n": 1})
    error, timed_out = invoke(emulation, name, {"n": 2, "sleep": 3})
    _, after = invoke(emulation, name, {"n": 3})
    assert (error, timed_out["errorType"]) == ("Unhandled", "Sandbox.Timedout")
    assert after["invocations"] == [3] and after["pid"] != first["pid"]


def test_changed_variables_or_recycling_start_a_cold_environment(emulation, create_function) -> None:
    name = create_function(WARM_HANDLER)["FunctionName"]
    _, first = invoke(emulation, name, {"n": 1})
    emulation.client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"CHANGED": "yes"}}
    )
    _, changed = invoke(emulation, name, {"n": 2})
    assert changed["invocations"] == [2] and changed["pid"] != first["pid"]
    emulation.recycle_lambda_environments()
    _, recycled = invoke(emulation, name, {"n": 3})
    assert recycled["invocations"] == [3] and recycled["pid"] != changed["pid"]
