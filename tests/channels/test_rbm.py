"""RCS Business Messaging against a local RBM server: the service account's OAuth token (its JWT
assertion verified), the agentMessages path, query and body, SMS fallback for phones without
RCS, the design-time limits, and the signed webhook's receipts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from channels_app.callback_urls import rbm_callback_url
from channels_app.models import DeliveryEvent, Message
from channels_app.services import channel_create, channel_test_send, messages_send

from .conftest import make_customer
from .test_providers import _b64d, _service_account

pytestmark = pytest.mark.django_db

PHONE = "+15551234567"
MESSAGES_PATH = f"/v1/phones/{PHONE}/agentMessages"
SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging"


@pytest.fixture
def rbm(http_server):
    """The local RBM: a token endpoint checking the signed assertion, and agentMessages."""
    public_key, account = _service_account(f"{http_server.url}/token")

    def token_endpoint(req):
        form = req.form()
        header, claims, signature = form["assertion"].split(".")
        public_key.verify(
            _b64d(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        claims = json.loads(_b64d(claims))
        if (
            form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer"
            or claims["scope"] != SCOPE
            or claims["aud"] != f"{http_server.url}/token"
        ):
            return 400, {"error": "invalid_grant"}
        return {"access_token": "ya29.rbm", "expires_in": 3600}

    def agent_messages(req):
        if req.headers.get("Authorization") != "Bearer ya29.rbm":
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
        return {"name": f"phones/{PHONE}/agentMessages/{req.query['messageId'][0]}"}

    http_server.route("POST", "/token", 200, token_endpoint)
    http_server.route("POST", MESSAGES_PATH, 200, agent_messages)
    http_server.account = account
    return http_server


def _channel(workspace, server, settings=None):
    return channel_create(
        workspace=workspace,
        channel="rcs",
        provider="rbm",
        name="RBM",
        credentials={
            "service_account_json": json.dumps(server.account),
            "agent_id": "acme_agent",
            "client_token": "hook-secret",
            "base_url": server.url,
        },
        settings=settings or {},
    )


def _send_queued(workspace, config, content, customer=None) -> Message:
    """A queued RCS message sent by the send path (with retries, unlike a test send)."""
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="rcs",
        channel_config=config,
        provider="rbm",
        to=PHONE,
        targets=[PHONE],
        content=content,
    )
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    return message


def _sent(server) -> list:
    return [r for r in server.requests if r.path == MESSAGES_PATH]


def test_text_with_suggestions_is_sent_with_a_bearer_from_the_signed_assertion(workspace, rbm):
    config = _channel(workspace, rbm)
    content = {
        "text": "Your order shipped",
        "suggestions": [
            {"type": "reply", "text": "Thanks", "postback_data": "thanks"},
            {"type": "url", "text": "Track", "url": "https://acme.test/track"},
            {"type": "dial", "text": "Call us", "phone": "+15550000000"},
        ],
    }
    first = channel_test_send(config=config, to=PHONE, content=content)
    second = channel_test_send(config=config, to=PHONE, content={"text": "Again"})
    assert first.status == "sent" and first.provider_message_id == f"waymark-{first.pk}"
    assert second.status == "sent"
    assert len([r for r in rbm.requests if r.path == "/token"]) == 1  # the token is cached
    req = _sent(rbm)[0]
    assert req.query == {"messageId": [f"waymark-{first.pk}"], "agentId": ["acme_agent"]}
    assert req.json() == {
        "contentMessage": {
            "text": "Your order shipped",
            "suggestions": [
                {"reply": {"text": "Thanks", "postbackData": "thanks"}},
                {
                    "action": {
                        "text": "Track",
                        "postbackData": "Track",
                        "openUrlAction": {"url": "https://acme.test/track"},
                    }
                },
                {
                    "action": {
                        "text": "Call us",
                        "postbackData": "Call us",
                        "dialAction": {"phoneNumber": "+15550000000"},
                    }
                },
            ],
        }
    }


def test_carousel_and_standalone_card(workspace, rbm):
    config = _channel(workspace, rbm)
    card = {"title": "Lamp", "media_url": "https://acme.test/lamp.jpg", "media_height": "TALL"}
    channel_test_send(
        config=config,
        to=PHONE,
        content={
            "text": "Our picks",
            "card_width": "SMALL",
            "cards": [card, {"title": "Chair", "description": "Oak"}],
        },
    )
    channel_test_send(
        config=config,
        to=PHONE,
        content={
            "text": "Hi {{ 'ann' | capitalize }}",
            "card": {
                "title": "For {{ 'ann' | capitalize }}",
                "suggestions": [{"text": "Buy", "postback_data": "buy"}],
            },
        },
    )
    carousel, standalone = (r.json()["contentMessage"] for r in _sent(rbm))
    assert carousel == {
        "richCard": {
            "carouselCard": {
                "cardWidth": "SMALL",
                "cardContents": [
                    {
                        "title": "Lamp",
                        "media": {
                            "height": "TALL",
                            "contentInfo": {"fileUrl": "https://acme.test/lamp.jpg"},
                        },
                    },
                    {"title": "Chair", "description": "Oak"},
                ],
            }
        },
        "fallback": "Our picks",
    }
    assert standalone == {
        "richCard": {
            "standaloneCard": {
                "cardOrientation": "VERTICAL",
                "cardContent": {
                    "title": "For Ann",
                    "suggestions": [{"reply": {"text": "Buy", "postbackData": "buy"}}],
                },
            }
        },
        "fallback": "Hi Ann",
    }


def test_phone_without_rcs_gets_the_text_by_sms_when_fallback_is_sms(workspace, rbm):
    rbm.route("GET", f"/v1/phones/{PHONE}/capabilities", 404, {"error": {"code": 404}})
    rbm.route("POST", "/2010-04-01/Accounts/AC1/Messages.json", 201, {"sid": "SM9"})
    channel_create(
        workspace=workspace,
        channel="sms",
        provider="twilio",
        name="SMS",
        credentials={"account_sid": "AC1", "auth_token": "t", "from": "+1555", "base_url": rbm.url},
    )
    config = _channel(workspace, rbm, {"fallback": "sms"})
    message = channel_test_send(config=config, to=PHONE, content={"text": "Shipped"})
    assert message.status == "sent" and message.provider_message_id == "SM9"
    assert message.content["failover"] == "sms"
    capability = next(r for r in rbm.requests if r.path.endswith("/capabilities"))
    assert capability.query["agentId"] == ["acme_agent"] and capability.query["requestId"]
    assert _sent(rbm) == []
    sms = next(r for r in rbm.requests if r.path.endswith("Messages.json")).form()
    assert sms["To"] == PHONE and sms["Body"] == "Shipped"
    # A marketing message to someone who left SMS is not moved onto SMS.
    left = make_customer(workspace, "left-sms", phone=PHONE, unsubscribed=["sms"])
    refused = _send_queued(workspace, config, {"text": "Sale"}, customer=left)
    assert refused.status == "failed" and refused.error == "unsubscribed"
    assert len([r for r in rbm.requests if r.path.endswith("Messages.json")]) == 1


def test_without_fallback_a_404_fails_unreachable_and_5xx_is_retried(workspace, rbm):
    config = _channel(workspace, rbm)
    rbm.route("POST", MESSAGES_PATH, 404, {"error": {"code": 404, "message": "not found"}})
    message = channel_test_send(config=config, to=PHONE, content={"text": "x"})
    assert message.status == "failed" and message.error == "rcs_unreachable"

    rbm.route("POST", MESSAGES_PATH, 503, {"error": {"code": 503, "status": "UNAVAILABLE"}})
    queued = _send_queued(workspace, config, {"text": "y"})
    assert queued.status == "queued" and "UNAVAILABLE" in queued.error_detail


def test_bad_rcs_content_is_refused_naming_the_field(api):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {
                "id": "rich",
                "type": "message",
                "config": {
                    "channel": "rcs",
                    "content": {
                        "text": "Picks",
                        "cards": [{"title": f"c{i}"} for i in range(11)],
                        "suggestions": [{"text": "A reply far longer than RCS allows"}],
                    },
                },
            },
            {"id": "done", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "rich"},
            {"source": "rich", "source_handle": "next", "target": "done"},
        ],
    }
    created = api.post("/api/v1/journeys", {"name": "RCS", "graph": graph}, format="json")
    assert created.status_code == 201, created.content
    problems = api.post(f"/api/v1/journeys/{created.json()['id']}/validate", {}, format="json")
    found = {(e["field"], e["message"]) for e in problems.json()["errors"]}
    assert ("config.content.cards", "A carousel has 2–10 cards; got 11.") in found
    assert ("config.content.suggestions.0.text", "34 characters; RCS allows 25.") in found


def _hook(client, config, event: dict, token: str = "hook-secret"):
    data = json.dumps(event).encode()
    signature = base64.b64encode(hmac.new(token.encode(), data, hashlib.sha512).digest())
    return client.post(
        rbm_callback_url(config.pk).removeprefix("http://testserver"),  # what RBM is given
        {"message": {"data": base64.b64encode(data).decode(), "messageId": "ps-1"}},
        format="json",
        HTTP_X_GOOG_SIGNATURE=signature.decode(),
    )


def test_webhook_receipts_delivered_read_and_reply_and_bad_signature_refused(api, workspace, rbm):
    from rest_framework.test import APIClient

    client = APIClient()
    config = _channel(workspace, rbm)
    shown = api.get(f"/api/v1/channels/{config.pk}").json()["callback_url"]
    assert shown.startswith("http://testserver/api/v1/hooks/rbm?c=")
    customer = make_customer(workspace, phone=PHONE)
    message = _send_queued(workspace, config, {"text": "Shipped"}, customer=customer)
    assert message.status == "sent"
    ours = message.provider_message_id

    forged = _hook(client, config, {"eventType": "READ", "messageId": ours}, token="guess")
    assert forged.status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"

    delivered = {"senderPhoneNumber": PHONE, "eventType": "DELIVERED", "messageId": ours}
    assert _hook(client, config, delivered).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert _hook(client, config, {**delivered, "eventType": "READ"}).status_code == 200
    reply = {
        "senderPhoneNumber": PHONE,
        "messageId": "MsUser1",
        "suggestionResponse": {"postbackData": "Thanks", "text": "Thanks"},
    }
    assert _hook(client, config, reply).status_code == 200
    message.refresh_from_db()
    assert message.status == "replied"
    events = list(
        DeliveryEvent.objects.for_workspace(workspace)
        .filter(message=message, source="rbm")
        .values_list("status", flat=True)
    )
    assert events == ["delivered", "read", "replied"]


def test_a_refused_token_is_fetched_again_on_the_retry(workspace, rbm):
    issued = iter(["ya29.revoked", "ya29.rbm"])
    rbm.route("POST", "/token", 200, lambda req: {"access_token": next(issued), "expires_in": 3600})
    config = _channel(workspace, rbm)
    message = _send_queued(workspace, config, {"text": "Shipped"})
    assert message.status == "queued" and "401" in message.error_detail
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "sent"
    assert [r.headers["Authorization"] for r in _sent(rbm)] == [
        "Bearer ya29.revoked",
        "Bearer ya29.rbm",
    ]
