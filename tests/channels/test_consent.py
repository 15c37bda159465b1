"""Topic and channel opt-outs at send time: a marketing message to a customer who opted out fails
with `unsubscribed` and sends nothing; a transactional one ignores opt-outs but not a missing
address; a message node must name a topic that exists."""

from __future__ import annotations

import pytest

from audiences.topics import Topic
from channels_app.models import Message
from channels_app.services import MessageStep, channel_create, message_prepare, messages_send

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def _topic(workspace, key, default="subscribed"):
    return Topic.objects.for_workspace(workspace).create(workspace=workspace, key=key, name=key, default=default)


def _send(workspace, customer, **config):
    outcome = message_prepare(
        step=MessageStep(
            workspace=workspace,
            customer=customer,
            config={"channel": "sms", "content": {"text": "Hi"}, **config},
            node_id="m1",
        )
    )
    if outcome.kind == "queued":
        messages_send(message_ids=[outcome.message.pk], workspace_id=workspace.pk)
    outcome.message.refresh_from_db()
    return outcome.message


@pytest.fixture
def sms(workspace, http_server):
    http_server.route("POST", "/sms", 200, {"id": "p1"})
    channel_create(
        workspace=workspace, channel="sms", provider="http", name="S",
        credentials={"url": f"{http_server.url}/sms"},
    )
    return http_server


def test_topic_choice_and_default_decide_marketing_sends(workspace, sms):
    _topic(workspace, "news")
    _topic(workspace, "deals", default="unsubscribed")
    out = make_customer(workspace, "out", phone="+15550001", subscriptions={"news": False})
    opted_in = make_customer(workspace, "in", phone="+15550002", subscriptions={"deals": True})
    assert (_send(workspace, out, topic="news").status, _send(workspace, out, topic="news").error) == (
        "failed", "unsubscribed",
    )
    assert _send(workspace, out, topic="deals").error == "unsubscribed"  # default unsubscribed
    assert _send(workspace, opted_in, topic="news").status == "sent"  # default subscribed
    assert _send(workspace, opted_in, topic="deals").status == "sent"  # chose in
    assert len(sms.requests) == 2  # nothing went to the provider for the refused ones


def test_channel_opt_out_blocks_marketing_only(workspace, sms):
    _topic(workspace, "news")
    customer = make_customer(workspace, phone="+15550001", unsubscribed=["sms"], subscriptions={"news": False})
    marketing = _send(workspace, customer, topic="news")
    assert (marketing.status, marketing.error, marketing.category) == ("failed", "unsubscribed", "marketing")
    transactional = _send(workspace, customer, topic="news", category="transactional")
    assert (transactional.status, transactional.category) == ("sent", "transactional")
    assert len(sms.requests) == 1


def test_transactional_still_needs_an_address(workspace, sms):
    customer = make_customer(workspace, phone="")
    message = _send(workspace, customer, category="transactional")
    assert (message.status, message.error) == ("failed", "no_address")
    assert sms.requests == []


def _journey(api, config):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "m", "type": "message", "config": {"channel": "sms", "content": {"text": "Hi"}, **config}},
        ],
        "edges": [{"source": "start", "source_handle": "next", "target": "m"}],
    }
    journey = api.post(
        "/api/v1/journeys", {"name": "J", "graph": graph, "settings": {"entry": {"type": "api"}}}, format="json"
    ).json()
    return api.post(f"/api/v1/journeys/{journey['id']}/validate").json()


def test_validate_names_an_unknown_topic_and_category(api, workspace, other_workspace):
    _topic(other_workspace, "news")  # another workspace's topic is no topic here
    body = _journey(api, {"topic": "news", "category": "promo"})
    fields = {(e["node_id"], e["field"]) for e in body["errors"]}
    assert {("m", "config.topic"), ("m", "config.category")} <= fields
    _topic(workspace, "news")
    body = _journey(api, {"topic": "news", "category": "transactional"})
    assert not [e for e in body["errors"] if e["field"] in ("config.topic", "config.category")]
    assert Message.objects.for_workspace(workspace).count() == 0
