"""`wait` in date mode (API.md "Keyed journeys, date waits, hand-offs, tags") through a real
worker: it waits until a profile or trigger-event date (+ offset, at a time in the customer's
zone), takes `missed` when the date is absent, unreadable or past, and moves its wake-up when the
customer's attribute is changed before the date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.enrollments import enrollments_create
from journeys.graph import graph_validate
from journeys.models import Enrollment
from journeys.timers import shard_count, shard_key
from tests.conftest import wait_for
from tests.engine.conftest import engine, settle, timers_pump  # noqa: F401  (fixtures)
from tests.engine.helpers import customers, edge, node, published, wait_state
from workspaces.redis import get_redis

pytestmark = pytest.mark.django_db(transaction=True)


def date_journey(workspace, **wait_config):
    graph = {
        "nodes": [
            node("start", "start"),
            node("w", "wait", {"mode": "date", **wait_config}),
            node("on_time", "exit"),
            node("missed", "exit"),
        ],
        "edges": [edge("start", "next", "w"), edge("w", "next", "on_time"), edge("w", "missed", "missed")],
    }
    return published(workspace, graph)


def timer_score(enrollment_id: int) -> float | None:
    return get_redis().zscore(shard_key(enrollment_id % shard_count()), str(enrollment_id))


def final_node(journey, customer) -> str:
    row = wait_for(
        lambda: Enrollment.objects.for_workspace(journey.workspace_id)
        .filter(journey=journey, customer=customer, state="completed")
        .first(),
        timeout=20,
    )
    return row.node_id


def test_an_absent_unreadable_or_past_date_takes_missed(workspace, engine):  # noqa: F811
    journey = date_journey(workspace, attribute="appointment_at")
    absent, unreadable, past, impossible = customers(workspace, 4)
    for customer, value in ((unreadable, "next tuesday"), (past, "2020-01-01T10:00:00Z"), (impossible, "2031-02-30")):
        customer.attributes = {"appointment_at": value}
        customer.save(update_fields=["attributes"])
    future = customers(workspace, 1, prefix="f", attributes={"appointment_at": "2031-06-01T10:00:00Z"})[0]
    enrollments_create(journey=journey, customer_ids=[absent.id, unreadable.id, past.id, impossible.id, future.id])
    for customer in (absent, unreadable, past, impossible):
        assert final_node(journey, customer) == "missed"
    waiting = wait_state(journey, future, "waiting")
    assert (waiting.node_id, waiting.wake_at) == ("w", datetime(2031, 6, 1, 10, 0, tzinfo=UTC))


def test_an_offset_of_minus_one_day_wakes_at_nine_in_the_customers_zone(workspace, engine):  # noqa: F811
    """The day before an appointment at 15:00 New York time, at 09:00 there: 10 March 2030 is the
    day clocks go forward, so 09:00 is EDT (13:00 UTC), not EST."""
    journey = date_journey(workspace, attribute="appointment_at", offset={"value": -1, "unit": "days"}, time="09:00")
    customer = customers(
        workspace, 1, timezone="America/New_York", attributes={"appointment_at": "2030-03-11T15:00:00"}
    )[0]
    enrollments_create(journey=journey, customer_ids=[customer.id])
    waiting = wait_state(journey, customer, "waiting")
    assert waiting.wake_at == datetime(2030, 3, 10, 13, 0, tzinfo=UTC)
    assert timer_score(waiting.id) == waiting.wake_at.timestamp()


def test_a_date_without_time_from_the_trigger_event_waits_until_the_given_time(workspace, engine):  # noqa: F811
    journey = date_journey(workspace, event_property="delivery_date", time="08:30")
    customer = customers(workspace, 1, timezone="Asia/Seoul")[0]
    enrollments_create(
        journey=journey,
        customer_ids=[customer.id],
        contexts={customer.id: {"event": {"delivery_date": "2031-01-05"}}},
    )
    waiting = wait_state(journey, customer, "waiting")
    assert waiting.wake_at == datetime(2031, 1, 4, 23, 30, tzinfo=UTC)  # 08:30 KST


def test_rescheduling_the_attribute_moves_the_wake_up_and_a_past_one_takes_missed(
    api, workspace, engine  # noqa: F811
):
    journey = date_journey(workspace, attribute="appointment_at", offset={"value": -2, "unit": "hours"})
    customer, bystander = customers(workspace, 2, attributes={"appointment_at": "2031-06-01T10:00:00Z"})
    enrollments_create(journey=journey, customer_ids=[customer.id, bystander.id])
    first = wait_state(journey, customer, "waiting")
    assert first.wake_at == datetime(2031, 6, 1, 8, 0, tzinfo=UTC)

    answer = api.patch(
        f"/api/v1/customers/{customer.external_id}",
        {"attributes": {"appointment_at": "2031-07-15T16:00:00Z"}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    moved = datetime(2031, 7, 15, 14, 0, tzinfo=UTC)
    wait_for(lambda: Enrollment.objects.unscoped().get(pk=first.pk).wake_at == moved, timeout=20)
    assert timer_score(first.pk) == moved.timestamp()
    assert Enrollment.objects.unscoped().get(journey=journey, customer=bystander).wake_at == first.wake_at

    api.patch(
        f"/api/v1/customers/{customer.external_id}",
        {"attributes": {"appointment_at": "2021-07-15T16:00:00Z"}},
        format="json",
    )
    assert final_node(journey, customer) == "missed"
    assert Enrollment.objects.unscoped().get(journey=journey, customer=bystander).state == "waiting"


@pytest.mark.parametrize(
    "config,field",
    [
        ({}, "attribute"),
        ({"attribute": "a", "event_property": "b"}, "attribute"),
        ({"attribute": ""}, "attribute"),
        ({"attribute": "a", "offset": {"value": 1.5, "unit": "days"}}, "offset.value"),
        ({"attribute": "a", "offset": {"value": -1, "unit": "fortnights"}}, "offset.unit"),
        ({"attribute": "a", "time": "9am"}, "time"),
    ],
)
def test_a_bad_date_wait_is_invalid_naming_the_field(config, field):
    graph = {
        "nodes": [node("start", "start"), node("w", "wait", {"mode": "date", **config})],
        "edges": [edge("start", "next", "w")],
    }
    problems = graph_validate(graph=graph)
    assert ("w", f"config.{field}") in {(p.node_id, p.field) for p in problems}, problems
