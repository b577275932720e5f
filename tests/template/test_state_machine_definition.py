"""The state machine definition: substitutions, graph, error handling, IAM coverage, and the ASL linter."""

import json
import re
from collections.abc import Iterator
from typing import Any

import cfnlint.api
from conftest import iam_actions_of, resolve_resources

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def iter_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from definition["States"].items()


def successors(state: dict[str, Any]) -> set[str]:
    targets = {state.get("Next"), state.get("Default")}
    targets |= {choice["Next"] for choice in state.get("Choices", [])}
    targets |= {catcher["Next"] for catcher in state.get("Catch", [])}
    return {t for t in targets if t}


def test_placeholders_and_substitutions_match_exactly(definition_text, state_machine):
    placeholders = set(PLACEHOLDER.findall(definition_text))
    assert placeholders == set(state_machine["DefinitionSubstitutions"])


def test_uses_jsonpath_query_language(definition):
    assert definition["QueryLanguage"] == "JSONPath"
    assert all(state.get("QueryLanguage", "JSONPath") == "JSONPath" for _, state in iter_states(definition))


def test_every_transition_targets_a_state_and_every_state_is_reachable(definition):
    states = definition["States"]
    for name, state in iter_states(definition):
        assert successors(state) <= set(states), f"{name} points at a missing state"
    reached, frontier = set(), [definition["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name not in reached:
            reached.add(name)
            frontier.extend(successors(states[name]))
    assert reached == set(states)


def test_every_path_ends_in_succeed_or_fail(definition):
    for name, state in iter_states(definition):
        if state["Type"] in {"Succeed", "Fail"}:
            continue
        assert not state.get("End"), f"{name} ends the execution without a Succeed or Fail state"
        assert successors(state), f"{name} has nowhere to go"


def test_every_task_has_timeout_retry_with_jitter_and_catch(definition):
    tasks = [(name, state) for name, state in iter_states(definition) if state["Type"] == "Task"]
    assert tasks
    for name, state in tasks:
        assert 0 < state["TimeoutSeconds"] <= 1800, name
        assert state["Retry"], f"{name} has no Retry"
        for retrier in state["Retry"]:
            assert retrier["JitterStrategy"] == "FULL", name
            assert retrier["MaxDelaySeconds"] >= retrier["IntervalSeconds"], name
            assert retrier["BackoffRate"] >= 1, name
            assert "States.ALL" not in retrier["ErrorEquals"], f"{name} retries every error"
        last_catch = state["Catch"][-1]
        assert last_catch["ErrorEquals"] == ["States.ALL"], name
        expected = "ExecutionFailed" if name == "NotifyFailure" else "NotifyFailure"
        assert last_catch["Next"] == expected, name
        # The failure path needs only {Error, Cause}; "$" works whatever the state's input is.
        if name != "NotifyFailure":
            assert all(c["ResultPath"] in ("$", None) for c in state["Catch"]), name


def test_every_failure_reaches_notify_failure_as_error_and_cause(definition):
    states = definition["States"]
    into_failure = [
        (name, catcher)
        for name, state in iter_states(definition)
        for catcher in state.get("Catch", [])
        if catcher["Next"] in ("NotifyFailure", "ExecutionFailed") and name != "NotifyFailure"
    ]
    assert all(catcher["ResultPath"] == "$" for _, catcher in into_failure)
    recorders = [s for s in states.values() if s.get("Next") == "NotifyFailure" and s["Type"] == "Pass"]
    assert len(recorders) == 2
    for recorder in recorders:
        assert "ResultPath" not in recorder and set(recorder["Parameters"]) == {"Error", "Cause.$"}
        assert recorder["Parameters"]["Error"].endswith("Error")


def test_authentication_and_input_errors_are_not_retried(definition):
    for name, state in iter_states(definition):
        for retrier in state.get("Retry", []):
            retried = set(retrier["ErrorEquals"])
            assert not retried & {
                "UpstreamAuthError",
                "InvalidInputError",
                "RapidApiKeyNotSetError",
                "RapidApiKeyMalformedError",
                "UpstreamRequestError",
            }, name


def test_lambda_tasks_retry_rate_limits_and_outages(definition):
    lambda_tasks = [
        s for _, s in iter_states(definition) if s.get("Resource") == "arn:aws:states:::lambda:invoke"
    ]
    assert len(lambda_tasks) == 3
    for state in lambda_tasks:
        if state["Parameters"]["FunctionName"] == "${ValidateExecutionInputFunctionArn}":
            continue
        retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
        assert {
            "UpstreamRateLimitError",
            "UpstreamUnavailableError",
            "Lambda.TooManyRequestsException",
        } <= retried


def test_failure_path_notifies_then_fails_with_original_error(definition):
    notify = definition["States"]["NotifyFailure"]
    assert notify["Resource"] == "arn:aws:states:::aws-sdk:sns:publish"
    assert notify["Parameters"]["TopicArn"] == "${NotificationTopicArn}"
    assert "$.Error" in notify["Parameters"]["Message.$"]
    assert "$.Cause" in notify["Parameters"]["Message.$"]
    assert notify["ResultPath"] is None
    failed = definition["States"]["ExecutionFailed"]
    assert failed == {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}


def test_the_input_is_validated_first_whatever_json_value_it_is(definition):
    first = definition["States"][definition["StartAt"]]
    assert first["Resource"] == "arn:aws:states:::lambda:invoke"
    assert first["Parameters"]["FunctionName"] == "${ValidateExecutionInputFunctionArn}"
    # The input goes in whole and is replaced by the validated request: nothing reads the raw input after.
    assert first["Parameters"]["Payload"]["input.$"] == "$"
    assert first["ResultPath"] == "$" and "InputPath" not in first
    assert first["Catch"][0] == {
        "ErrorEquals": ["InvalidInputError"],
        "ResultPath": "$",
        "Next": "ExecutionFailed",
    }
    input_reads = re.findall(r"\$\.request\.(\w+)", json.dumps(definition))
    assert input_reads and "$.given" not in json.dumps(definition)


def test_no_state_before_the_validator_writes_or_fetches(definition):
    assert definition["StartAt"] == "ValidateExecutionInput"


def test_the_definition_is_as_small_as_the_workflow(definition):
    assert len(definition["States"]) <= 40


def test_glue_job_is_awaited_and_pointed_at_this_executions_object(definition):
    glue = definition["States"]["RunStockDataGlueJob"]
    assert glue["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    arguments = glue["Parameters"]["Arguments"]
    assert "$.etl.rawObjectKey" in arguments["--raw_paths.$"]
    key = definition["States"]["FetchStockData"]["ResultSelector"]["rawObjectKey.$"]
    assert "$$.Execution.Name" in key and "symbol=" in key


def test_no_fixed_waits_longer_than_a_poll(definition):
    waits = [s for _, s in iter_states(definition) if s["Type"] == "Wait"]
    assert all(w.get("Seconds", 0) <= 10 for w in waits)


def test_user_named_language_features_appear(definition_text, definition):
    for intrinsic in ("MathRandom", "Format", "StringToJson", "JsonToString", "ArrayContains"):
        assert f"States.{intrinsic}(" in definition_text, intrinsic
    used = {field for _, state in iter_states(definition) for field in state}
    assert {"InputPath", "Parameters", "ResultPath", "ResultSelector"} <= used


def test_definition_hard_codes_no_account_or_resource_arn(definition_text):
    service_arns = re.findall(r"arn:aws:(?!states:::)[^\"']*", definition_text)
    assert service_arns == []
    assert not re.search(r"\b\d{12}\b", definition_text)


# IAM actions that do not follow the aws-sdk API name.
def role_statements(translated: dict[str, Any]) -> list[dict[str, Any]]:
    """The state machine role's statements as SAM translates them, conditions evaluated (defaults)."""
    role = resolve_resources(translated)["DataPipelineStateMachineRole"]
    statements = []
    for policy in role["Properties"]["Policies"]:
        listed = policy["PolicyDocument"]["Statement"]
        statements += listed if isinstance(listed, list) else [listed]
    return statements


def granted_actions(translated: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in role_statements(translated):
        if statement["Effect"] == "Allow":
            listed = statement["Action"]
            actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def test_role_grants_every_action_the_definition_calls(definition, translated):
    needed: set[str] = set()
    for _, state in iter_states(definition):
        if state.get("Resource"):
            needed |= iam_actions_of(state["Resource"])
    assert needed <= granted_actions(translated)


def test_wildcard_resources_only_for_calls_that_admit_nothing_narrower(translated):
    allowed_wide = ("s3:ListAllMyBuckets", "kinesis:ListStreams", "sns:ListTopics", "logs:")
    for statement in role_statements(translated):
        if statement["Resource"] == "*":
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(a.startswith(allowed_wide) for a in actions), statement["Sid"]


def test_definition_passes_the_asl_linter(definition_text, state_machine):
    substituted = PLACEHOLDER.sub(lambda m: f"placeholder-{m.group(1)}", definition_text)
    # cfn-lint validates only inline definitions (E3601), so wrap the file as one.
    wrapper = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/placeholder",
                    "Definition": json.loads(substituted),
                },
            }
        },
    }
    matches = cfnlint.api.lint(json.dumps(wrapper), regions=["us-east-1"])
    assert [str(m) for m in matches] == []


def test_asl_linter_catches_a_broken_definition(definition_text):
    broken = json.loads(PLACEHOLDER.sub("x", definition_text))
    broken["States"]["FetchStockData"]["TimeoutSeconds"] = "soon"
    broken["States"]["RouteByDraw"]["Choices"][0]["NumericEquals"] = "one"
    wrapper = {
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/x", "Definition": broken},
            }
        }
    }
    rule_ids = {m.rule.id for m in cfnlint.api.lint(json.dumps(wrapper), regions=["us-east-1"])}
    assert "E3601" in rule_ids
