"""Timer wakes through the real pump, Redis and a real Celery worker: a burst bigger than one pop
fires every wait exactly once and never early; a woken enrollment sees its customer's profile
(timer batches load customers only when a node asks); and a timer the engine did not clear after
its wake (the pump popped it already) cannot fire the same wait twice."""

from __future__ import annotations

import time
from datetime import datetime

from journeys.engine import advance
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from journeys.timers import POP_LIMIT, WAKE_QUEUE, pump_once, timers_count
from tests.conftest import wait_for
from tests.engine.conftest import engine, settle, timers_pump  # noqa: F401  (fixtures)
from tests.engine.helpers import (
    chain,
    customers,
    edge,
    node,
    passed,
    published,
    seconds,
    wait_state,
)
from workspaces.redis import get_redis

WAIT_THEN_EXIT = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}),
                       node("end", "exit"))


def _states(journey) -> dict[str, int]:
    rows = Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey).values_list("state", flat=True)
    counts: dict[str, int] = {}
    for state in rows:
        counts[state] = counts.get(state, 0) + 1
    return counts


def test_a_burst_larger_than_one_pop_fires_every_wait_once_and_never_early(workspace, engine):  # noqa: F811
    n = POP_LIMIT + 200  # two pops, two wake batches
    journey = published(workspace, WAIT_THEN_EXIT)
    enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, n)])
    wait_for(lambda: _states(journey) == {"completed": n}, timeout=60, interval=0.2)

    steps = StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id)
    due = {s.enrollment_id: datetime.fromisoformat(s.data["wake_at"]) for s in steps.filter(kind="waiting")}
    fired = list(steps.filter(kind="passed", node_id="w").values_list("enrollment_id", "at"))
    assert len(due) == n
    assert sorted(i for i, _ in fired) == sorted(due)  # every wait passed, none twice
    assert all(at >= due[i] for i, at in fired)  # never before its wake_at
    assert steps.filter(kind="completed").count() == n
    wait_for(lambda: timers_count() == 0, timeout=3)


def test_a_timer_wake_sees_the_customers_profile(workspace, engine):  # noqa: F811
    """Timer batches lock enrollments without their customers; a branch after the wait, a goal and
    an exit condition must still read each customer's own attributes."""
    graph = {
        "nodes": [
            node("start", "start"),
            node("w", "wait", {"mode": "duration", "duration": seconds(1)}),
            node("b", "branch", {"groups": [
                {"id": "pro", "name": "Pro", "condition": {"attribute": "plan", "op": "eq", "value": "pro"}},
            ]}),
            node("end", "exit"),
        ],
        "edges": [edge("start", "next", "w"), edge("w", "next", "b"), edge("b", "pro", "end"), edge("b", "else", "end")],
    }
    journey = published(workspace, graph, {
        "exit_conditions": [{"attribute": "churned", "op": "eq", "value": True}],
        "goals": [{"id": "vip", "name": "VIP", "condition": {"attribute": "vip", "op": "eq", "value": True}}],
    })
    pro, free, churned = customers(workspace, 3)
    pro.attributes = {"plan": "pro", "vip": True}
    free.attributes = {"plan": "free"}
    for c in (pro, free):
        c.save()
    enrollments_create(journey=journey, customer_ids=[pro.id, free.id, churned.id])
    wait_state(journey, churned, "waiting")
    # Churned while waiting (no event, so only the timer wake can notice).
    churned.attributes = {"plan": "pro", "churned": True}
    churned.save()

    e_pro = wait_state(journey, pro, "completed")
    e_free = wait_state(journey, free, "completed")
    e_churned = wait_state(journey, churned, "exited")
    assert ("b", "pro") in passed(e_pro)
    assert ("b", "else") in passed(e_free)
    assert [g["id"] for g in e_pro.goals] == ["vip"] and e_free.goals == []
    assert e_churned.exit_reason == "exit_condition" and e_churned.node_id == "w"


def test_a_timer_left_in_redis_after_its_wake_fires_nothing_more(workspace, celery_worker):
    """The reconciler's re-queue can wake a wait whose timer is still in Redis; the engine leaves
    timer wakes' members alone, so the pump pops that one later: it must find nothing due."""
    journey = published(workspace, WAIT_THEN_EXIT)
    (c,) = customers(workspace)
    (eid,) = enrollments_create(journey=journey, customer_ids=[c.id]).ids
    wait_state(journey, c, "waiting")
    assert timers_count() == 1
    time.sleep(1.2)  # due now; no pump runs in this test

    advance(items=[[eid, None, {"kind": "timer"}]])  # the re-queued wake
    assert wait_state(journey, c, "completed")
    assert timers_count() == 1  # still in Redis: the pump popped nothing yet

    assert pump_once() == 1  # the leftover fires a wake …
    wait_for(lambda: get_redis().llen(WAKE_QUEUE) == 0)  # taken by the worker
    settle()
    assert timers_count() == 0
    steps = StepEvent.objects.for_workspace(workspace).filter(enrollment_id=eid)
    assert steps.filter(kind="passed", node_id="w").count() == 1  # … that changes nothing
    assert steps.filter(kind="completed").count() == 1
    assert Enrollment.objects.for_workspace(workspace).get(id=eid).state == "completed"
