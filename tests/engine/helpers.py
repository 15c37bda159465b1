"""Builders for engine tests: customers, published journeys, events, and reading results."""

from __future__ import annotations

from audiences.models import Customer
from audiences.services import events_ingest
from journeys.enrollments import enrollment_history
from journeys.models import Enrollment, Journey
from journeys.services import journey_create, journey_start
from tests.conftest import wait_for


def node(node_id: str, type_: str, config: dict | None = None) -> dict:
    return {"id": node_id, "type": type_, "name": node_id, "position": {"x": 0, "y": 0}, "config": config or {}}


def edge(source: str, handle: str, target: str) -> dict:
    return {"source": source, "source_handle": handle, "target": target}


def seconds(n: int) -> dict:
    return {"value": n, "unit": "seconds"}


def chain(*nodes: dict, extra_edges: list | None = None) -> dict:
    """Nodes linked in order through `next`, plus any extra edges."""
    edges = [edge(a["id"], "next", b["id"]) for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"nodes": list(nodes), "edges": edges + (extra_edges or [])}


def customers(workspace, n: int = 1, prefix: str = "c", **fields) -> list[Customer]:
    return Customer.objects.unscoped().bulk_create(
        [Customer(workspace=workspace, external_id=f"{prefix}{i}", **fields) for i in range(n)]
    )


def published(workspace, graph: dict, settings: dict | None = None, name: str = "J") -> Journey:
    full = {"entry": {"type": "api"}, "re_entry": {"policy": "never"}}
    full.update(settings or {})
    journey = journey_create(workspace=workspace, actor=None, name=name, graph=graph, settings=full)
    return journey_start(journey=journey, actor=None)


def send_events(workspace, *events: dict):
    return events_ingest(workspace=workspace, events=list(events))


def enrollment(journey, customer) -> Enrollment | None:
    return (
        Enrollment.objects.for_workspace(journey.workspace_id)
        .filter(journey=journey, customer=customer)
        .order_by("-id")
        .first()
    )


def history(e: Enrollment) -> list[tuple[str, str, str]]:
    """The timeline as the API shows it (arrivals expanded from the rows that carry them)."""
    return [(step["node_id"], step["kind"], step["handle"]) for step in enrollment_history(enrollment=e)]


def passed(e: Enrollment) -> list[tuple[str, str]]:
    return [(n, h) for n, k, h in history(e) if k == "passed"]


def wait_state(journey, customer, state: str, timeout: float = 15.0) -> Enrollment:
    return wait_for(
        lambda: (e := enrollment(journey, customer)) is not None and e.state == state and e, timeout=timeout
    )
