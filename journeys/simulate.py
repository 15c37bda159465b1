"""Simulation: the path one customer would take through a journey's DRAFT, produced by the same
executors as real runs (simulate=True), with waits fast-forwarded. Nothing is sent or written."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audiences.conditions import event_matches
from audiences.models import Customer, Event
from workspaces.models import Workspace

from .engine import CompiledVersion, Wake
from .engine.run import Run
from .models import Enrollment, Journey

MAX_SIMULATED_STEPS = 500  # graphs are acyclic and ≤ 500 nodes (graph.py); this is a backstop


def _simulated_events(events: list[dict], now: datetime) -> list[Event]:
    found = []
    for item in events or []:
        at = parse_datetime(item["timestamp"]) if item.get("timestamp") else None
        found.append(Event(name=item["name"], properties=item.get("properties") or {}, occurred_at=at or now))
    return found


def journey_simulate(
    *, journey: Journey, customer: Customer | None = None, customer_data: dict | None = None,
    events: list[dict] | None = None, now: datetime | None = None,
) -> dict:
    """{"steps": [{"node_id", "type", "name", "kind", "handle", "at", "data"}], "state",
    "exit_reason", "customer": {"attributes", "tags"}} for `customer` (a stored one) or
    `customer_data` (an unsaved profile), given `events` the customer does (at their
    "timestamp", else at the start)."""
    now = now or timezone.now()
    version = CompiledVersion.build(
        id=0, journey_id=journey.id, workspace_id=journey.workspace_id,
        graph=journey.graph or {}, settings=journey.settings or {},
    )
    if customer is None:
        data = customer_data or {}
        customer = Customer(
            workspace_id=journey.workspace_id,
            external_id=str(data.get("external_id") or "simulated"),
            email=data.get("email") or "",
            phone=data.get("phone") or "",
            timezone=data.get("timezone") or "",
            locale=data.get("locale") or "",
            attributes=dict(data.get("attributes") or {}),
            tags=list(data.get("tags") or []),
            created_at=now,
            updated_at=now,
        )
    simulated = _simulated_events(events or [], now)
    trigger = simulated[0] if simulated else None

    run = Run(now=now, simulate=True)
    run.customers = {customer.pk: customer}
    run.versions = {0: version}
    run.journey_status = {journey.id: Journey.Status.ACTIVE}
    run.journey_names = {journey.id: journey.name}
    run.workspace_tz = {journey.workspace_id: Workspace.objects.get(id=journey.workspace_id).timezone}
    run.extra_events = simulated
    enrollment = Enrollment(
        id=0, workspace_id=journey.workspace_id, journey_id=journey.id, version_id=0,
        customer_id=customer.pk, state=Enrollment.State.ACTIVE, node_id=version.start_id or "",
        step_seq=0, entered_at=now, context={"event": trigger.properties} if trigger else {},
        goals=[], wait={}, holdout=False,
    )
    run.batch = [enrollment]
    if version.start_id is None:
        return {"steps": [], "state": "failed", "exit_reason": "no_start_node", "customer": {}}
    run.record(enrollment, "entered")

    wake: Wake | None = None
    used: set[int] = set()
    for _ in range(MAX_SIMULATED_STEPS):
        run.run_enrollment(enrollment, wake)
        if enrollment.state == Enrollment.State.ACTIVE:
            wake = None
            continue
        if enrollment.state != Enrollment.State.WAITING:
            break
        wake = _next_wake(run, enrollment, simulated, used)
        if wake is None:
            break

    steps = []
    for step in run.step_log:
        node = version.nodes.get(step["node_id"]) or {}
        steps.append(
            {
                "node_id": step["node_id"],
                "type": node.get("type"),
                "name": node.get("name") or "",
                "kind": step["kind"],
                "handle": step["handle"],
                "at": step["at"],
                "data": step["data"],
            }
        )
    return {
        "steps": steps,
        "state": enrollment.state,
        "exit_reason": enrollment.exit_reason,
        "customer": {"attributes": customer.attributes, "tags": customer.tags},
    }


def _next_wake(run: Run, enrollment: Enrollment, simulated: list[Event], used: set[int]) -> Wake | None:
    """Fast-forwards a wait: a simulated event it awaits, else its timer, else (a send waiting for
    the channel's answer) a simulated success."""
    wait = enrollment.wait or {}
    if wait.get("event"):
        spec = {"event": wait["event"], "where": wait.get("where") or []}
        for i, event in enumerate(simulated):
            if i not in used and event_matches(spec, event.name, event.properties, now=run.now):
                used.add(i)
                return Wake("event", {"name": event.name, "properties": event.properties,
                                      "occurred_at": event.occurred_at.isoformat(), "simulated": True})
    if enrollment.wake_at is not None:
        run.now = max(run.now, enrollment.wake_at)
        return Wake("timer")
    if not wait.get("event"):
        return Wake("signal", {"status": "sent", "simulated": True})
    return None
