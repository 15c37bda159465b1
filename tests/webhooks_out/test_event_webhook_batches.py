"""Batched event webhooks against local receivers that check every Waymark-Signature: a webhook
with batch_size > 1 gets a burst of events in a few signed POSTs, each event in exactly one of them
with its own id and its own delivery-log row; one of batch size 1 beside it still gets one POST per
event; a receiver down for a while gets every event, batched, once it is back."""

from __future__ import annotations

from collections import Counter

import pytest

from config.celery import app as celery_app
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from tests.conftest import make_client, wait_for
from tests.engine.helpers import chain, customers, node, published
from tests.webhooks_out.test_event_webhooks import (  # noqa: F401  (fixture)
    Receiver,
    pump_until,
    receiver,
    register,
)
from webhooks_out.models import EventDelivery

EVENT_KEYS = {"id", "type", "created_at", "data"}


@pytest.fixture
def second_receiver():
    server = Receiver().start()
    yield server
    server.stop()


def entered_by(workspace, count: int, prefix: str) -> None:
    """`count` customers enter (and at once complete) a journey; returns when every step event
    is written, so the next pump fans all of them out together."""
    journey = published(workspace, chain(node("start", "start")))
    people = customers(workspace, count, prefix=prefix)
    enrollments_create(journey=journey, customer_ids=[person.pk for person in people])
    wait_for(
        lambda: Enrollment.objects.for_workspace(workspace)
        .filter(journey=journey, state="completed")
        .count()
        == count,
        timeout=60,
    )


def assert_each_event_once(server: Receiver, customer_ids: set[str]) -> None:
    assert server.bad_signatures == 0
    assert all(set(event) == EVENT_KEYS for event in server.received)
    assert set(Counter(event["id"] for event in server.received).values()) == {1}
    assert {event["data"]["customer_id"] for event in server.received} == customer_ids


@pytest.mark.django_db
def test_batch_size_defaults_to_one_and_is_bounded(api, receiver):  # noqa: F811
    created = register(api, receiver, ["journey.entered"])
    assert created["batch_size"] == 1
    url = f"/api/v1/event-webhooks/{created['id']}"
    for wrong in (0, 101, "many"):
        refused = api.patch(url, {"batch_size": wrong}, format="json")
        assert refused.status_code == 400 and "batch_size" in refused.json()["error"]["details"]
    assert api.patch(url, {"batch_size": 25}, format="json").json()["batch_size"] == 25
    assert api.get(url).json()["batch_size"] == 25


def test_batch_deliveries_go_on_the_outbound_queue():
    for task in ("event_batch_delivery_task", "event_delivery_task"):
        route = celery_app.amqp.router.route({}, f"webhooks_out.tasks.{task}")
        assert route["queue"].name == "outbound"  # never the engine's


def test_a_burst_arrives_in_batches_and_batch_size_one_is_unchanged(
    celery_worker, workspace, receiver, second_receiver  # noqa: F811
):
    api = make_client(workspace)
    batched = register(api, receiver, ["journey.entered"], batch_size=50)
    single = register(api, second_receiver, ["journey.entered"])
    entered_by(workspace, 120, "v")

    pump_until(
        lambda: len(receiver.received) >= 120 and len(second_receiver.received) >= 120, timeout=60
    )
    everyone = {f"v{i}" for i in range(120)}
    assert_each_event_once(receiver, everyone)
    assert_each_event_once(second_receiver, everyone)

    # Batch size 50: three signed POSTs of 50, 50 and 20 events in the batch body.
    assert sorted(len(post["data"]["events"]) for post in receiver.posts) == [20, 50, 50]
    for post in receiver.posts:
        assert set(post) == EVENT_KEYS and post["type"] == "batch"
        assert post["id"].startswith("batch_")
    # Batch size 1: every event in a POST of its own, exactly as before batches existed.
    assert len(second_receiver.posts) == 120
    assert all(post["type"] == "journey.entered" for post in second_receiver.posts)

    # Each event keeps its own delivery-log row, naming the POST that carried it. The worker marks
    # a row delivered after its POST was answered, so the last rows may still be writing when the
    # receiver has every POST.
    rows = EventDelivery.objects.for_workspace(workspace)
    wait_for(lambda: not rows.exclude(status="delivered").exists(), timeout=30)
    assert {
        (row.status, row.attempts, row.batch_id) for row in rows.filter(webhook_id=single["id"])
    } == {("delivered", 1, "")}
    batched_rows = list(rows.filter(webhook_id=batched["id"]))
    assert len(batched_rows) == 120
    assert {(row.status, row.attempts) for row in batched_rows} == {("delivered", 1)}
    assert {row.batch_id for row in batched_rows} == {post["id"] for post in receiver.posts}
    (shown, *_) = api.get(f"/api/v1/event-webhooks/{batched['id']}/deliveries").json()["results"]
    assert shown["batch_id"].startswith("batch_") and shown["status"] == "delivered"


def test_a_receiver_down_for_a_while_gets_every_event_batched_when_back(
    celery_worker, workspace, receiver, settings  # noqa: F811
):
    settings.EVENT_WEBHOOK_RETRY_BASE_SECONDS = 0.3
    register(make_client(workspace), receiver, ["journey.entered"], batch_size=20)
    receiver.stop()
    entered_by(workspace, 60, "d")

    deliveries = EventDelivery.objects.for_workspace(workspace)
    pump_until(
        lambda: deliveries.count() == 60 and not deliveries.filter(attempts__lt=2).exists(),
        timeout=60,
    )
    assert not deliveries.exclude(status="pending").exists()
    assert all(row.last_error and row.batch_id.startswith("batch_") for row in deliveries)

    receiver.start()  # back on the same address
    pump_until(lambda: deliveries.filter(status="delivered").count() == 60, timeout=60)
    assert_each_event_once(receiver, {f"d{i}" for i in range(60)})  # nothing lost
    # Retried together, they arrive together: far fewer POSTs than events.
    assert len(receiver.posts) <= 60 // 5, [len(post["data"]["events"]) for post in receiver.posts]
