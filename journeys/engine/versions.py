"""Compiled versions: a journey version's graph in the shape the engine walks, compiled once per
process (versions are immutable)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from audiences.conditions import event_clauses

from ..graph import START
from ..keys import entry_key_property, without_same_key
from ..models import JourneyVersion
from ..nodes.base import get_node_type


@dataclass
class CompiledVersion:
    """A version's graph in the shape the engine walks: nodes by id, edges by (source, handle)."""

    id: int
    journey_id: int
    workspace_id: int
    graph: dict
    settings: dict
    nodes: dict[str, dict]
    edges: dict[tuple[str, str], str]
    start_id: str | None

    @classmethod
    def build(cls, *, id: int, journey_id: int, workspace_id: int, graph: dict, settings: dict):
        nodes = {n["id"]: n for n in graph.get("nodes", []) if isinstance(n, dict) and "id" in n}
        edges = {
            (e.get("source"), e.get("source_handle")): e.get("target")
            for e in graph.get("edges", [])
            if isinstance(e, dict)
        }
        # A handle its node type says falls through when unconnected (a failed send goes on along
        # next) leads where the other handle leads.
        for nid, node in nodes.items():
            node_type = get_node_type(node.get("type"))
            if node_type is None:
                continue
            for handle, instead in node_type.fallthrough(node.get("config") or {}).items():
                if (nid, handle) not in edges and (nid, instead) in edges:
                    edges[(nid, handle)] = edges[(nid, instead)]
        start = next((nid for nid, n in nodes.items() if n.get("type") == START), None)
        return cls(id, journey_id, workspace_id, graph, settings or {}, nodes, edges, start)

    @property
    def exit_conditions(self) -> list[dict]:
        return [without_same_key(c) for c in self.settings.get("exit_conditions") or []]

    @cached_property
    def checks_nothing(self) -> bool:
        """No exit condition and no goal: the check the engine makes before every node has nothing
        to do (decided once per process; a version never changes)."""
        return not self.exit_conditions and not self.goals

    @property
    def key_property(self) -> str | None:
        return entry_key_property(self.settings)

    @property
    def same_key_exits(self) -> list[bool]:
        """Per exit condition: only events carrying the enrollment's key count (keyed journeys)."""
        keyed = self.key_property is not None
        return [keyed and isinstance(c, dict) and c.get("same_key") is True for c in self.settings.get("exit_conditions") or []]

    def key_loaders(self) -> list[dict]:
        """A clause filtering on the key property for each event a same_key exit condition or
        goal counts, so the facts load those events' properties (facts_for reads properties only
        for events a clause filters on)."""
        if self.key_property is None:
            return []
        names = {c["event"] for c, same in zip(self.exit_conditions, self.same_key_exits, strict=True) if same}
        for goal in self.goals:
            if goal.get("same_key") is True and isinstance(goal.get("condition"), dict):
                names |= {clause["event"] for clause in event_clauses(goal["condition"])}
        where = [{"property": self.key_property, "op": "exists"}]
        return [{"event": name, "where": where} for name in sorted(names)]

    @property
    def goals(self) -> list[dict]:
        return list(self.settings.get("goals") or [])

    def conditions(self) -> list[dict]:
        """Every condition this version may evaluate (exit conditions, goals, and what each node's
        type says its config evaluates: NodeType.conditions), so facts load once for all of them."""
        from .goals import value_clauses  # goals imports this module

        found = [*self.exit_conditions, *self.key_loaders(), *(g.get("condition") for g in self.goals),
                 *value_clauses(self.goals)]
        for node in self.nodes.values():
            node_type = get_node_type(node.get("type"))
            if node_type is not None:
                found += node_type.conditions(node.get("config") or {})
        return [c for c in found if isinstance(c, dict)]


_versions: dict[int, CompiledVersion] = {}


def compiled_version(version_id: int) -> CompiledVersion | None:
    """Versions are immutable, so each process compiles each one once."""
    version = _versions.get(version_id)
    if version is None:
        row = (
            JourneyVersion.objects.unscoped()
            .filter(id=version_id)
            .values("id", "journey_id", "workspace_id", "graph", "settings")
            .first()
        )
        if row is None:
            return None
        version = CompiledVersion.build(**row)
        if len(_versions) > 1000:
            _versions.clear()
        _versions[version_id] = version
    return version
