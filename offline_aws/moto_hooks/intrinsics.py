"""Hooks on moto: Intrinsic functions.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_intrinsics.py.

14. math-random: ...math_operations.math_random.MathRandom._eval_body -> `States.MathRandom(start, end)` as
   AWS documents it: start inclusive, end exclusive, non-integer bounds rounded to the nearest integer
   (moto includes the end and truncates).
"""

import math
import random
from typing import Any

from offline_aws.moto_hooks.core import SFN, HookPoint, replace

HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint(
        "math-random",
        f"{SFN}.asl.component.intrinsic.function.statesfunction.math_operations.math_random",
        "MathRandom._eval_body",
        ("self", "env"),
    ),
)


def math_random_bound(value: Any, argument: str) -> int:
    """A MathRandom argument as AWS takes it: a number, rounded half up (Java's Math.round)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Expected a number for {argument}, but got: '{value}'.")
    return math.floor(value + 0.5)


def install() -> None:
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.math_operations import (
        math_random,
    )

    def eval_body(self: Any, env: Any) -> None:
        self.argument_list.eval(env=env)
        args = env.stack.pop()
        seed = math_random_bound(args.pop(), "seed") if self.argument_list.size == 3 else None
        end = math_random_bound(args.pop(), "end")
        start = math_random_bound(args.pop(), "start")
        if start >= end:
            raise ValueError(f"States.MathRandom needs start < end, got {start} and {end}.")
        env.stack.append(random.Random(seed).randrange(start, end))

    replace(math_random.MathRandom, "_eval_body", eval_body, "intrinsic.MathRandom._eval_body")
