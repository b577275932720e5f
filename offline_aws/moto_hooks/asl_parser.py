"""Hooks on moto: Parsing state machine definitions.
Guarded through boto3 by tests/offline_tool/hooks/test_hook_asl_parser.py.

18. asl-parse-tree: ...asl.parse.asl_parser.AmazonStateLanguageParser.parse -> a definition's ANTLR parse
   tree is kept (per definition text, the latest 64) and only turned into evaluation components again.
   moto parses the whole definition with ANTLR's Python runtime at CreateStateMachine and again at every
   StartExecution: about 0.2 s of CPU for a 40-state definition, most of an execution's cost offline.
   Every execution still gets components of its own (retry counts, Map iterations), as before; a
   definition with a syntax error is parsed, and refused, each time.
"""

import threading
from collections import OrderedDict
from typing import Any

from offline_aws.moto_hooks.core import SFN, HookPoint, original, replace

PARSER = f"{SFN}.asl.parse.asl_parser"
HOOK_POINTS: tuple[HookPoint, ...] = (
    HookPoint("asl-parse-tree", PARSER, "AmazonStateLanguageParser.parse", ("definition",)),
    HookPoint("asl-parse-tree", PARSER, "Preprocessor"),
)
KEPT_TREES = 64

_trees: "OrderedDict[str, Any]" = OrderedDict()
_lock = threading.Lock()


def install() -> None:
    from moto.stepfunctions.parser.asl.parse import asl_parser

    def parse(definition: str) -> tuple[Any, Any]:
        with _lock:
            tree = _trees.get(definition)
            if tree is not None:
                _trees.move_to_end(definition)
        if tree is None:
            program, tree = original("asl_parser.parse")(definition)  # raises on a syntax error
            with _lock:
                _trees[definition] = tree
                while len(_trees) > KEPT_TREES:
                    _trees.popitem(last=False)
            return program, tree
        return asl_parser.Preprocessor().visit(tree), tree

    replace(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse), "asl_parser.parse")
