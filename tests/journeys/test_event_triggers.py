"""Which stored events reach the engine: a batch is handed over only when something in the
workspace can react, and within it only the events that can matter are loaded — without changing
what entries, exit conditions and waits do with them."""

import json

import pytest

from audiences.models import Customer
from journeys.enrollments import enrollments_create
from journeys.services import journey_pause
from journeys.triggers import events_process
from tests.conftest import wait_for
from tests.engine.helpers import (
    chain,
    customers,
    enrollment,
    node,
    published,
    send_events,
    wait_state,
)
from workspaces.redis import get_redis

LONG_WAIT = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}))
SIGNUP_ENTRY = {"entry": {"type": "event", "events": [{"name": "signup"}]}}


def _post(api, *events) -> None:
    response = api.post("/api/v1/events", {"events": list(events)}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["errors"] == []


def _queued_batches() -> int:
    """events_process tasks waiting on the broker (no worker runs in these tests but the third)."""
    messages = get_redis().lrange("engine", 0, -1)
    return sum(json.loads(m)["headers"]["task"] == "journeys.tasks.events_process_task" for m in messages)


@pytest.mark.django_db(transaction=True)
def test_a_workspace_nothing_listens_to_queues_no_work(api, workspace):
    _post(api, {"customer_id": "a", "name": "view"}, {"customer_id": "b", "name": "signup"})
    assert Customer.objects.for_workspace(workspace).count() == 2  # stored all the same
    assert _queued_batches() == 0

    published(workspace, LONG_WAIT, SIGNUP_ENTRY)
    before = _queued_batches()
    _post(api, {"customer_id": "c", "name": "view"})
    assert _queued_batches() == before + 1  # an active journey: every batch goes to the engine


@pytest.mark.django_db(transaction=True)
def test_a_paused_journey_with_customers_inside_still_gets_their_events(api, workspace):
    journey = published(workspace, LONG_WAIT, {"exit_conditions": [{"event": "unsubscribed"}]})
    (inside,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[inside.id])
    journey_pause(journey=journey, actor=None)
    before = _queued_batches()
    _post(api, {"customer_id": inside.external_id, "name": "unsubscribed"})
    assert _queued_batches() == before + 1  # no active journey, but a live enrollment


@pytest.mark.django_db(transaction=True)
def test_one_batch_enters_exits_and_ignores_the_rest(workspace, celery_worker):
    """A trigger event enters its journey; a customer inside another journey exits on an event
    whose name no journey triggers on; the noise around them (names nobody listens to, customers
    in no journey) enrolls nobody."""
    entry_journey = published(workspace, LONG_WAIT, SIGNUP_ENTRY, name="Welcome")
    exit_journey = published(workspace, LONG_WAIT, {"exit_conditions": [{"event": "unsubscribed"}]}, name="Nurture")
    (inside,) = customers(workspace, prefix="inside")
    enrollments_create(journey=exit_journey, customer_ids=[inside.id])
    wait_state(exit_journey, inside, "waiting")

    send_events(
        workspace,
        *({"customer_id": f"noise{i}", "name": "view"} for i in range(200)),
        {"customer_id": "newcomer", "name": "signup"},
        {"customer_id": inside.external_id, "name": "unsubscribed"},
        {"customer_id": "bystander", "name": "unsubscribed"},
    )
    people = {c.external_id: c for c in Customer.objects.for_workspace(workspace)}
    assert wait_state(entry_journey, people["newcomer"], "waiting").context["event_name"] == "signup"
    assert wait_state(exit_journey, inside, "exited").exit_reason == "exit_condition"
    wait_for(lambda: get_redis().llen("engine") == 0)
    assert enrollment(entry_journey, people["noise0"]) is None
    assert enrollment(entry_journey, people["bystander"]) is None
    assert enrollment(exit_journey, people["bystander"]) is None


@pytest.mark.django_db(transaction=True)
def test_events_nothing_can_react_to_are_not_loaded(workspace, django_assert_max_num_queries):
    published(workspace, LONG_WAIT, SIGNUP_ENTRY)
    stored = send_events(workspace, *({"customer_id": f"c{i}", "name": "view"} for i in range(300)))
    assert stored.accepted == 300
    # The journeys (and their live version), then the events that can matter: none, so no
    # enrollment lookup and no entry check runs for the 300 (the whole batch was loaded before);
    # one statement asks whether any of their customers has a finished enrollment's goal window open.
    with django_assert_max_num_queries(4):
        result = events_process(workspace_id=workspace.pk, event_ids=stored.event_ids)
    assert result.enrolled == 0
