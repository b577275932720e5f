"""Guards for the hook points themselves: each hooked moto attribute exists with the expected signature,
and each hook family documents its hooks and names the test module guarding their behaviour."""

import re
from pathlib import Path

import pytest

from offline_aws import moto_hooks
from offline_aws.moto_hooks import HOOK_POINTS, HookPoint

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).parent


@pytest.mark.parametrize("point", HOOK_POINTS, ids=lambda p: f"{p.hook}:{p.attribute}")
def test_hook_point_matches_moto(point: HookPoint) -> None:
    assert point.problem() is None


@pytest.mark.parametrize("family", moto_hooks.FAMILIES, ids=lambda f: f.__name__.rsplit(".", 1)[-1])
def test_each_family_documents_exactly_its_own_hooks(family) -> None:
    documented = set(re.findall(r"^\d+\. ([a-z-]+):", family.__doc__ or "", flags=re.MULTILINE))
    assert documented == {point.hook for point in family.HOOK_POINTS}


@pytest.mark.parametrize("family", moto_hooks.FAMILIES, ids=lambda f: f.__name__.rsplit(".", 1)[-1])
def test_each_family_names_a_test_module_whose_docstring_names_its_hooks(family) -> None:
    named = re.findall(r"tests/offline_tool/hooks/(test_hook_\w+\.py)", family.__doc__ or "")
    assert len(named) == 1, f"{family.__name__} names no test module"
    docstring = (HERE / named[0]).read_text().split('"""')[1]
    assert {point.hook for point in family.HOOK_POINTS if point.hook not in docstring} == set()


def test_no_hook_point_is_claimed_by_two_families() -> None:
    attributes = [(point.module, point.attribute) for point in moto_hooks.HOOK_POINTS]
    assert len(attributes) == len(set(attributes))


def test_a_changed_signature_is_reported() -> None:
    point = HookPoint(
        "lambda-run", "moto.awslambda.models", "LambdaFunction._invoke_lambda", ("self", "payload")
    )
    assert "takes ('self', 'event')" in (point.problem() or "")
    assert "is gone" in (HookPoint("x", "moto.awslambda.models", "NoSuchThing").problem() or "")


def test_the_hooks_are_installed_by_the_emulation(emulation) -> None:
    assert moto_hooks.is_installed()
    assert moto_hooks.hook_point_problems() == []


def test_moto_is_pinned_to_one_exact_version() -> None:
    pins = re.findall(
        r"^moto\[server\]==([\d.]+)$", (REPO / "requirements-dev.txt").read_text(), flags=re.MULTILINE
    )
    assert pins == ["5.2.5"]
