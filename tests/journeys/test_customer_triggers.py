"""Which profile changes reach the engine: customers_changed only re-checks exit conditions and
goals of live enrollments, so a workspace with nobody inside a journey queues no task for them."""

import json

import pytest

from journeys.enrollments import enrollments_create
from journeys.services import journey_pause
from tests.engine.helpers import chain, customers, node, published, wait_state
from workspaces.redis import get_redis

LONG_WAIT = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}))
PLAN_EXIT = {"exit_conditions": [{"attribute": "plan", "op": "eq", "value": "gone"}]}


def _patch(api, customer, plan: str) -> None:
    response = api.patch(f"/api/v1/customers/{customer.external_id}", {"attributes": {"plan": plan}}, format="json")
    assert response.status_code == 200, response.content


def _queued_checks() -> int:
    """customers_changed tasks waiting on the broker (no worker runs in these tests)."""
    messages = get_redis().lrange("engine", 0, -1)
    return sum(json.loads(m)["headers"]["task"] == "journeys.tasks.customers_changed_task" for m in messages)


@pytest.mark.django_db(transaction=True)
def test_profile_changes_nobody_inside_a_journey_can_react_to_queue_no_work(api, workspace):
    (c,) = customers(workspace)
    _patch(api, c, "gone")
    assert _queued_checks() == 0

    # An active journey with nobody inside: its entry is not customers_changed's business.
    journey = published(workspace, LONG_WAIT, PLAN_EXIT)
    _patch(api, c, "pro")
    assert _queued_checks() == 0

    enrollments_create(journey=journey, customer_ids=[c.id])
    _patch(api, c, "gone")
    assert _queued_checks() == 1  # someone is inside: the change is re-checked


@pytest.mark.django_db(transaction=True)
def test_a_paused_journey_with_customers_inside_still_gets_profile_changes(api, workspace):
    journey = published(workspace, LONG_WAIT, PLAN_EXIT)
    (inside,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[inside.id])
    journey_pause(journey=journey, actor=None)
    _patch(api, inside, "gone")
    assert _queued_checks() == 1


@pytest.mark.django_db(transaction=True)
def test_another_workspaces_enrollments_do_not_count(api, workspace, other_workspace):
    journey = published(other_workspace, LONG_WAIT, PLAN_EXIT)
    (theirs,) = customers(other_workspace)
    enrollments_create(journey=journey, customer_ids=[theirs.id])
    (ours,) = customers(workspace)
    _patch(api, ours, "gone")
    assert _queued_checks() == 0


def test_another_journeys_update_step_reaches_the_exit_conditions_of_a_waiting_customer(workspace, celery_worker):
    """Journey B's update step sets the attribute journey A's exit condition watches: A's customer,
    waiting a day, exits within seconds, as after the same change through the API."""
    watching = published(workspace, LONG_WAIT, PLAN_EXIT, name="A")
    changing = published(
        workspace, chain(node("start", "start"), node("u", "update_profile", {"set": {"plan": "gone"}})), name="B"
    )
    (c,) = customers(workspace)
    enrollments_create(journey=watching, customer_ids=[c.id])
    wait_state(watching, c, "waiting")

    enrollments_create(journey=changing, customer_ids=[c.id])
    wait_state(changing, c, "completed")
    exited = wait_state(watching, c, "exited", timeout=20)
    assert exited.exit_reason == "exit_condition"
    c.refresh_from_db()
    assert c.attributes["plan"] == "gone"
