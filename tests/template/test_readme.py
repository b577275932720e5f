"""The README's diagram is the state machine's: every transition drawn, those inside the Map iterations
too, none invented."""

import re

from conftest import all_states

EDGE = re.compile(r"^\s+(\w+) --> (\w+)$", re.MULTILINE)


def test_mermaid_diagram_matches_the_definition(repo, definition):
    readme = (repo / "README.md").read_text()
    diagram = re.search(r"```mermaid\n(.*?)```", readme, re.DOTALL).group(1)
    drawn = set(EDGE.findall(diagram))

    expected = set()
    for name, state in all_states(definition).items():
        targets = [c["Next"] for c in state.get("Choices", [])]
        targets += [state[k] for k in ("Next", "Default") if k in state]
        # Catches into NotifyFailure are on every Task; the README says so instead of drawing them.
        targets += [c["Next"] for c in state.get("Catch", []) if "NotifyFailure" not in (c["Next"], name)]
        expected |= {(name, t) for t in targets}
    assert drawn == expected


def test_readme_gives_the_two_commands(repo):
    readme = (repo / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (repo / ".ci" / "run").read_text()
