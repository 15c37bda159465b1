"""A failed send never silently ends a journey: an unconnected `failed` on a message or webhook node
goes on along `next` (through the real engine and worker), is counted on the node, is a warning in
`validate`, and Simulate shows the same failure the engine would meet."""

from __future__ import annotations

import pytest

from analytics.selectors import journey_live_counts
from analytics.services import rollups_refresh
from channels_app.models import Message
from channels_app.services import channel_create
from journeys.dispatch import advance_enqueue
from journeys.models import Enrollment
from journeys.services import journey_create
from tests.engine.conftest import engine, timers_pump  # noqa: F401  (fixtures)
from tests.engine.helpers import chain, customers, edge, history, node, published, wait_state

WHATSAPP = {"channel": "whatsapp", "content": {"text": "Hi on WhatsApp"}}
EMAIL = {"channel": "email", "content": {"subject": "Hi", "html": "<p>Hi</p>"}}
SMS = {"channel": "sms", "content": {"text": "Hi by SMS"}}


def _sandboxes(workspace, *channels):
    for channel in channels:
        channel_create(workspace=workspace, channel=channel, provider="sandbox", name=channel)


def _graph():
    return chain(
        node("start", "start"),
        node("wa", "message", WHATSAPP),
        node("mail", "message", EMAIL),
        node("sms", "message", SMS),
        node("end", "exit"),
    )


def test_a_failed_send_with_failed_unconnected_goes_on_along_next(engine, workspace, api):  # noqa: F811
    _sandboxes(workspace, "whatsapp", "email", "sms")
    journey = published(workspace, _graph())
    (ann,) = customers(workspace, 1, email="ann@example.com", phone="")
    response = api.post(
        f"/api/v1/journeys/{journey.pk}/enrollments", {"customer_ids": [ann.external_id]}, format="json"
    )
    assert response.status_code == 202, response.content

    done = wait_state(journey, ann, "completed")
    steps = history(done)
    assert ("wa", "passed", "failed") in steps
    assert ("end", "completed", "") in steps  # she got through to the end, not stopped at WhatsApp
    sent = dict(Message.objects.for_workspace(workspace).filter(customer=ann).values_list("node_id", "error"))
    assert sent == {"wa": "no_address", "mail": "", "sms": "no_address"}

    rollups_refresh()
    nodes = {n["node_id"]: n for n in api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["nodes"]}
    assert nodes["wa"]["failed"] == 1 and nodes["wa"]["handles"]["failed"] == 1
    assert nodes["mail"]["failed"] == 0 and nodes["mail"]["entered"] == 1
    assert nodes["end"]["completed"] == 1
    live = journey_live_counts(journey_id=journey.pk, workspace_id=workspace.pk)  # the canvas socket's numbers
    assert live["nodes"]["wa"]["failed"] == 1 and live["nodes"]["mail"]["failed"] == 0


def test_a_connected_failed_still_decides_where_the_customer_goes(engine, workspace):  # noqa: F811
    _sandboxes(workspace, "whatsapp", "email", "sms")
    graph = _graph()
    graph["nodes"].append(node("sorry", "exit"))
    graph["edges"].append(edge("wa", "failed", "sorry"))
    journey = published(workspace, graph)
    (bob,) = customers(workspace, 1, prefix="bob", email="bob@example.com", phone="")
    e = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=journey.live_version, customer=bob, node_id="start"
    )
    advance_enqueue([[e.id, None, None]])
    done = wait_state(journey, bob, "completed")
    assert ("sorry", "completed", "") in history(done)
    assert not Message.objects.for_workspace(workspace).filter(customer=bob, node_id="mail").exists()


def test_validate_warns_about_an_unconnected_failed_and_start_is_allowed(workspace, api):
    _sandboxes(workspace, "whatsapp", "email", "sms")
    graph = _graph()
    graph["nodes"].append(node("sorry", "exit"))
    graph["edges"].append(edge("mail", "failed", "sorry"))
    journey = journey_create(workspace=workspace, actor=None, name="W", graph=graph,
                             settings={"entry": {"type": "api"}})
    body = api.post(f"/api/v1/journeys/{journey.pk}/validate").json()
    assert body["valid"] is True and body["errors"] == []
    warned = {(w["node_id"], w["field"]) for w in body["warnings"]}
    assert warned == {("wa", "handles.failed"), ("sms", "handles.failed")}
    assert "goes on along 'next'" in body["warnings"][0]["message"]
    assert api.put(f"/api/v1/journeys/{journey.pk}/start", {}, format="json").status_code == 200


def _simulate(api, workspace, customer: dict, settings: dict | None = None):
    journey = journey_create(workspace=workspace, actor=None, name="S", graph=_graph(),
                             settings={"entry": {"type": "api"}, **(settings or {})})
    response = api.post(f"/api/v1/journeys/{journey.pk}/simulate", {"customer": customer}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _left(body, node_id):
    step = next(s for s in body["steps"] if s["node_id"] == node_id and s["kind"] == "passed")
    return step["handle"], step["data"].get("reason", "")


@pytest.mark.parametrize(
    "customer, channels, reason",
    [
        ({"external_id": "x", "email": "x@example.com"}, ("whatsapp", "email", "sms"), "no_address"),
        ({"external_id": "x", "email": "x@example.com", "phone": "+15550001"}, ("email", "sms"),
         "no_channel_configured"),
    ],
)
def test_simulate_shows_the_send_failures_the_engine_would_meet(workspace, api, customer, channels, reason):
    _sandboxes(workspace, *channels)
    body = _simulate(api, workspace, customer)
    assert _left(body, "wa") == ("failed", reason)
    assert _left(body, "mail") == ("next", "")
    assert body["state"] == "completed"


def test_simulate_fails_a_send_to_a_customer_unsubscribed_from_the_channel(workspace, api):
    _sandboxes(workspace, "whatsapp", "email", "sms")
    customers(workspace, 1, prefix="u", email="u@example.com", phone="+15550001", unsubscribed=["email"])
    journey = journey_create(workspace=workspace, actor=None, name="S", graph=_graph(),
                             settings={"entry": {"type": "api"}})
    body = api.post(f"/api/v1/journeys/{journey.pk}/simulate", {"customer_id": "u0"}, format="json").json()
    assert _left(body, "wa") == ("next", "")
    assert _left(body, "mail") == ("failed", "unsubscribed")
    assert _left(body, "sms") == ("next", "")


def test_a_message_whose_channel_is_not_set_up_is_an_error_and_start_is_refused(workspace, api):
    _sandboxes(workspace, "whatsapp", "email")  # no SMS channel
    journey = journey_create(workspace=workspace, actor=None, name="N", graph=_graph(),
                             settings={"entry": {"type": "api"}})
    body = api.post(f"/api/v1/journeys/{journey.pk}/validate").json()
    assert body["valid"] is False
    assert body["errors"] == [{"node_id": "sms", "field": "config.channel",
                               "message": "No SMS channel set up: add one in Channels, or every send fails."}]
    refused = api.put(f"/api/v1/journeys/{journey.pk}/start", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["errors"][0]["node_id"] == "sms"

    _sandboxes(workspace, "sms")
    assert api.put(f"/api/v1/journeys/{journey.pk}/start", {}, format="json").status_code == 200
