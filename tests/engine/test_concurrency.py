"""Exactly-once stepping: racing workers, duplicate and late tasks, a crash before commit, and
timers that Redis lost."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from journeys.engine import advance, rows
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from journeys.timers import reconcile, timers_count
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, node, published, seconds, wait_state
from workspaces.redis import get_redis

TAGGING = chain(node("start", "start"), node("u", "update_profile", {"add_tags": ["t"]}), node("end", "exit"))


def _steps(workspace, **filters):
    return StepEvent.objects.for_workspace(workspace).filter(**filters)


def test_two_workers_racing_on_the_same_batch_step_each_once(workspace, transactional_db):
    journey = published(workspace, TAGGING)
    people = customers(workspace, 300)
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in people]).ids
    items = [[i, 0, None] for i in ids]
    barrier = threading.Barrier(4)

    def work(batch):
        barrier.wait()
        try:
            for _ in range(3):  # duplicates of the same task, too
                advance(items=batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(items if n % 2 else list(reversed(items)),)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Rows a racer skipped (SKIP LOCKED) were handed back to the queue; those are no-ops now.
    assert set(Enrollment.objects.for_workspace(workspace).values_list("state", flat=True)) == {"completed"}
    assert _steps(workspace, kind="passed", node_id="u").count() == 300
    assert _steps(workspace, kind="completed").count() == 300
    # entered, passed (start → u), passed (u → end), completed: arrivals ride on the passed rows
    assert _steps(workspace).count() == 300 * 4
    assert _steps(workspace, kind="passed", node_id="u", to_node_id="end").count() == 300


def test_late_and_duplicate_tasks_do_nothing(workspace, transactional_db):
    journey = published(workspace, chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(60)})))
    (c,) = customers(workspace)
    (eid,) = enrollments_create(journey=journey, customer_ids=[c.id]).ids
    advance(items=[[eid, 0, None]])
    before = _steps(workspace).count()
    advance(items=[[eid, 0, None]])  # duplicate: expects step 0, the enrollment is at 1
    advance(items=[[eid, None, {"kind": "timer"}]])  # early timer: wake_at is a minute away
    advance(items=[[eid, None, {"kind": "signal", "payload": {}}], [eid + 999, None, None]])  # a signal names its step
    assert _steps(workspace).count() == before
    e = Enrollment.objects.for_workspace(workspace).get(id=eid)
    assert (e.state, e.node_id) == ("waiting", "w")


def test_a_crash_before_commit_is_rerun_once(workspace, transactional_db, monkeypatch):
    journey = published(workspace, TAGGING)
    people = customers(workspace, 5)
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in people]).ids
    real = rows.write_customers
    calls = []

    def crash_once(patches, now):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("worker died")
        return real(patches, now)

    monkeypatch.setattr(rows, "write_customers", crash_once)
    with pytest.raises(ConnectionError):
        advance(items=[[i, 0, None] for i in ids])
    assert _steps(workspace).exclude(kind="entered").count() == 0  # all rolled back
    advance(items=[[i, 0, None] for i in ids])  # the redelivered task (acks_late)
    assert _steps(workspace, kind="passed", node_id="u").count() == 5
    for c in people:
        c.refresh_from_db()
        assert c.tags == ["t"]


def test_timers_lost_in_redis_are_restored_and_fire(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(2)}), node("end", "exit"))
    journey = published(workspace, graph)
    people = customers(workspace, 10)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    for c in people:
        wait_state(journey, c, "waiting")
    wait_for(lambda: timers_count() == 10)
    get_redis().flushdb()  # Redis restarted empty
    for c in people:
        wait_state(journey, c, "completed", timeout=10)


def test_reconciler_requeues_overdue_waits(workspace, celery_worker):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(60)}), node("end", "exit"))
    journey = published(workspace, graph)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "waiting")
    get_redis().delete("timers:0")  # the timer was lost …
    Enrollment.objects.for_workspace(workspace).update(wake_at=timezone.now() - timedelta(minutes=5))  # … and is overdue
    get_redis().set("timers:epoch", "x")  # Redis itself did not restart
    assert reconcile()["requeued"] == 1
    wait_state(journey, c, "completed")


def test_timer_pump_latency_for_one_second_waits(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}), node("end", "exit"))
    journey = published(workspace, graph)
    people = customers(workspace, 50)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    for c in people:
        wait_state(journey, c, "completed", timeout=10)
    lateness = []
    for e in Enrollment.objects.for_workspace(workspace):
        waiting = _steps(workspace, enrollment=e, kind="waiting").get()
        resumed = _steps(workspace, enrollment=e, kind="passed", node_id="w").get()
        due = timezone.datetime.fromisoformat(waiting.data["wake_at"])
        lateness.append((resumed.at - due).total_seconds())
    assert min(lateness) >= 0
    assert max(lateness) < 1.0
