"""The message node through the real engine and a real Celery worker: send → await → yes/no/failed."""

from __future__ import annotations

from channels_app.models import Message
from channels_app.services import channel_create, message_receipt
from journeys.dispatch import advance_enqueue
from journeys.models import Enrollment, JourneyVersion, StepEvent
from journeys.services import journey_create, journey_start
from journeys.timers import pump_once
from tests.conftest import wait_for

from .conftest import make_customer


def _journey(workspace, within_seconds=60):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {
                "id": "sms",
                "type": "message",
                "config": {
                    "channel": "sms",
                    "content": {"text": "Hi {{ customer.first_name }}"},
                    "await": {
                        "status": "delivered",
                        "within": {"value": within_seconds, "unit": "seconds"},
                    },
                },
            },
            {"id": "done_yes", "type": "exit", "config": {}},
            {"id": "done_no", "type": "exit", "config": {}},
            {"id": "done_failed", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "sms"},
            {"source": "sms", "source_handle": "yes", "target": "done_yes"},
            {"source": "sms", "source_handle": "no", "target": "done_no"},
            {"source": "sms", "source_handle": "failed", "target": "done_failed"},
        ],
    }
    journey = journey_create(
        workspace=workspace,
        actor=None,
        name="Await",
        graph=graph,
        settings={"entry": {"type": "api"}},
    )
    return journey_start(journey=journey, actor=None)


def _enroll(workspace, journey, customer) -> Enrollment:
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    enrollment = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=version, customer=customer, node_id="start"
    )
    advance_enqueue([[enrollment.id, None, None]])
    return enrollment


def _passed_handle(enrollment, node_id="sms"):
    return (
        StepEvent.objects.for_workspace(enrollment.workspace_id)
        .filter(enrollment=enrollment, node_id=node_id, kind="passed")
        .values_list("handle", flat=True)
        .first()
    )


def test_await_yes_when_the_receipt_arrives(celery_worker, workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    journey = _journey(workspace)
    customer = make_customer(workspace, phone="+1555", attributes={"first_name": "Ann"})
    enrollment = _enroll(workspace, journey, customer)
    message = wait_for(
        lambda: (
            Message.objects.for_workspace(workspace)
            .filter(enrollment=enrollment, status="sent")
            .first()
        )
    )
    assert message.content["text"] == "Hi Ann"
    wait_for(
        lambda: (
            Enrollment.objects.for_workspace(workspace)
            .get(pk=enrollment.pk)
            .wait.get("data", {})
            .get("phase")
            == "await"
        )
    )
    message_receipt(message=message, status="delivered", source="api")
    assert wait_for(lambda: _passed_handle(enrollment)) == "yes"


def test_await_no_when_the_window_passes(celery_worker, workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    journey = _journey(workspace, within_seconds=1)
    enrollment = _enroll(workspace, journey, make_customer(workspace, phone="+1555"))

    def moved():
        pump_once()
        return _passed_handle(enrollment)

    assert wait_for(moved, timeout=20) == "no"


def test_failed_when_there_is_no_address(celery_worker, workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    journey = _journey(workspace)
    enrollment = _enroll(workspace, journey, make_customer(workspace, phone=""))
    assert wait_for(lambda: _passed_handle(enrollment)) == "failed"
    assert Message.objects.for_workspace(workspace).get(enrollment=enrollment).error == "no_address"


def test_a_send_whose_signal_was_lost_wakes_its_enrollment_on_redelivery(transactional_db, workspace):
    """kill -9 between the send's commit and publishing its signal: acks_late redelivers the send
    task, which finds the message sent and the enrollment still waiting for it, and wakes it now
    (not SEND_CHECK_AFTER = 10 minutes later)."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    from config.celery import app
    from journeys.engine import advance

    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    journey = journey_create(
        workspace=workspace, actor=None, name="Lost signal", settings={"entry": {"type": "api"}},
        graph={
            "nodes": [
                {"id": "start", "type": "start", "config": {}},
                {"id": "sms", "type": "message", "config": {"channel": "sms", "content": {"text": "Hi"}}},
                {"id": "done", "type": "exit", "config": {}},
            ],
            "edges": [
                {"source": "start", "source_handle": "next", "target": "sms"},
                {"source": "sms", "source_handle": "next", "target": "done"},
            ],
        },
    )
    journey = journey_start(journey=journey, actor=None)
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    enrollment = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=version,
        customer=make_customer(workspace, phone="+1555"), node_id="start",
    )
    advance(items=[[enrollment.id, None, None]])  # queues the message and its send task (no worker yet)
    message = Message.objects.for_workspace(workspace).get(enrollment=enrollment)
    assert message.status == "queued"
    # What the killed worker committed before it died: the provider took the message.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE channels_app_message SET status = 'sent', sent_at = now() WHERE id = %s", [message.id])

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      queues=["timers", "engine", "messages", "imports", "default"], shutdown_timeout=30):
        # The send task (as redelivered) runs: nothing to send, but the enrollment moves on.
        assert wait_for(lambda: _passed_handle(enrollment)) == "next"
        assert wait_for(lambda: Enrollment.objects.for_workspace(workspace).get(pk=enrollment.pk).state) == "completed"
    assert Message.objects.for_workspace(workspace).filter(enrollment=enrollment).count() == 1
