"""The state machine definition: substitutions, graph, error handling, IAM coverage, and the ASL linter.

States of Map iterations count as states: each iteration is a state machine of its own (StartAt, States),
whose transitions stay inside it; state names are unique across all of them.
"""

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

import cfnlint.api
import pytest
from conftest import REPO, all_states, iam_actions_of, resolve_resources, state_scopes

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def iter_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from all_states(definition).items()


def transitions(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, target) of each way out of the state: a Choice rule by its index, Default, Next, a Catch."""
    found = [(f"choice {i}", choice["Next"]) for i, choice in enumerate(state.get("Choices", []))]
    found += [(key, state[key]) for key in ("Next", "Default") if key in state]
    found += [(f"catch {i}", catcher["Next"]) for i, catcher in enumerate(state.get("Catch", []))]
    return found


def successors(state: dict[str, Any]) -> set[str]:
    return {target for _, target in transitions(state)}


def reachable(
    states: dict[str, Any], start: str, skipped: frozenset[tuple[str, str]] = frozenset()
) -> set[str]:
    """The states of one scope reached from `start`, not taking the (state, label) transitions skipped."""
    reached, frontier = set(), [start]
    while frontier:
        name = frontier.pop()
        if name not in reached:
            reached.add(name)
            frontier += [
                target for label, target in transitions(states[name]) if (name, label) not in skipped
            ]
    return reached


def top_level_catchers(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, c) for name, state in definition["States"].items() for c in state.get("Catch", [])]


def test_placeholders_and_substitutions_match_exactly(definition_text, state_machine):
    placeholders = set(PLACEHOLDER.findall(definition_text))
    assert placeholders == set(state_machine["DefinitionSubstitutions"])


def test_uses_jsonpath_query_language(definition):
    assert definition["QueryLanguage"] == "JSONPath"
    assert all(state.get("QueryLanguage", "JSONPath") == "JSONPath" for _, state in iter_states(definition))


def test_state_names_are_unique_across_the_map_iterations(definition):
    names = [name for scope in state_scopes(definition) for name in scope["States"]]
    assert len(names) == len(set(names)) == len(all_states(definition))
    assert len(list(state_scopes(definition))) == 4  # the definition and the iterations of its three Maps


def test_every_transition_targets_a_state_and_every_state_is_reachable(definition):
    for scope in state_scopes(definition):
        states = scope["States"]
        for name, state in states.items():
            # A transition never leaves its scope: an iteration cannot go to an outer state, nor back.
            assert successors(state) <= set(states), f"{name} points at a state outside its scope"
        assert reachable(states, scope["StartAt"]) == set(states)


def test_every_path_ends_in_succeed_or_fail(definition):
    for name, state in definition["States"].items():
        if state["Type"] in {"Succeed", "Fail"}:
            continue
        assert not state.get("End"), f"{name} ends the execution without a Succeed or Fail state"
        assert successors(state), f"{name} has nowhere to go"
    # An iteration ends where its item's result is made: End, not a Succeed (it would end only the item).
    for scope in list(state_scopes(definition))[1:]:
        for name, state in scope["States"].items():
            assert state["Type"] not in {"Succeed", "Fail"}, name
            assert state.get("End") or successors(state), f"{name} has nowhere to go"
            assert not (state.get("End") and "Next" in state), name


def test_every_task_has_timeout_retry_with_jitter_and_catch(definition):
    tasks = [(name, state) for name, state in iter_states(definition) if state["Type"] == "Task"]
    assert len(tasks) > len([s for s in definition["States"].values() if s["Type"] == "Task"])
    for name, state in tasks:
        assert 0 < state["TimeoutSeconds"] <= 1800, name
        assert state["Retry"], f"{name} has no Retry"
        for retrier in state["Retry"]:
            assert retrier["JitterStrategy"] == "FULL", name
            assert retrier["BackoffRate"] >= 1, name
            # A cap matters where the delay grows; a constant interval (BackoffRate 1) needs none.
            if retrier["BackoffRate"] > 1 or "MaxDelaySeconds" in retrier:
                assert retrier["MaxDelaySeconds"] >= retrier["IntervalSeconds"], name
            assert "States.ALL" not in retrier["ErrorEquals"], f"{name} retries every error"


def test_every_failure_is_caught_by_its_state_or_its_map(definition):
    outer = definition["States"]
    for name, state in outer.items():
        if state["Type"] in ("Task", "Map"):
            assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name
    assert outer["NotifyFailure"]["Catch"][-1]["Next"] == "ExecutionFailed"
    # In an iteration a Task either records its own failure as the item's result, or leaves it to the Map.
    for map_name, map_state in outer.items():
        for name, state in map_state.get("ItemProcessor", {}).get("States", {}).items():
            if state["Type"] == "Task" and "Catch" not in state:
                assert map_state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], (map_name, name)
            elif state["Type"] == "Task":
                assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name


# The Pass states that turn a failure into the {Error, Cause} NotifyFailure and ExecutionFailed read.
FAILURE_RECORDERS = {
    "RecordBucketListTooLarge",
    "RecordWatchlistNotFetched",
    "RecordTooManyStockFetchFailures",
    "RecordGlueRunFailed",
    "RecordCountriesNotWritten",
    "RecordTooManyCountryFailures",
}


def test_every_failure_reaches_notify_failure_as_error_and_cause(definition):
    states = definition["States"]
    into_failure = [
        (name, catcher)
        for name, catcher in top_level_catchers(definition)
        if catcher["Next"] in ("NotifyFailure", "ExecutionFailed") and name != "NotifyFailure"
    ]
    assert into_failure and all(catcher["ResultPath"] == "$" for _, catcher in into_failure)
    recorders = {n: s for n, s in states.items() if s.get("Next") == "NotifyFailure" and s["Type"] == "Pass"}
    assert set(recorders) == FAILURE_RECORDERS
    for recorder in recorders.values():
        assert "ResultPath" not in recorder, recorder
        assert set(recorder["Parameters"]) in ({"Error", "Cause.$"}, {"Error.$", "Cause.$"}), recorder
        assert recorder["Parameters"].get("Error", "Error").endswith("Error")


def test_a_caught_failure_never_ends_in_success_and_its_error_reaches_the_recorder(definition):
    states = definition["States"]
    succeeds = {name for name, state in states.items() if state["Type"] == "Succeed"}
    for name, catcher in top_level_catchers(definition):
        after = reachable(states, catcher["Next"])
        assert "ExecutionFailed" in after and not after & succeeds, (name, catcher["Next"])
        # Whatever else fails is told to the stack's topic on the way (an invalid input fails at once).
        if catcher["ErrorEquals"] == ["States.ALL"] and name != "NotifyFailure":
            assert "NotifyFailure" in after, name
        # A failure kept beside the state's input (not replacing it) must be read by a recorder after it.
        if catcher["ResultPath"] not in ("$", None):
            readers = [r for r in after & FAILURE_RECORDERS if catcher["ResultPath"] in json.dumps(states[r])]
            assert readers, (name, catcher["ResultPath"])


def test_every_item_of_a_map_ends_with_its_outcome_and_a_caught_failure_as_failed(definition):
    for map_name, map_state in definition["States"].items():
        if "ItemProcessor" not in map_state or map_state["ResultPath"] is None:
            continue
        states = map_state["ItemProcessor"]["States"]
        ends = {name: state for name, state in states.items() if state.get("End")}
        item_key = next(
            key for key in map_state["ItemSelector"] if key.removesuffix(".$") in ("symbol", "country")
        )
        for name, state in ends.items():
            assert state["Type"] == "Pass" and item_key in state["Parameters"], (map_name, name)
            assert state["Parameters"]["outcome"] in ("fetched", "written", "failed"), (map_name, name)
        for name, state in states.items():
            for catcher in state.get("Catch", []):
                outcomes = {
                    ends[e]["Parameters"]["outcome"] for e in reachable(states, catcher["Next"]) & set(ends)
                }
                # A catch keeping the error records the item as failed; one dropping it is a recovery.
                if catcher["ResultPath"] is not None:
                    assert outcomes == {"failed"}, (name, catcher["Next"])
                else:
                    assert outcomes - {"failed"}, (name, catcher["Next"])


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
    # Every state of the iterations counted too: the watchlist rework took the definition from 40 to 79.
    assert len(all_states(definition)) <= 79


def intrinsic_arguments(expression: str, function: str) -> list[str]:
    """The arguments of `States.<function>(...)` as written, a nested call kept whole as one."""
    prefix = f"States.{function}("
    assert expression.startswith(prefix) and expression.endswith(")"), expression
    arguments, current, depth, quoted, escaped = [], "", 0, False, False
    for char in expression[len(prefix) : -1]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and char == ",":
            arguments.append(current.strip())
            current = ""
            continue
        current += char
    return [*arguments, current.strip()]


def literal(argument: str) -> str:
    assert argument.startswith("'") and argument.endswith("'"), argument
    return argument[1:-1]


def test_the_intrinsic_argument_reader_splits_only_top_level_commas():
    assert intrinsic_arguments("States.Format('{}, {}', $.a, States.ArrayGetItem($.b, 0))", "Format") == [
        "'{}, {}'",
        "$.a",
        "States.ArrayGetItem($.b, 0)",
    ]


def test_the_glue_run_reads_the_folder_the_watchlist_writes_and_the_pending_copies(definition, template):
    states = all_states(definition)
    glue = states["RunStockDataGlueJob"]
    assert glue["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    raw_path = glue["Parameters"]["Arguments"]["--raw_path.$"]
    folder, bucket, *folder_arguments = intrinsic_arguments(raw_path, "Format")
    assert bucket == "$.request.batchBucketName" and "$$.Execution.Name" in folder_arguments
    assert literal(folder).startswith("s3://{}/raw/") and literal(folder).endswith("/")
    # Each symbol's object sits directly in this execution's folder: the job lists <raw_path>*.json.
    key, *key_arguments = intrinsic_arguments(
        states["FetchStockData"]["ResultSelector"]["rawObjectKey.$"], "Format"
    )
    assert literal(key) == literal(folder).removeprefix("s3://{}/") + "{}.json"
    assert key_arguments == [*folder_arguments, "$.Payload.metadata.symbol"]
    assert states["PutRawStockData"]["Parameters"]["Key.$"] == "$.fetched.rawObjectKey"
    # The copies rebuild the key from the symbol the iteration recorded: the one the key was made of.
    assert states["RecordStockDataFetched"]["Parameters"]["symbol.$"] == "$.fetched.document.metadata.symbol"
    assert "].symbol" in definition["States"]["ListUncuratedRawObjects"]["Parameters"]["symbols.$"]
    for map_name in ("FetchWatchlist", "KeepUncuratedRawObjects"):
        assert states[map_name]["ItemSelector"]["bucket.$"] == bucket, map_name
    assert states["PutRawStockData"]["Parameters"]["Bucket.$"] == "$.bucket"
    assert states["GetUncuratedRawObject"]["Parameters"] == {
        "Bucket.$": "$.bucket",
        "Key.$": "$.rawObjectKey",
    }
    # A failed run's copies: the same objects, by the same key, under the folder the next run also reads.
    kept, *kept_arguments = intrinsic_arguments(
        states["KeepUncuratedRawObjects"]["ItemSelector"]["rawObjectKey.$"], "Format"
    )
    assert (kept, kept_arguments) == (key, [*folder_arguments, "$$.Map.Item.Value"])
    assert states["KeepUncuratedRawObjects"]["ItemsPath"] == "$.uncurated.symbols"
    pending = states["PutPendingRawObject"]["Parameters"]
    pending_key, *pending_arguments = intrinsic_arguments(pending["Key.$"], "Format")
    assert pending["Bucket"] == "${DataBucketName}" and pending["Body.$"] == "$.raw.document"
    assert pending_arguments == ["$$.Execution.Name", "$.symbol"]
    substitutions = template["Resources"]["DataPipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["DataBucketName"] == {"Ref": "DataBucket"}
    pending_path = template["Resources"]["StockDataGlueJob"]["Properties"]["DefaultArguments"][
        "--pending_path"
    ]
    folder_of_pending, _, name_of_pending = literal(pending_key).partition("execution=")
    assert pending_path == {"Fn::Sub": f"s3://${{DataBucket}}/{folder_of_pending}"}
    script = (REPO / "glue" / "stock_data_etl.py").read_text()
    assert "/execution=*/*.json" in script
    assert fnmatch.fnmatchcase(f"execution={name_of_pending.format('name', 'MSFT')}", "execution=*/*.json")
    assert states["SummarizeEtlRun"]["Parameters"]["rawObjects.$"] == raw_path


def test_no_fixed_waits_longer_than_a_poll(definition):
    waits = [s for _, s in iter_states(definition) if s["Type"] == "Wait"]
    assert all(w.get("Seconds", 0) <= 10 for w in waits)
    # The fetch slots wait for a time the validator computed, not for a fixed interval.
    assert {w["TimestampPath"] for w in waits if "Seconds" not in w} == {"$.notBefore"}


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


@pytest.mark.parametrize("where", ["outer state", "state of a Map iteration"])
def test_asl_linter_catches_a_broken_definition(definition_text, where):
    broken = json.loads(PLACEHOLDER.sub("x", definition_text))
    if where == "outer state":
        broken["States"]["RouteByDraw"]["Choices"][0]["NumericEquals"] = "one"
    else:
        broken["States"]["FetchWatchlist"]["ItemProcessor"]["States"]["FetchStockData"]["TimeoutSeconds"] = (
            "soon"
        )
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


# A JSONPath filter that matches nothing fails its state (see the Comments of the states that hold one), so
# each must be entered only once a Choice has seen a match: on a rule testing a States.ArrayContains result,
# or on a Default whose rules ruled out the only other value the Map's items can carry (a Map's items are
# never none: the validator refuses an empty list).
FILTER = re.compile(r"\$\.(\w+)\[\?\(@\.(\w+) == '(\w+)'\)\]")
CONTAINS = re.compile(r"^States\.ArrayContains\(\$\.(\w+)\[\*\]\.(\w+), '(\w+)'\)$")
Fact = tuple[str, str, str]  # array, field, value: "an item of $.<array> has <field> == <value>"


def contains_variables(states: dict[str, Any], choice: str) -> dict[str, Fact]:
    """Variable -> the fact it holds at `choice`: from the Pass states computing States.ArrayContains into
    it that lead to the choice, where they all compute the same one."""
    found: dict[str, set[Fact]] = {}
    for name, state in states.items():
        for field, value in state.get("Parameters", {}).items() if state["Type"] == "Pass" else []:
            if (
                isinstance(value, str)
                and (match := CONTAINS.match(value))
                and choice in reachable(states, name)
            ):
                found.setdefault(f"{state['ResultPath']}.{field.removesuffix('.$')}", set()).add(
                    match.groups()
                )
    return {variable: facts.pop() for variable, facts in found.items() if len(facts) == 1}


def item_values(states: dict[str, Any]) -> dict[tuple[str, str], set[Any]]:
    """(array, field) -> every value an item of a Map's result can carry in it (None: may lack it)."""
    values: dict[tuple[str, str], set[Any]] = {}
    for state in states.values():
        if state["Type"] == "Map" and state.get("ResultPath"):
            ends = [s for s in state["ItemProcessor"]["States"].values() if s.get("End")]
            for field in {f for end in ends for f in end.get("Parameters", {}) if not f.endswith(".$")}:
                values[(state["ResultPath"].removeprefix("$."), field)] = {
                    end.get("Parameters", {}).get(field) for end in ends
                }
    return values


def transitions_proving(states: dict[str, Any], fact: Fact) -> frozenset[tuple[str, str]]:
    values = item_values(states)
    array, field, value = fact
    proving = set()
    for name, state in states.items():
        if state["Type"] != "Choice":
            continue
        contains = contains_variables(states, name)
        ruled_out = []  # facts every rule needs true, so false on the Default
        for index, rule in enumerate(state["Choices"]):
            held = contains.get(rule.get("Variable"))
            if held and rule.get("BooleanEquals") is True:
                ruled_out.append(held)
                if held == fact:
                    proving.add((name, f"choice {index}"))
        for other_array, other_field, other_value in ruled_out:
            if (other_array, other_field) == (array, field) and values.get((array, field)) == {
                value,
                other_value,
            }:
                proving.add((name, "Default"))
    return frozenset(proving)


def test_every_filter_is_entered_only_after_a_choice_has_seen_it_match(definition, definition_text):
    filters = 0
    for scope in state_scopes(definition):
        states = scope["States"]
        for name, state in states.items():
            for match in FILTER.finditer(json.dumps(state)):
                proving = transitions_proving(states, match.groups())
                assert proving, (name, match.group(0))
                assert name not in reachable(states, scope["StartAt"], proving), (name, match.group(0))
                filters += 1
    assert filters == definition_text.count("[?(") > 0  # every filter of the definition read and checked


@pytest.mark.parametrize("breakage", ["failures listed when none was seen", "a third outcome"])
def test_the_filter_check_finds_an_unguarded_filter(definition, breakage):
    broken = json.loads(json.dumps(definition))
    if breakage == "failures listed when none was seen":
        broken["States"]["RecordNoStockFetchFailures"]["Next"] = "ListStockFetchFailures"
    else:
        # "No symbol failed" no longer means "one was fetched": the Glue run's failure path may find none.
        iteration = broken["States"]["FetchWatchlist"]["ItemProcessor"]["States"]
        iteration["RecordStockDataNotFetched"]["Parameters"]["outcome"] = "skipped"
    with pytest.raises(AssertionError):
        test_every_filter_is_entered_only_after_a_choice_has_seen_it_match(broken, json.dumps(broken))


def test_the_notification_lists_sixty_countries_within_snss_message_size(definition):
    """The largest message the definition can publish on success: 60 countries (the input's maximum),
    one written with the longest ids Kinesis gives and 59 failed with 600-character causes (the functions'
    messages are shorter), the longest stream name and execution ARN. SNS takes 256 KiB."""
    from execution_input.rules import MAX_COUNTRIES_PER_EXECUTION

    publish = all_states(definition)["PublishRecordNotification"]["Parameters"]
    template, *arguments = intrinsic_arguments(publish["Message.$"], "Format")
    written = [
        {
            "country": "ae",
            "outcome": "written",
            "serviceCount": 999,
            "shardId": "shardId-000000000000",
            "sequenceNumber": "9" * 129,  # botocore: 0|([1-9]\d{0,128})
        }
    ]
    failed = [{"country": "zz", "outcome": "failed", "error": "E" * 80, "cause": "c" * 600}] * (
        MAX_COUNTRIES_PER_EXECUTION - 1
    )
    values = {
        "$.request.streamName": "s" * 128,
        "States.ArrayLength($.records.written)": "1",
        "States.ArrayLength($.request.countries)": str(MAX_COUNTRIES_PER_EXECUTION),
        "States.JsonToString($.records.written)": json.dumps(written, separators=(",", ":")),
        "States.JsonToString($.fetchFailures.failed)": json.dumps(failed, separators=(",", ":")),
        "$$.Execution.Id": "arn:aws:states:us-east-1:123456789012:execution:" + "m" * 80 + ":" + "n" * 80,
    }
    assert set(arguments) == set(values)
    message = literal(template)
    for argument in arguments:
        message = message.replace("{}", values[argument], 1)
    assert "{}" not in message
    assert len(message.encode()) < 256 * 1024 / 4  # a quarter of SNS's limit: no pointer needed
