"""The shared layer's requirements: exact pins, closed over their dependencies but for the runtime's own.

The layer installs its list without resolving dependencies (layers/requests/Makefile), so a dependency
missing from the list would be missing on Lambda unless the python3.11 runtime provides it.
"""

import importlib.metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "requests"
# Lambda's python3.11 runtime on x86_64, for the dependencies' environment markers.
LAMBDA_MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.0",
    "python_version": "3.11",
    "sys_platform": "linux",
}


def listed(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def layer_requirements() -> dict[str, Requirement]:
    return {
        canonicalize_name(requirement.name): requirement
        for requirement in map(Requirement, listed(LAYER / "requirements.txt"))
    }


def runtime_provided() -> set[str]:
    return {canonicalize_name(name) for name in listed(LAYER / "runtime-provided.txt")}


def pinned_version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    assert specifier.operator == "==", f"{requirement} is not pinned exactly"
    return specifier.version


def test_the_layer_pins_what_the_tests_run():
    for requirement in layer_requirements().values():
        assert importlib.metadata.version(requirement.name) == pinned_version(requirement), requirement


def test_every_dependency_is_in_the_layer_or_the_runtime():
    pinned = layer_requirements()
    runtime = runtime_provided()
    assert not runtime & set(pinned), "the layer bundles what the runtime provides"
    for requirement in pinned.values():
        for dependency in map(Requirement, importlib.metadata.requires(requirement.name) or []):
            needed = dependency.marker is None or any(
                dependency.marker.evaluate({**LAMBDA_MARKER_ENVIRONMENT, "extra": extra})
                for extra in ("", *requirement.extras)
            )
            name = canonicalize_name(dependency.name)
            if not needed or name in runtime:
                continue
            assert name in pinned, (
                f"{requirement.name} needs {dependency}, in neither the layer nor the runtime"
            )
            version = pinned_version(pinned[name])
            assert dependency.specifier.contains(version, prereleases=True), f"{dependency} vs {version}"


def test_functions_bundle_nothing_the_layer_or_the_runtime_has():
    shared = set(layer_requirements()) | runtime_provided()
    for requirements in sorted((REPO / "functions").glob("*/requirements.txt")):
        names = {canonicalize_name(Requirement(line).name) for line in listed(requirements)}
        assert not names & shared, f"{requirements.parent.name} bundles {sorted(names & shared)}"
