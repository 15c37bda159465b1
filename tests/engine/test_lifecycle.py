"""Stop, pause/resume, publishing a new version, removing customers, deleting customers."""

import time

from audiences.services import customer_erase
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from journeys.services import (
    journey_pause,
    journey_resume,
    journey_start,
    journey_stop,
    journey_update,
)
from journeys.timers import timers_count
from tests.conftest import wait_for
from tests.engine.helpers import (
    chain,
    customers,
    edge,
    enrollment,
    history,
    node,
    published,
    seconds,
    wait_state,
)


def test_stop_exits_everyone_and_clears_timers(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}),
                  node("u", "update_profile", {"add_tags": ["after"]}))
    journey = published(workspace, graph)
    people = customers(workspace, 5)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    for c in people:
        wait_state(journey, c, "waiting")
    journey_stop(journey=journey, actor=None)
    for c in people:
        assert enrollment(journey, c).exit_reason == "journey_stopped"
    wait_for(lambda: timers_count() == 0, timeout=3)
    time.sleep(1.5)  # past the old wake time: nothing moved on
    assert not any("after" in c.tags for c in customers_of(workspace))
    assert set(Enrollment.objects.for_workspace(workspace).values_list("state", flat=True)) == {"exited"}


def customers_of(workspace):
    from audiences.models import Customer

    return list(Customer.objects.for_workspace(workspace))


def test_pause_holds_due_timers_until_resume(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}), node("end", "exit"))
    journey = published(workspace, graph)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "waiting")
    journey_pause(journey=journey, actor=None)
    time.sleep(2.0)  # the timer fired while paused
    assert enrollment(journey, c).state == "waiting"
    # also new entries wait: a paused journey enrolls nobody
    (late,) = customers(workspace, prefix="late")
    assert enrollments_create(journey=journey, customer_ids=[late.id]).enrolled == 0
    journey_resume(journey=journey, actor=None)
    wait_state(journey, c, "completed", timeout=5)


def test_publish_moves_to_same_node_or_exits_node_removed(workspace, engine):
    short, long = {"value": 1, "unit": "seconds"}, {"value": 30, "unit": "seconds"}
    journey = published(workspace, {
        "nodes": [node("start", "start"),
                  node("s", "split", {"paths": [{"id": "a", "name": "A", "percent": 50}, {"id": "b", "name": "B", "percent": 50}]}),
                  node("a", "wait", {"mode": "duration", "duration": short}),
                  node("b", "wait", {"mode": "duration", "duration": long})],
        "edges": [edge("start", "next", "s"), edge("s", "a", "a"), edge("s", "b", "b")],
    })
    people = customers(workspace, 12)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    where = {c.id: wait_state(journey, c, "waiting").node_id for c in people}
    assert set(where.values()) == {"a", "b"}
    journey.refresh_from_db()
    journey_update(journey=journey, actor=None, graph=chain(
        node("start", "start"), node("a", "wait", {"mode": "duration", "duration": short}),
        node("tag", "update_profile", {"add_tags": ["v2"]})))
    journey = journey_start(journey=journey, actor=None)
    for c in people:
        if where[c.id] == "b":
            assert enrollment(journey, c).exit_reason == "node_removed"
        else:
            e = wait_state(journey, c, "completed")
            assert e.version_id == journey.live_version_id
            c.refresh_from_db()
            assert c.tags == ["v2"]


def test_publish_keep_leaves_customers_on_their_version(workspace, engine):
    graph = chain(node("start", "start"), node("a", "wait", {"mode": "duration", "duration": seconds(1)}), node("end", "exit"))
    journey = published(workspace, graph)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    first = wait_state(journey, c, "waiting").version_id
    journey.refresh_from_db()
    journey_update(journey=journey, actor=None, graph=chain(node("start", "start"), node("end", "exit")))
    journey = journey_start(journey=journey, actor=None, in_flight="keep")
    e = wait_state(journey, c, "completed")
    assert e.version_id == first != journey.live_version_id
    assert ("end", "completed", "") in history(e)


def test_deleted_customer_leaves_no_stuck_timer(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}), node("end", "exit"))
    journey = published(workspace, graph)
    gone, kept = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[gone.id, kept.id])
    wait_state(journey, gone, "waiting")
    customer_erase(workspace=workspace, customer=gone)
    assert not Enrollment.objects.for_workspace(workspace).filter(customer_id=gone.id).exists()
    wait_state(journey, kept, "completed")  # the vanished enrollment's timer fired harmlessly
    wait_for(lambda: timers_count() == 0, timeout=3)
