"""Simulate mode through the engine's entry point (POST /journeys/{id}/simulate): message nodes
render their content and webhook nodes their request, and nothing is sent, called or stored."""

from __future__ import annotations

from channels_app.models import DeliveryEvent, Message, WebhookCall
from channels_app.services import channel_create
from journeys.services import journey_create

from .conftest import make_customer


def _draft(workspace, hook_url: str):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {
                "id": "mail",
                "type": "message",
                "config": {
                    "channel": "email",
                    "content": {
                        "subject": "Hi {{ customer.first_name | default: 'there' }}",
                        "html": "<p>Your plan: {{ customer.plan }}</p>",
                        "text": "Your plan: {{ customer.plan }}",
                    },
                    "await": {"status": "opened", "within": {"value": 1, "unit": "days"}},
                },
            },
            {
                "id": "hook",
                "type": "webhook",
                "config": {
                    "method": "POST",
                    "url": hook_url + "?who={{ customer.external_id }}",
                    "body": {"plan": "{{ customer.plan }}"},
                },
            },
            {"id": "done", "type": "exit", "config": {}},
            {"id": "not_opened", "type": "exit", "config": {}},
            {"id": "broken", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "mail"},
            {"source": "mail", "source_handle": "yes", "target": "hook"},
            {"source": "mail", "source_handle": "no", "target": "not_opened"},
            {"source": "mail", "source_handle": "failed", "target": "broken"},
            {"source": "hook", "source_handle": "next", "target": "done"},
            {"source": "hook", "source_handle": "failed", "target": "broken"},
        ],
    }
    return journey_create(
        workspace=workspace,
        actor=None,
        name="Sim",
        graph=graph,
        settings={"entry": {"type": "api"}},
    )


def test_simulate_renders_messages_and_webhooks_and_sends_nothing(
    api, workspace, http_server, smtp_server
):
    channel_create(
        workspace=workspace,
        channel="email",
        provider="smtp",
        name="Mail",
        credentials={"host": "127.0.0.1", "port": smtp_server.port},
        settings={"from_email": "shop@example.com"},
    )
    http_server.route("POST", "/hook", 200, {"ok": True})
    make_customer(
        workspace, "ann", email="ann@example.com", attributes={"first_name": "Ann", "plan": "pro"}
    )
    journey = _draft(workspace, f"{http_server.url}/hook")

    response = api.post(
        f"/api/v1/journeys/{journey.pk}/simulate", {"customer_id": "ann"}, format="json"
    )

    assert response.status_code == 200, response.json()
    steps = {s["node_id"]: s for s in response.json()["steps"] if s["kind"] == "passed"}
    mail = steps["mail"]["data"]["message"]
    assert mail["channel"] == "email"
    assert mail["content"]["subject"] == "Hi Ann"
    assert mail["content"]["text"] == "Your plan: pro"
    assert steps["mail"]["handle"] == "yes"
    hook = steps["hook"]["data"]["webhook"]
    assert hook["url"] == f"{http_server.url}/hook?who=ann"
    assert hook["body"] == {"plan": "pro"}
    assert steps["hook"]["handle"] == "next"
    # Nothing left the building and nothing was stored.
    assert smtp_server.envelopes == []
    assert http_server.requests == []
    assert not Message.objects.for_workspace(workspace).exists()
    assert not DeliveryEvent.objects.for_workspace(workspace).exists()
    assert not WebhookCall.objects.for_workspace(workspace).exists()


def test_simulate_reports_a_message_that_could_not_render(api, workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {
                "id": "sms",
                "type": "message",
                "config": {"channel": "sms", "content": {"text": "{{ customer.bio }}"}},
            },
            {"id": "done", "type": "exit", "config": {}},
            {"id": "broken", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "sms"},
            {"source": "sms", "source_handle": "next", "target": "done"},
            {"source": "sms", "source_handle": "failed", "target": "broken"},
        ],
    }
    journey = journey_create(
        workspace=workspace,
        actor=None,
        name="Empty",
        graph=graph,
        settings={"entry": {"type": "api"}},
    )
    response = api.post(
        f"/api/v1/journeys/{journey.pk}/simulate",
        {"customer": {"external_id": "x", "phone": "+15550001", "attributes": {"bio": ""}}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    [step] = [
        s for s in response.json()["steps"] if s["node_id"] == "sms" and s["kind"] == "passed"
    ]
    assert step["handle"] == "failed"
    assert step["data"]["message"]["error"]
    assert not Message.objects.for_workspace(workspace).exists()
