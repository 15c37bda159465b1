"""The debugger timeline GET /journeys/{id}/enrollments/{customer_id} (issue #7 item 5): every node
visited, the handle taken, the wait scheduled with its wake time, the message and its statuses."""

from __future__ import annotations

from datetime import datetime

from audiences.models import Customer
from channels_app.models import Message
from channels_app.services import message_receipt
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from tests.analytics.helpers import sms_then_wait_journey
from tests.conftest import wait_for


def test_timeline_shows_nodes_handles_the_wait_and_the_message_with_its_statuses(workspace, engine, viewer_api):
    journey = sms_then_wait_journey(workspace)
    ada = Customer.objects.unscoped().create(workspace=workspace, external_id="ada", phone="+15550001111")
    enrollments_create(journey=journey, customer_ids=[ada.id])
    # (The message node itself waits for its send first.)
    wait_for(lambda: Enrollment.objects.for_workspace(workspace)
             .filter(journey=journey, node_id="pause", state="waiting").exists(), timeout=30)
    message = Message.objects.for_workspace(workspace).get(journey=journey)
    for status in ("delivered", "clicked"):
        message_receipt(message=message, status=status, source="api")

    response = viewer_api.get(f"/api/v1/journeys/{journey.pk}/enrollments/ada")
    assert response.status_code == 200, response.content
    body = response.json()
    steps = [(h["node_id"], h["kind"], h["handle"]) for h in body["history"]]
    for visited in ("start", "sms", "pause"):
        assert any(n == visited and k in ("entered", "arrived") for n, k, _ in steps), (visited, steps)
    assert ("start", "passed", "next") in steps and ("sms", "passed", "next") in steps
    waiting = next(h for h in body["history"] if h["kind"] == "waiting" and h["node_id"] == "pause")
    wake_at = datetime.fromisoformat(waiting["data"]["wake_at"])
    assert wake_at == datetime.fromisoformat(body["wake_at"].replace("Z", "+00:00"))
    assert 3500 < (wake_at - datetime.fromisoformat(waiting["at"].replace("Z", "+00:00"))).total_seconds() <= 3600

    [sent] = body["messages"]
    assert sent["id"] == message.pk and sent["node_id"] == "sms" and sent["channel"] == "sms"
    assert sent["status"] == "clicked"
    assert [e["status"] for e in sent["events"]] == ["queued", "sent", "delivered", "clicked"]
    assert [e["source"] for e in sent["events"]][2:] == ["api", "api"]
    assert [e["at"] for e in sent["events"]] == sorted(e["at"] for e in sent["events"])
    # The message points at the history step that sent it.
    assert any(h["node_id"] == "sms" and h["step_seq"] == sent["step_seq"] for h in body["history"])
    assert any(h["data"].get("message_id") == message.pk for h in body["history"] if h["node_id"] == "sms")

