"""Hook asl-parse-tree: a definition is parsed by ANTLR once and kept, while every execution still gets
evaluation components of its own; a definition with a syntax error is refused every time."""

import json

import pytest
from emulation_helpers import task_attempts, unique
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def test_a_definition_is_parsed_once_and_each_parse_gets_fresh_components(emulation) -> None:
    first_program, first_tree = AmazonStateLanguageParser.parse(DEFINITION)
    second_program, second_tree = AmazonStateLanguageParser.parse(DEFINITION)

    assert second_tree is first_tree
    assert second_program is not first_program


def test_a_syntax_error_is_refused_every_time(emulation) -> None:
    broken = '{"StartAt": "Done", "States": {'
    for _ in range(2):
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse(broken)


def test_executions_of_one_definition_keep_their_own_retry_counts(emulation, create_state_machine) -> None:
    machine = {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": unique("missing-bucket"), "Key": "k"},
                "Retry": [
                    {"ErrorEquals": ["S3.NoSuchBucketException"], "IntervalSeconds": 1, "MaxAttempts": 2}
                ],
                "End": True,
            }
        },
    }
    arn = create_state_machine(machine)
    for _ in range(2):
        result = emulation.run_execution(arn, {})
        assert result.error == "S3.NoSuchBucketException"
        assert task_attempts(result, "Get") == 3  # the first try and both retries, in each execution
