"""Outbound event webhooks end to end: the API, the real engine and a real Celery worker raising
events, and a local receiver that checks every Waymark-Signature, goes down and comes back."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from channels_app.models import Message
from channels_app.services import channel_create, customer_unsubscribe, message_receipt
from journeys.enrollments import enrollments_create
from journeys.services import journey_create, journey_start
from tests.conftest import make_client, sandbox_channels, wait_for
from tests.engine.helpers import chain, customers, node, published, send_events, wait_state
from webhooks_out.models import EVENT_TYPES, EventDelivery, EventWebhook
from webhooks_out.services import event_webhooks_pump


class Receiver:
    """An HTTP server on 127.0.0.1 that accepts a POST only with a valid, fresh signature; it
    can be stopped and started again on the same port (a receiver that is down for a while).
    `posts` are the bodies accepted; `received` the events in them (a batch's one by one)."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/waymark"
        self.secret = ""
        self.status = 200
        self.posts: list[dict] = []
        self.received: list[dict] = []
        self.bad_signatures = 0
        self._server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.signature_valid(self.headers.get("Waymark-Signature", ""), body):
                    receiver.bad_signatures += 1
                    self.send_response(400)
                elif receiver.status >= 300:
                    self.send_response(receiver.status)
                else:
                    post = json.loads(body)
                    receiver.posts.append(post)
                    batch = post["data"]["events"] if post["type"] == "batch" else [post]
                    receiver.received.extend(batch)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def signature_valid(self, header: str, body: bytes) -> bool:
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if not parts.get("t", "").isdigit() or abs(time.time() - int(parts["t"])) > 300:
            return False
        expected = hmac.new(
            self.secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    def types(self) -> list[str]:
        return [event["type"] for event in self.received]


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def register(api, receiver: Receiver, events: list[str], **more) -> dict:
    response = api.post(
        "/api/v1/event-webhooks", {"url": receiver.url, "events": events, **more}, format="json"
    )
    assert response.status_code == 201, response.json()
    receiver.secret = response.json()["secret"]
    return response.json()


def sms_journey(workspace):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {
                "id": "sms",
                "type": "message",
                "config": {"channel": "sms", "content": {"text": "Hi"}},
            },
            {"id": "done", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "sms"},
            {"source": "sms", "source_handle": "next", "target": "done"},
        ],
    }
    journey = journey_create(
        workspace=workspace,
        actor=None,
        name="Welcome",
        graph=graph,
        settings={"entry": {"type": "api"}},
    )
    return journey_start(journey=journey, actor=None)


def enroll(workspace, journey, people) -> None:
    enrollments_create(journey=journey, customer_ids=[person.pk for person in people])


def pump_until(predicate, timeout: float = 30.0):
    """Runs the periodic pump (beat does in production) until `predicate` holds."""
    return wait_for(
        lambda: event_webhooks_pump() is not None and predicate(), timeout=timeout, interval=0.2
    )


@pytest.mark.django_db
def test_register_list_change_and_delete(api, workspace, other_workspace, receiver):
    created = register(api, receiver, ["message.sent", "journey.entered"])
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["journey.entered", "message.sent"]
    (listed,) = api.get("/api/v1/event-webhooks").json()["results"]
    assert listed["id"] == created["id"] and "secret" not in listed

    changed = api.patch(
        f"/api/v1/event-webhooks/{created['id']}",
        {"enabled": False, "description": "CRM"},
        format="json",
    )
    assert changed.status_code == 200
    assert (changed.json()["enabled"], changed.json()["description"]) == (False, "CRM")

    unknown = api.post(
        "/api/v1/event-webhooks",
        {"url": receiver.url, "events": ["message.teleported"]},
        format="json",
    )
    assert unknown.status_code == 400 and "events" in unknown.json()["error"]["details"]
    not_http = api.post(
        "/api/v1/event-webhooks",
        {"url": "ftp://example.com/x", "events": ["message.sent"]},
        format="json",
    )
    assert not_http.status_code == 400 and "url" in not_http.json()["error"]["details"]

    rival = make_client(other_workspace)
    assert rival.get(f"/api/v1/event-webhooks/{created['id']}").status_code == 404
    assert rival.delete(f"/api/v1/event-webhooks/{created['id']}").status_code == 404
    assert api.delete(f"/api/v1/event-webhooks/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/event-webhooks/{created['id']}").status_code == 404


@pytest.mark.django_db
def test_the_event_types_are_listed_with_what_they_mean(api):
    listed = api.get("/api/v1/event-webhooks/event-types")
    assert listed.status_code == 200
    assert [row["type"] for row in listed.json()] == list(EVENT_TYPES)
    assert all(row["description"] for row in listed.json())


def test_the_test_delivery_arrives_signed_and_is_listed(celery_worker, workspace, receiver):
    api = make_client(workspace)
    webhook = register(api, receiver, ["message.sent"])
    answer = api.post(f"/api/v1/event-webhooks/{webhook['id']}/test")
    assert answer.status_code == 202
    wait_for(lambda: receiver.received)
    (event,) = receiver.received
    assert event["type"] == "webhook.test" and set(event) == {"id", "type", "created_at", "data"}
    deliveries = api.get(f"/api/v1/event-webhooks/{webhook['id']}/deliveries").json()["results"]
    assert [(d["status"], d["attempts"], d["response_code"]) for d in deliveries] == [
        ("delivered", 1, 200)
    ]
    assert receiver.bad_signatures == 0


def test_journey_and_message_events_reach_the_receiver(celery_worker, workspace, receiver):
    api = make_client(workspace)
    register(
        api,
        receiver,
        [
            "journey.entered",
            "journey.completed",
            "journey.exited",
            "message.sent",
            "message.delivered",
            "customer.unsubscribed",
        ],
    )
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    journey = sms_journey(workspace)
    (ann,) = customers(workspace, 1, prefix="ann", phone="+15550001")
    enroll(workspace, journey, [ann])
    message = wait_for(
        lambda: Message.objects.for_workspace(workspace).filter(customer=ann, status="sent").first()
    )
    message_receipt(message=message, status="delivered", source="api")
    customer_unsubscribe(message=message)  # the one-click unsubscribe link

    pump_until(
        lambda: (
            {"message.delivered", "customer.unsubscribed"} <= set(receiver.types())
            and len(receiver.types()) >= 5
        )
    )
    by_type = {event["type"]: event for event in receiver.received}
    assert {"journey.entered", "message.sent", "message.delivered"} <= set(by_type)
    assert {"journey.completed", "journey.exited"} & set(by_type)
    assert by_type["journey.entered"]["data"]["customer_id"] == "ann0"
    assert by_type["journey.entered"]["data"]["journey_id"] == journey.pk
    assert by_type["message.sent"]["data"]["message_id"] == message.pk
    assert by_type["message.sent"]["data"]["channel"] == "sms"
    unsubscribed = by_type["customer.unsubscribed"]["data"]
    assert (unsubscribed["customer_id"], unsubscribed["channel"]) == ("ann0", "sms")
    assert receiver.bad_signatures == 0
    event_webhooks_pump()  # a later run fans out nothing again
    time.sleep(0.5)
    assert len({event["id"] for event in receiver.received}) == len(receiver.received)


def test_a_receiver_down_for_a_while_gets_every_event_when_it_is_back(
    celery_worker, workspace, receiver, settings
):
    settings.EVENT_WEBHOOK_RETRY_BASE_SECONDS = 0.3
    api = make_client(workspace)
    webhook = register(api, receiver, ["journey.entered"])
    sandbox_channels(workspace, "sms")  # a message node's channel must be set up to start
    journey = sms_journey(workspace)
    receiver.stop()
    people = customers(workspace, 5, prefix="p")
    enroll(workspace, journey, people)

    deliveries = EventDelivery.objects.for_workspace(workspace)
    pump_until(
        lambda: len(rows := list(deliveries.all())) == 5 and all(d.attempts >= 2 for d in rows)
    )
    failing = deliveries.first()
    assert failing.status == "pending" and failing.last_error and failing.next_attempt_at
    assert EventWebhook.objects.unscoped().get(pk=webhook["id"]).failing_since is not None
    listed = api.get(f"/api/v1/event-webhooks/{webhook['id']}/deliveries").json()["results"]
    assert {d["status"] for d in listed} == {"pending"}
    assert all(d["attempts"] >= 2 and d["last_error"] and d["next_attempt_at"] for d in listed)

    receiver.start()  # back on the same address
    pump_until(lambda: deliveries.filter(status="delivered").count() == 5)
    ids = {event["id"] for event in receiver.received}
    assert len(ids) == 5  # nothing lost; a receiver dedupes any repeat by id
    assert {event["data"]["customer_id"] for event in receiver.received} == {
        f"p{i}" for i in range(5)
    }
    assert EventWebhook.objects.unscoped().get(pk=webhook["id"]).failing_since is None
    assert receiver.bad_signatures == 0


def test_a_webhook_failing_for_the_whole_window_is_disabled(
    celery_worker, workspace, receiver, settings
):
    settings.EVENT_WEBHOOK_RETRY_BASE_SECONDS = 0.2
    settings.EVENT_WEBHOOK_RETRY_WINDOW_SECONDS = 2
    api = make_client(workspace)
    webhook = register(api, receiver, ["journey.entered"])
    receiver.status = 500
    sandbox_channels(workspace, "sms")  # a message node's channel must be set up to start
    enroll(workspace, sms_journey(workspace), customers(workspace, 1))

    pump_until(
        lambda: not EventWebhook.objects.unscoped().get(pk=webhook["id"]).enabled, timeout=30
    )
    (delivery,) = EventDelivery.objects.for_workspace(workspace)
    assert delivery.response_code == 500 and delivery.attempts >= 2
    shown = api.get(f"/api/v1/event-webhooks/{webhook['id']}").json()
    assert shown["enabled"] is False and shown["disabled_reason"]
    assert delivery.status == "failed" and delivery.next_attempt_at is None  # given up
    # The owners hear of it once, with the URL and how to turn it back on.
    [told] = [m for m in mail.outbox if "stopped your event webhook" in m.subject]
    assert told.to == ["owner@example.com"] and receiver.url in told.body and '"enabled": true' in told.body
    receiver.status = 200
    enroll(workspace, sms_journey(workspace), customers(workspace, 1, prefix="later"))
    time.sleep(1)
    event_webhooks_pump()
    assert EventDelivery.objects.for_workspace(workspace).count() == 1  # nothing more for it


def test_a_goal_conversion_is_sent_once_with_its_value(celery_worker, workspace, receiver):
    register(make_client(workspace), receiver, ["goal.converted"])
    goal = {
        "id": "bought",
        "name": "Bought",
        "condition": {"event": "purchase"},
        "value": {"property": "amount"},
    }
    journey = published(workspace, chain(node("start", "start")), {"goals": [goal]})
    (buyer,) = customers(workspace, 1, prefix="buyer")
    enrollments_create(journey=journey, customer_ids=[buyer.pk])
    wait_state(journey, buyer, "completed")
    for amount in (30, 99):  # a goal converts once per enrollment
        send_events(
            workspace,
            {"customer_id": "buyer0", "name": "purchase", "properties": {"amount": amount}},
        )

    pump_until(lambda: receiver.received)
    time.sleep(1)
    event_webhooks_pump()
    time.sleep(0.5)
    (event,) = receiver.received
    assert event["type"] == "goal.converted"
    assert (event["data"]["goal_id"], event["data"]["value"], event["data"]["customer_id"]) == (
        "bought",
        30.0,
        "buyer0",
    )


def test_only_events_after_a_webhook_is_registered_are_sent(celery_worker, workspace, receiver):
    journey = published(workspace, chain(node("start", "start")))
    before, after = customers(workspace, 2, prefix="w")
    enrollments_create(journey=journey, customer_ids=[before.pk])
    wait_state(journey, before, "completed")
    event_webhooks_pump()  # with no webhook anywhere the fan-out only moves past these rows

    register(make_client(workspace), receiver, ["journey.entered"])
    enrollments_create(journey=journey, customer_ids=[after.pk])
    pump_until(lambda: receiver.received)
    time.sleep(0.5)
    event_webhooks_pump()
    assert [event["data"]["customer_id"] for event in receiver.received] == ["w1"]
