"""The engine knows node types only through the registry: a node type says which conditions its
config evaluates (NodeType.conditions), and the engine loads their facts with the batch."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import journeys.engine
from journeys.engine import advance
from journeys.enrollments import enrollments_create
from journeys.nodes.base import REGISTRY, Next, NodeType, Result, register
from tests.engine.helpers import chain, customers, enrollment, node, passed, published, send_events

ENGINE_DIR = Path(journeys.engine.__file__).parent


class PurchaseGate(NodeType):
    """A condition-evaluating type the engine has never heard of: `yes` when the customer matches
    config["condition"] (here an event condition, whose events only load when it is declared)."""

    type = "test_purchase_gate"
    default_config: dict = {}

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list:
        return []

    def handles(self, config: dict[str, Any]) -> list[str]:
        return ["yes", "no"]

    def conditions(self, config: dict[str, Any]) -> list[dict]:
        return [config["condition"]]

    def execute(self, ctx) -> Result:
        return Next("yes" if ctx.matches(ctx.config["condition"]) else "no")


@pytest.fixture
def purchase_gate():
    register(PurchaseGate)
    yield PurchaseGate
    REGISTRY.pop(PurchaseGate.type, None)


def test_a_new_condition_node_type_gets_its_conditions_loaded_without_engine_changes(workspace, purchase_gate):
    bought = {"event": "purchase", "within": "since_entry"}
    graph = chain(node("start", "start"), node("gate", purchase_gate.type, {"condition": bought}))
    journey = published(workspace, graph)
    buyer, browser = customers(workspace, 2)
    ids = enrollments_create(journey=journey, customer_ids=[buyer.id, browser.id]).ids
    send_events(workspace, {"customer_id": buyer.external_id, "name": "purchase"})

    advance(items=[[i, 0, None] for i in ids])

    assert ("gate", "yes") in passed(enrollment(journey, buyer))
    assert ("gate", "no") in passed(enrollment(journey, browser))


def _type_names_compared(path: Path, names: set[str]) -> list[str]:
    """`x == "branch"`, `t in ("branch", …)` and the like: a node type named in a comparison."""
    found = []
    for compare in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(compare, ast.Compare):
            continue
        for operand in [compare.left, *compare.comparators]:
            for constant in ast.walk(operand):
                if isinstance(constant, ast.Constant) and constant.value in names:
                    found.append(f"{path.name}:{compare.lineno} {constant.value!r}")
    return found


def test_the_engine_package_names_no_node_type():
    names = set(REGISTRY)  # the built-in types and the channel types channels_app registered
    assert {"branch", "event_branch", "message", "webhook"} <= names
    modules = sorted(ENGINE_DIR.glob("*.py"))
    assert [p.name for p in modules if p.name == "run.py"]
    named = [hit for path in modules for hit in _type_names_compared(path, names)]
    assert named == []
    # Nor does it import a node type's module, or the channels that register theirs.
    modules_imported = [
        f"{path.name}: {name}"
        for path in modules
        for stmt in ast.walk(ast.parse(path.read_text()))
        for name in (
            [a.name for a in stmt.names] if isinstance(stmt, ast.Import)
            else [stmt.module or ""] if isinstance(stmt, ast.ImportFrom) else []
        )
        if set(name.split(".")) & (names | {"channels_app"})
    ]
    assert modules_imported == []
