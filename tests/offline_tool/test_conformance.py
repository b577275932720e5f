"""The emulation against behaviour recorded on real AWS (aws_recorded/, copied from shared/reference with its
provenance README): each test runs the recorded situation offline and compares what AWS answered."""

import hashlib
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from emulation_helpers import unique

RECORDED = Path(__file__).with_name("aws_recorded")


def excerpt(area: str, excerpt_id: str) -> dict:
    document = json.loads((RECORDED / f"{area}.json").read_text())
    return next(e for e in document["excerpts"] if e["id"] == excerpt_id)


PUT_OBJECT_CASES = excerpt("s3_sdk", "s3_putObject_body_serialisation")["recorded"]


@pytest.mark.parametrize("case", PUT_OBJECT_CASES, ids=lambda case: case["case"])
def test_put_object_stores_the_body_json_serialised_as_recorded(
    emulation, create_state_machine, case
) -> None:
    bucket = unique("recorded-body")
    emulation.client("s3").create_bucket(Bucket=bucket)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
        "Parameters": {"Bucket": bucket, "Key": "k", "Body.$": "$.body"},
        "End": True,
    }
    result = emulation.run_execution(
        create_state_machine({"StartAt": "Put", "States": {"Put": task}}), {"body": case["Body_parameter"]}
    )
    assert result.status == "SUCCEEDED", result.cause

    stored = emulation.client("s3").get_object(Bucket=bucket, Key="k")
    recorded = case["stored_object_read_back_with_boto3"]
    body = stored["Body"].read()
    # The snapshot tool parsed a body holding a JSON object; AWS stored its compact text.
    expected = (
        recorded["Body"]
        if isinstance(recorded["Body"], str)
        else json.dumps(recorded["Body"], separators=(",", ":"))
    )
    assert body.decode() == expected
    assert stored["ContentLength"] == recorded["ContentLength"]
    assert stored["ContentType"] == recorded["ContentType"]
    assert stored["ETag"] == recorded["ETag"] == f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    assert result.output["ETag"] == case["putObject_result"]["ETag"]


START_INPUTS = excerpt("start_execution", "start_execution_input_validation")["recorded"]


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("not some json", "start_exec_str_inp"),
        ("{'not': 'json'", "start_exec_not_json_inp"),
        ("", "start_res_empty"),
    ],
)
def test_start_execution_refuses_input_that_is_not_json(
    emulation, create_state_machine, given, recorded
) -> None:
    machine = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as error:
        emulation.client("stepfunctions").start_execution(stateMachineArn=machine, input=given)
    assert (
        error.value.response["Error"]["Code"]
        == START_INPUTS[recorded]["Error"]["Code"]
        == "InvalidExecutionInput"
    )


@pytest.mark.parametrize("given", ["2", '"some text"', "null"])
def test_start_execution_accepts_any_json_value(emulation, create_state_machine, given) -> None:
    machine = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    result = emulation.run_execution(machine, given)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == json.loads(given)


def test_a_task_result_over_the_limit_is_caught_by_states_all(
    emulation, create_state_machine, create_function
):
    recorded = excerpt(
        "errors",
        "data_limit_test_service_task_lambada_catch_state_all_data_limit_exceeded_on_large_utf8_response",
    )
    function = create_function('def handler(event, context):\n    return "x" * (257 * 1024)\n')
    machine = {
        "StartAt": "lambda",
        "States": {
            "lambda": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function["FunctionArn"]},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "HandleGeneralError"}],
                "End": True,
            },
            "HandleGeneralError": {"Type": "Pass", "End": True},
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {})
    assert result.status == "SUCCEEDED", (result.error, result.cause, recorded["fact"])
    assert result.states_entered() == ["lambda", "HandleGeneralError"]
    assert result.output["Error"] == "States.DataLimitExceeded"
    assert result.output["Cause"] == (
        "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes"
        " service limit."
    )


# ---------------------------------------------------------------- inline Map, as the watchlists use it


def _events(history: list[dict], details: bool = True) -> list[dict]:
    """Each event's type and details as the recorded excerpt keeps them (ids, timestamps and the
    truncation flags dropped; JSON text parsed, as the snapshot tool parses it)."""
    kept = []
    for event in history:
        item: dict = {"type": event["type"]}
        for key, value in event.items():
            if key.endswith("EventDetails") and details:
                value = {
                    k: v for k, v in value.items() if k not in ("inputDetails", "outputDetails", "roleArn")
                }
                for field in ("input", "output", "cause"):
                    if isinstance(value.get(field), str) and value[field].startswith("{"):
                        value[field] = json.loads(value[field])
                item[key] = value
        kept.append(item)
    return kept


def test_a_failing_map_iteration_is_caught_on_the_map_as_recorded(emulation, create_state_machine) -> None:
    recorded = excerpt("map_state", "map_state_catch")["recorded"]
    iteration = {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "HandleItemFail",
        "States": {
            "HandleItemFail": {"Type": "Fail", "Error": "HandleItemFailError", "Cause": "HandleItemFailCause"}
        },
    }
    machine = {
        "StartAt": "StartState",
        "States": {
            "StartState": {"Type": "Pass", "Result": [1], "ResultPath": "$.arr", "Next": "MapState"},
            "MapState": {
                "Type": "Map",
                "InputPath": "$.arr",
                "ResultPath": None,
                "MaxConcurrency": 1,
                "ItemProcessor": iteration,
                "Catch": [{"ErrorEquals": ["HandleItemFailError"], "Next": "FinalCaught"}],
                "Next": "Final",
            },
            "FinalCaught": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {})
    offline = _events(result.history)
    assert [e["type"] for e in offline] == [e["type"] for e in recorded]
    # Only the role's ARN differs (the snapshot replaced it); every detail else is AWS's.
    recorded[0]["executionStartedEventDetails"].pop("roleArn", None)
    assert offline == recorded


def test_an_item_selector_builds_each_iteration_input_in_order_as_recorded(
    emulation, create_state_machine
) -> None:
    recorded = excerpt("map_state", "map_state_item_selector")["recorded"]
    shipped = [
        {"prod": "R31", "dest-code": 9511, "quantity": 1344},
        {"prod": "S39", "dest-code": 9511, "quantity": 40},
        {"prod": "R31", "dest-code": 9833, "quantity": 12},
        {"prod": "R40", "dest-code": 9860, "quantity": 887},
        {"prod": "R40", "dest-code": 9511, "quantity": 1220},
    ]
    machine = {
        "StartAt": "StartState",
        "States": {
            "StartState": {
                "Type": "Pass",
                "Result": {"detail": {"delivery-partner": "UQS", "shipped": shipped}},
                "Next": "MapState",
            },
            "MapState": {
                "Type": "Map",
                "InputPath": "$.detail",
                "ItemsPath": "$.shipped",
                "ResultPath": "$.detail.shipped_output",
                "MaxConcurrency": 1,
                "ItemSelector": {
                    "original_input.$": "$",
                    "iteration_input_value.$": "$$.Map.Item.Value",
                    "iteration_index.$": "$$.Map.Item.Index",
                    "from_input_constant.$": "$.delivery-partner",
                    "constant_value": "HelloWorld",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "HandleItem",
                    "States": {"HandleItem": {"Type": "Pass", "End": True}},
                },
                "Next": "Final",
            },
            "Final": {"Type": "Pass", "End": True},
        },
    }
    result = emulation.run_execution(create_state_machine(machine), {})
    offline = _events(result.history)
    recorded[0]["executionStartedEventDetails"].pop("roleArn", None)
    assert offline == recorded
