"""Hook math-random: States.MathRandom as AWS documents it (end exclusive, bounds rounded)."""

DRAWS = 300


def draws(emulation, create_state_machine, start, end) -> set[int]:
    machine = {
        "StartAt": "Draw",
        "States": {
            "Draw": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Parameters": {"start.$": "$.start", "end.$": "$.end"},
                "Iterator": {
                    "StartAt": "One",
                    "States": {
                        "One": {
                            "Type": "Pass",
                            "Parameters": {"draw.$": "States.MathRandom($.start, $.end)"},
                            "OutputPath": "$.draw",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    result = emulation.run_execution(
        create_state_machine(machine), {"items": list(range(DRAWS)), "start": start, "end": end}
    )
    assert result.status == "SUCCEEDED", result.cause
    return set(result.output)


def test_the_end_is_exclusive(emulation, create_state_machine) -> None:
    # The original input's (1, 3) picks ETL one time in two on AWS, not one in three.
    assert draws(emulation, create_state_machine, 1, 3) == {1, 2}


def test_non_integer_bounds_are_rounded_to_the_nearest_integer(emulation, create_state_machine) -> None:
    # 0.5 -> 1 and 2.5 -> 3 (half up, as Java rounds); moto truncated them to 0 and 2.
    assert draws(emulation, create_state_machine, 0.5, 2.5) == {1, 2}


def test_the_emulations_rounding_agrees_with_the_execution_inputs() -> None:
    # Two owners on purpose: the general tool cannot import the project's schema.
    from execution_input import math_random_bound as validator_bound
    from offline_aws.moto_hooks.intrinsics import math_random_bound

    values = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1.49, 3, -7, 2**31 - 1]
    assert [math_random_bound(v, "start") for v in values] == [validator_bound(v) for v in values]
