"""A journey graph's two checks: `graph_parse` (is it well-formed enough to store as a draft?) and
`graph_validate` (is it complete and correct enough to publish?). Both return every problem at
once and never raise for any JSON input."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .fields import is_number, nonempty_str, validating_for
from .nodes.base import get_node_type

MAX_NODE_ID = 100  # Enrollment.node_id / StepEvent.node_id column width
MAX_NODES = 500  # a canvas far beyond any real journey; keeps validation and diffing cheap
START = "start"


@dataclass(frozen=True)
class Problem:
    """One reason a journey cannot be published: API.md `{"node_id"|null, "field", "message"}`."""

    node_id: str | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _node_shape_problems(i: int, node: Any) -> list[Problem]:
    where = f"graph.nodes.{i}"
    if not isinstance(node, dict):
        return [Problem(None, where, "A node must be an object.")]
    node_id = node.get("id")
    if not nonempty_str(node_id) or len(node_id) > MAX_NODE_ID:
        return [Problem(None, f"{where}.id", f"A node needs an id of 1–{MAX_NODE_ID} characters.")]
    problems = []
    if not isinstance(node.get("type"), str) or get_node_type(node["type"]) is None:
        problems.append(
            Problem(node_id, f"{where}.type", f"Unknown node type {node.get('type')!r}.")
        )
    if "config" in node and not isinstance(node["config"], dict):
        problems.append(Problem(node_id, f"{where}.config", "The config must be an object."))
    elif problems == [] and isinstance(node.get("config"), dict):
        node_type = get_node_type(node["type"])
        problems += [
            Problem(node_id, f"{where}.config.{error.field}", error.message)
            for error in node_type.link_errors(node["config"])
        ]
    if "name" in node and node["name"] is not None and not isinstance(node["name"], str):
        problems.append(Problem(node_id, f"{where}.name", "The name must be a string."))
    position = node.get("position")
    if position is not None and not (
        isinstance(position, dict) and is_number(position.get("x")) and is_number(position.get("y"))
    ):
        problems.append(
            Problem(
                node_id, f"{where}.position", 'The position must be {"x": number, "y": number}.'
            )
        )
    return problems


def graph_parse(graph: Any) -> list[Problem]:
    """Well-formedness, required even of a draft: nodes + edges lists, node objects with an id
    and a known type, config objects, unique ids, edge objects, and no link from a node's config
    to another workspace's rows (run under `validating_for` to check those)."""
    if (
        not isinstance(graph, dict)
        or not isinstance(graph.get("nodes"), list)
        or not isinstance(graph.get("edges"), list)
    ):
        return [Problem(None, "graph", 'The graph must be {"nodes": [...], "edges": [...]}.')]
    # Other top-level keys (a canvas viewport, say) are kept as sent: they do not change the run.
    if len(graph["nodes"]) > MAX_NODES:
        return [Problem(None, "graph.nodes", f"At most {MAX_NODES} nodes.")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, node in enumerate(graph["nodes"]):
        shape = _node_shape_problems(i, node)
        problems += shape
        node_id = node.get("id") if isinstance(node, dict) else None
        if isinstance(node_id, str) and node_id in seen:
            problems.append(
                Problem(node_id, f"graph.nodes.{i}.id", f"Duplicate node id {node_id!r}.")
            )
        elif isinstance(node_id, str):
            seen.add(node_id)
    for i, edge in enumerate(graph["edges"]):
        if not isinstance(edge, dict):
            problems.append(Problem(None, f"graph.edges.{i}", "An edge must be an object."))
    return problems


def graph_nodes(graph: dict) -> dict[str, dict]:
    """Node id → node, for a graph that passed `graph_parse`."""
    return {node["id"]: node for node in graph.get("nodes", [])}


def node_handles(node: dict) -> list[str]:
    node_type = get_node_type(node.get("type"))
    return node_type.handles(node.get("config") or {}) if node_type else []


def _edge_problems(
    graph: dict, nodes: dict[str, dict]
) -> tuple[list[Problem], dict[str, list[tuple[int, str]]]]:
    """Edges from unknown nodes/handles, to unknown nodes or the start, or doubling a handle.
    Returns the problems and the adjacency (source → [(edge index, target)]) of the good edges."""
    problems: list[Problem] = []
    adjacency: dict[str, list[tuple[int, str]]] = {node_id: [] for node_id in nodes}
    used: dict[tuple[str, str], int] = {}
    for i, edge in enumerate(graph["edges"]):
        if not isinstance(edge, dict):
            continue  # reported by graph_parse
        where = f"graph.edges.{i}"
        source, handle, target = edge.get("source"), edge.get("source_handle"), edge.get("target")
        if not isinstance(source, str) or source not in nodes:
            problems.append(
                Problem(None, f"{where}.source", f"The edge starts at an unknown node {source!r}.")
            )
            continue
        ok = True
        handles = node_handles(nodes[source])
        if handle not in handles:
            offered = ", ".join(handles) if handles else "none"
            problems.append(
                Problem(
                    source,
                    f"{where}.source_handle",
                    f"Unknown handle {handle!r} (this node has: {offered}).",
                )
            )
            ok = False
        if not isinstance(target, str) or target not in nodes:
            problems.append(
                Problem(source, f"{where}.target", f"The edge ends at an unknown node {target!r}.")
            )
            continue
        if nodes[target].get("type") == START:
            problems.append(
                Problem(source, f"{where}.target", "Nothing may lead back into the start node.")
            )
            ok = False
        if ok and (source, handle) in used:
            problems.append(
                Problem(
                    source,
                    f"{where}.source_handle",
                    f"Handle {handle!r} already leads somewhere (edge {used[(source, handle)]}); "
                    "one edge per handle.",
                )
            )
            ok = False
        if ok:
            used[(source, handle)] = i
            adjacency[source].append((i, target))
    return problems, adjacency


def _cycle_problems(adjacency: dict[str, list[tuple[int, str]]]) -> list[Problem]:
    """One problem per edge that closes a loop (iterative DFS; back edges)."""
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in adjacency:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(adjacency[root]))]
        path = [root]
        while stack:
            node_id, edges = stack[-1]
            step = next(edges, None)
            if step is None:
                state[node_id] = 2
                stack.pop()
                path.pop()
                continue
            i, target = step
            if state.get(target) == 1:
                loop = [*path[path.index(target) :], target]
                problems.append(
                    Problem(
                        node_id,
                        f"graph.edges.{i}",
                        f"This edge closes a loop ({' → '.join(loop)}); journeys cannot loop.",
                    )
                )
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(adjacency[target])))
                path.append(target)
    return problems


def _reachable(start_id: str, adjacency: dict[str, list[tuple[int, str]]]) -> set[str]:
    seen, frontier = {start_id}, [start_id]
    while frontier:
        for _, target in adjacency[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def graph_warnings(graph: Any) -> list[Problem]:
    """What does not block publishing but deserves a look: a handle left unconnected that its node
    type sends elsewhere (a failed send going on along next) instead of ending the journey."""
    if graph_parse(graph):
        return []
    connected = {
        (edge.get("source"), edge.get("source_handle"))
        for edge in graph["edges"]
        if isinstance(edge, dict)
    }
    warnings = []
    for node in graph["nodes"]:
        node_type = get_node_type(node["type"])
        config = node.get("config") or {}
        for handle, instead in node_type.fallthrough(config).items():
            if (node["id"], handle) in connected:
                continue
            goes = (
                f"goes on along {instead!r}"
                if (node["id"], instead) in connected
                else "ends the journey"
            )
            warnings.append(
                Problem(
                    node["id"],
                    f"handles.{handle}",
                    f"{handle.capitalize()} is not connected: a customer whose send fails {goes}, "
                    "and the failure is counted on this node. Connect it to decide otherwise.",
                )
            )
    return warnings


def graph_validate(
    *, graph: Any, settings: dict | None = None, workspace=None, journey_id: int | None = None
) -> list[Problem]:
    """Every reason the graph cannot be published. Unconnected handles are fine: API.md says a
    handle left unconnected ends the journey there (completed)."""
    problems = graph_parse(graph)
    if problems and any(p.field == "graph" for p in problems):
        return problems
    # Structural checks below only use nodes that parsed (an id, unique); shape problems are listed.
    nodes: dict[str, dict] = {}
    for node in graph["nodes"]:
        if isinstance(node, dict) and nonempty_str(node.get("id")) and node["id"] not in nodes:
            nodes[node["id"]] = node

    starts = [node_id for node_id, node in nodes.items() if node.get("type") == START]
    if not starts:
        problems.append(Problem(None, "graph.nodes", "A journey needs exactly one start node."))
    for extra in starts[1:]:
        problems.append(
            Problem(extra, "type", "A journey has exactly one start node; this is another.")
        )

    with validating_for(workspace, journey_id):
        for node_id, node in nodes.items():
            node_type = get_node_type(node.get("type"))
            config = node.get("config", {})
            if node_type is None or not isinstance(config, dict):
                continue  # reported by graph_parse
            for error in node_type.validate(config, in_journey_settings=settings):
                problems.append(
                    Problem(
                        node_id, f"config.{error.field}" if error.field else "config", error.message
                    )
                )

    edge_problems, adjacency = _edge_problems(graph, nodes)
    problems += edge_problems
    problems += _cycle_problems(adjacency)
    if len(starts) == 1:
        reachable = _reachable(starts[0], adjacency)
        problems += [
            Problem(node_id, "node", "Not reachable from the start node.")
            for node_id in nodes
            if node_id not in reachable
        ]
    return problems
