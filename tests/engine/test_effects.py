"""Event effects on customers already inside: exit conditions, goals, waking event waits."""

from journeys.enrollments import enrollments_create
from journeys.models import StepEvent
from tests.engine.helpers import (
    chain,
    customers,
    history,
    node,
    published,
    seconds,
    send_events,
    wait_state,
)

LONG_WAIT = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}))


def test_exit_condition_event_exits_mid_wait(workspace, engine):
    journey = published(workspace, LONG_WAIT, {
        "exit_conditions": [{"event": "unsubscribed", "within": "since_entry"}],
    })
    stays, leaves = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[stays.id, leaves.id])
    wait_state(journey, leaves, "waiting")
    send_events(workspace, {"customer_id": leaves.external_id, "name": "unsubscribed"})
    e = wait_state(journey, leaves, "exited")
    assert e.exit_reason == "exit_condition" and e.node_id == "w"
    assert wait_state(journey, stays, "waiting").wake_at is not None


def test_attribute_exit_condition_is_checked_at_every_step(workspace, engine):
    graph = chain(
        node("start", "start"),
        node("u", "update_profile", {"set": {"churned": True}}),
        node("w", "wait", {"mode": "duration", "duration": seconds(30)}),
    )
    journey = published(workspace, graph, {"exit_conditions": [{"attribute": "churned", "op": "eq", "value": True}]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    e = wait_state(journey, c, "exited")
    assert e.exit_reason == "exit_condition" and e.node_id == "w"


def test_profile_change_through_the_api_exits(workspace, api, engine):
    journey = published(workspace, LONG_WAIT, {"exit_conditions": [{"attribute": "plan", "op": "eq", "value": "gone"}]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "waiting")
    response = api.patch(f"/api/v1/customers/{c.external_id}", {"attributes": {"plan": "gone"}}, format="json")
    assert response.status_code == 200, response.content
    assert wait_state(journey, c, "exited").exit_reason == "exit_condition"


def test_goals_are_recorded_counted_and_exit_only_when_asked(workspace, engine):
    journey = published(workspace, LONG_WAIT, {"goals": [
        {"id": "bought", "name": "Bought", "condition": {"event": "purchase", "within": "since_entry"}},
        {"id": "upgraded", "name": "Upgraded", "condition": {"event": "upgrade", "within": "since_entry"}, "exit": True},
    ]})
    buyer, upgrader = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[buyer.id, upgrader.id])
    wait_state(journey, buyer, "waiting")
    send_events(
        workspace,
        {"customer_id": buyer.external_id, "name": "purchase"},
        {"customer_id": upgrader.external_id, "name": "upgrade"},
    )
    from tests.conftest import wait_for
    from tests.engine.helpers import enrollment

    e = wait_for(lambda: (x := enrollment(journey, buyer)).goals and x)
    assert e.state == "waiting" and [g["id"] for g in e.goals] == ["bought"]
    send_events(workspace, {"customer_id": buyer.external_id, "name": "purchase"})  # counted once
    assert wait_state(journey, upgrader, "exited").exit_reason == "goal"
    goals = StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id, kind="goal")
    assert sorted(goals.values_list("data__goal_id", flat=True)) == ["bought", "upgraded"]
    assert [k for _, k, _ in history(enrollment(journey, buyer))].count("goal") == 1
