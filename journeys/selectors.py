"""Reads for journey definitions: lists, validation, versions, publish impact, audit, node types."""

from __future__ import annotations

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


def _node_signature(graph: dict, node: dict) -> tuple:
    """What makes a node behave: its type, config and where each handle leads. Its name and
    canvas position do not change what a customer goes through."""
    edges = sorted(
        (edge.get("source_handle"), edge.get("target"))
        for edge in graph.get("edges", [])
        if isinstance(edge, dict) and edge.get("source") == node["id"]
    )
    return node.get("type"), node.get("config") or {}, edges


def journey_publish_impact(*, journey: Journey) -> list[dict]:
    """Per node of the draft against the live version: same / changed / removed / added, and how
    many customers are in flight there on the live version (one grouped query)."""
    draft = journey.graph if not graph_parse(journey.graph) else {"nodes": [], "edges": []}
    live = journey.live_version.graph if journey.live_version_id else {"nodes": [], "edges": []}
    draft_nodes, live_nodes = graph_nodes(draft), graph_nodes(live)
    in_flight: dict[str, int] = {}
    if journey.live_version_id:
        in_flight = dict(
            Enrollment.objects.for_workspace(journey.workspace_id)
            .filter(
                journey=journey,
                version_id=journey.live_version_id,
                state__in=[Enrollment.State.ACTIVE, Enrollment.State.WAITING],
            )
            .values_list("node_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    impact = []
    for node_id, node in live_nodes.items():
        if node_id not in draft_nodes:
            change = "removed"
        elif _node_signature(live, node) == _node_signature(draft, draft_nodes[node_id]):
            change = "same"
        else:
            change = "changed"
        impact.append(
            {"node_id": node_id, "change": change, "in_flight": in_flight.get(node_id, 0)}
        )
    impact += [
        {"node_id": node_id, "change": "added", "in_flight": 0}
        for node_id in draft_nodes
        if node_id not in live_nodes
    ]
    return impact


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
