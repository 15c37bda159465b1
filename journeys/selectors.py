"""Reads for journey definitions: lists, validation, versions, publish impact, audit, node types."""

from __future__ import annotations

import json
from collections import Counter

from django.db.models import Count, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from audiences.models import Customer
from workspaces.models import Workspace

from .graph import Problem, graph_nodes, graph_parse, graph_validate, graph_warnings
from .models import Enrollment, Journey, JourneyAuditEntry, JourneyVersion
from .nodes.base import REGISTRY
from .nodes.journey import HANDED_OFF_FROM
from .settings_schema import settings_validate


def journeys_list(
    *,
    workspace: Workspace,
    status: str | None = None,
    search: str | None = None,
    tag: str | None = None,
) -> QuerySet:
    queryset = Journey.objects.for_workspace(workspace).select_related("live_version")
    if tag:
        queryset = queryset.filter(tags__contains=[tag])
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset


def journey_tags_list(*, workspace: Workspace) -> list[dict]:
    """Every tag on the workspace's journeys (archived ones too, as the list shows them), sorted,
    with how many journeys carry it. A workspace has dozens of journeys, not millions: one read
    of their tag arrays."""
    rows = Journey.objects.for_workspace(workspace).exclude(tags=[]).values_list("tags", flat=True)
    counts = Counter(tag for tags in rows for tag in tags)
    return [{"tag": tag, "journeys": n} for tag, n in sorted(counts.items())]


def journey_problems(*, journey: Journey) -> list[Problem]:
    """Everything that stops the draft from being published: graph, node configs and settings."""
    problems = graph_validate(
        graph=journey.graph,
        settings=journey.settings,
        workspace=journey.workspace,
        journey_id=journey.pk,
    )
    problems += [
        Problem(None, error.field, error.message)
        for error in settings_validate(settings=journey.settings, workspace=journey.workspace)
    ]
    return problems


def journey_warnings(*, journey: Journey) -> list[Problem]:
    """What `validate` reports without blocking `start` (graph.graph_warnings)."""
    return graph_warnings(journey.graph)


def journey_versions_list(*, journey: Journey) -> QuerySet:
    return (
        JourneyVersion.objects.for_workspace(journey.workspace_id)
        .filter(journey=journey)
        .select_related("published_by")
        .defer("graph", "settings")
    )


def journey_version_get(*, journey: Journey, number: int) -> JourneyVersion | None:
    return (
        JourneyVersion.objects.for_workspace(journey.workspace_id)
        .filter(journey=journey, number=number)
        .select_related("published_by")
        .first()
    )


def journey_audit_list(*, journey: Journey) -> QuerySet:
    return JourneyAuditEntry.objects.for_workspace(journey.workspace_id).filter(journey=journey)


def journey_publish_impact(*, journey: Journey) -> dict:
    """Per node of the draft against the live version: same / changed / removed / added; how many
    customers are in flight there on the live version (`in_flight`, of whom `waiting` hold a
    timer or wait for an event), how many are at earlier steps from which the draft leads here
    (`downstream`: they will reach the change), and what changed (`diff`); `affected` counts each
    customer once: at a changed or removed step, or on the way to a changed or added one. One
    grouped query."""
    draft = journey.graph if not graph_parse(journey.graph) else {"nodes": [], "edges": []}
    live = journey.live_version.graph if journey.live_version_id else {"nodes": [], "edges": []}
    draft_nodes, live_nodes = graph_nodes(draft), graph_nodes(live)
    in_flight: dict[str, int] = {}
    waiting: dict[str, int] = {}
    if journey.live_version_id:
        rows = (
            Enrollment.objects.for_workspace(journey.workspace_id)
            .filter(
                journey=journey,
                version_id=journey.live_version_id,
                state__in=[Enrollment.State.ACTIVE, Enrollment.State.WAITING],
            )
            .values_list("node_id", "state")
            .annotate(n=Count("id"))
            .order_by()
        )
        for node_id, state, n in rows:
            in_flight[node_id] = in_flight.get(node_id, 0) + n
            if state == Enrollment.State.WAITING:
                waiting[node_id] = waiting.get(node_id, 0) + n
    impact = []
    for node_id, node in live_nodes.items():
        if node_id not in draft_nodes:
            change, diff = "removed", []
        else:
            diff = _node_diff(live, node, draft, draft_nodes[node_id])
            change = "changed" if diff else "same"
        impact.append({"node_id": node_id, "change": change, "diff": diff})
    impact += [
        {"node_id": node_id, "change": "added", "diff": []}
        for node_id in draft_nodes
        if node_id not in live_nodes
    ]
    # Where each occupied step leads in the draft: customers there move on along the new graph.
    reach = {node_id: _reachable(draft, node_id) for node_id in in_flight if node_id in draft_nodes}
    for row in impact:
        row["in_flight"] = in_flight.get(row["node_id"], 0)
        row["waiting"] = waiting.get(row["node_id"], 0)
        row["downstream"] = sum(
            in_flight[at] for at, ahead in reach.items() if row["node_id"] in ahead
        ) if row["change"] in ("changed", "added") else 0
    touched = {row["node_id"] for row in impact if row["change"] != "same"}
    affected = sum(
        n for at, n in in_flight.items() if at in touched or reach.get(at, set()) & touched
    )
    return {"results": impact, "affected": affected}


def _reachable(graph: dict, start: str) -> set[str]:
    """The nodes a customer at `start` can still reach (not `start` itself, unless by a loop)."""
    ahead: dict[str, list[str]] = {}
    for edge in graph.get("edges", []):
        if isinstance(edge, dict):
            ahead.setdefault(edge.get("source"), []).append(edge.get("target"))
    seen: set[str] = set()
    todo = list(ahead.get(start, []))
    while todo:
        node_id = todo.pop()
        if node_id not in seen:
            seen.add(node_id)
            todo.extend(ahead.get(node_id, []))
    return seen


DIFF_VALUE_MAX = 500  # characters of a before/after value shown; a long HTML body is cut


def _node_diff(live: dict, live_node: dict, draft: dict, draft_node: dict) -> list[dict]:
    """What a publish changes on one node, field by field: `config.<path>` for its settings,
    `outputs.<handle>` for where an output leads, `type` if it became another kind of step."""
    changes = []
    if live_node.get("type") != draft_node.get("type"):
        changes.append({"field": "type", "before": live_node.get("type"), "after": draft_node.get("type")})
    before, after = _flat(live_node.get("config") or {}), _flat(draft_node.get("config") or {})
    for path in sorted(before.keys() | after.keys()):
        if before.get(path) != after.get(path):
            changes.append({"field": f"config.{path}", "before": _shown(before.get(path)),
                            "after": _shown(after.get(path))})
    out_before = _outputs(live, live_node["id"])
    out_after = _outputs(draft, draft_node["id"])
    for handle in sorted(out_before.keys() | out_after.keys()):
        if out_before.get(handle) != out_after.get(handle):
            changes.append({"field": f"outputs.{handle}", "before": out_before.get(handle),
                            "after": out_after.get(handle)})
    return changes


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    """{"content": {"text": "Hi"}} → {"content.text": "Hi"}; lists stay whole (a value each)."""
    if not isinstance(value, dict) or (prefix and not value):
        return {prefix.rstrip("."): value}
    flat: dict[str, object] = {}
    for key, inner in value.items():
        flat.update(_flat(inner, f"{prefix}{key}."))
    return flat


def _shown(value: object) -> object:
    if isinstance(value, str) and len(value) > DIFF_VALUE_MAX:
        return value[:DIFF_VALUE_MAX] + "…"
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        return value if len(text) <= DIFF_VALUE_MAX else text[:DIFF_VALUE_MAX] + "…"
    return value


def _outputs(graph: dict, node_id: str) -> dict[str, str | None]:
    """Where each output of `node_id` leads (the target node ids, joined when several)."""
    targets: dict[str, list[str]] = {}
    for edge in graph.get("edges", []):
        if isinstance(edge, dict) and edge.get("source") == node_id:
            targets.setdefault(edge.get("source_handle"), []).append(edge.get("target"))
    return {handle: ", ".join(sorted(t for t in ids if t)) for handle, ids in targets.items()}


def node_types_list() -> list[dict]:
    """Every node type as the canvas builds on it: palette entry, config schema, handles (for the
    default config, and `outputs`: how they follow the config) and default config."""
    rows = []
    for type_name, node_type in sorted(REGISTRY.items()):
        label = node_type.label or type_name.replace("_", " ").capitalize()
        default_config = node_type.default_config
        rows.append(
            {
                "type": type_name,
                "label": label,
                "category": node_type.category,
                "icon": node_type.icon or label[:2].upper(),
                "description": node_type.description,
                "config_schema": node_type.config_schema,
                "outputs": node_type.outputs,
                "handles": node_type.handles(default_config),
                "has_input": node_type.category != "trigger",
                "default_config": default_config,
                "presets": node_type.presets
                or [{"key": type_name, "label": label, "hint": node_type.description, "config": default_config}],
                "sends_messages": node_type.sends_messages,
            }
        )
    return rows


def customer_enrollments(*, workspace: Workspace, customer: Customer) -> QuerySet[Enrollment]:
    """Every pass of one customer through any journey (the customer page), with the journey's
    name and the version number in the same query; the enrollment_customer_state index leads
    with the customer. The caller pages newest first by id."""
    return (
        Enrollment.objects.for_workspace(workspace)
        .filter(customer=customer)
        .select_related("journey", "version")
        .only(
            "id", "journey_id", "journey__name", "version_id", "version__number", "state", "node_id",
            "entered_at", "finished_at", "exit_reason", "goals", "holdout", "wake_at",
        )
        .annotate(handed_off_from=KeyTransform(HANDED_OFF_FROM, "context"))
    )


def handoff_links(*, workspace: Workspace, customer: Customer, enrollments: list) -> dict:
    """For a page of one customer's runs: {"to": {run id: [runs it handed off to]}, "names":
    {journey id: name}} — the runs each `journey` node enrolled (two queries, whatever the page)."""
    ids = [e.id for e in enrollments]
    targets = (
        Enrollment.objects.for_workspace(workspace)
        .filter(customer=customer, context__has_key=HANDED_OFF_FROM)
        .annotate(source=KeyTextTransform("enrollment_id", KeyTransform(HANDED_OFF_FROM, "context")))
        .filter(source__in=[str(i) for i in ids])
        .values_list("source", "id", "journey_id")
    )
    to: dict[int, list[dict]] = {}
    journey_ids = {
        (e.handed_off_from or {}).get("journey_id") for e in enrollments if isinstance(e.handed_off_from, dict)
    }
    for source, target_id, journey_id in targets:
        to.setdefault(int(source), []).append({"enrollment_id": target_id, "journey_id": journey_id})
        journey_ids.add(journey_id)
    names = dict(
        Journey.objects.for_workspace(workspace)
        .filter(pk__in=[j for j in journey_ids if isinstance(j, int)])
        .values_list("pk", "name")
    )
    return {"to": to, "names": names}


def version_goal_names(*, workspace: Workspace, version_ids: set[int]) -> dict[int, dict[str, str]]:
    """Goal id → its name per version (the id when it has none), one query for a page of
    enrollments: a timeline says "Purchased", not goal_1."""
    rows = JourneyVersion.objects.for_workspace(workspace).filter(pk__in=version_ids).values_list("pk", "settings")
    return {
        pk: {
            goal["id"]: str(goal.get("name") or goal["id"])
            for goal in ((settings or {}).get("goals") or [])
            if isinstance(goal, dict) and isinstance(goal.get("id"), str)
        }
        for pk, settings in rows
    }


def version_node_names(*, workspace: Workspace, version_ids: set[int]) -> dict[int, dict[str, str]]:
    """Node id → display name (its name, else its type) per version, one query for a page of
    enrollments: timelines and current nodes read as the canvas labels them."""
    graphs = JourneyVersion.objects.for_workspace(workspace).filter(pk__in=version_ids).values_list("pk", "graph")
    return {
        pk: {node_id: node.get("name") or node.get("type") or node_id for node_id, node in graph_nodes(graph).items()}
        for pk, graph in graphs
    }
