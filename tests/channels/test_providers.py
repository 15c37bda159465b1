"""Each provider against a real local server speaking its wire format (no mocks of our code)."""

from __future__ import annotations

import base64
import email
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from channels_app.models import DeliveryEvent, Message
from channels_app.services import channel_create, channel_test_send, messages_send

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def test_twilio_posts_form_with_basic_auth(workspace, http_server):
    http_server.route(
        "POST", "/2010-04-01/Accounts/AC123/Messages.json", 201, {"sid": "SM42", "status": "queued"}
    )
    config = channel_create(
        workspace=workspace,
        channel="sms",
        provider="twilio",
        name="Twilio",
        credentials={
            "account_sid": "AC123",
            "auth_token": "tok",
            "from": "+15550001",
            "base_url": http_server.url,
        },
    )
    message = channel_test_send(config=config, to="+15557654321", content={"text": "Hi there"})
    assert message.status == "sent" and message.provider_message_id == "SM42"
    req = http_server.requests[0]
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:tok").decode()
    form = req.form()
    assert (
        form["To"] == "+15557654321" and form["From"] == "+15550001" and form["Body"] == "Hi there"
    )
    assert form["StatusCallback"].startswith("http://testserver/api/v1/hooks/twilio?c=")
    assert message.content["segments"] == 1 and message.content["encoding"] == "GSM-7"


def test_twilio_rejection_fails_with_reason(workspace, http_server):
    http_server.route(
        "POST",
        "/2010-04-01/Accounts/AC1/Messages.json",
        400,
        {"code": 21211, "message": "Invalid 'To'"},
    )
    config = channel_create(
        workspace=workspace,
        channel="sms",
        provider="twilio",
        name="Twilio",
        credentials={
            "account_sid": "AC1",
            "auth_token": "t",
            "from": "+1555",
            "base_url": http_server.url,
        },
    )
    message = channel_test_send(config=config, to="bad", content={"text": "x"})
    assert message.status == "failed" and message.error == "provider_error"
    assert "21211" in message.error_detail


def test_smtp_sends_multipart_with_list_unsubscribe(workspace, smtp_server):
    config = channel_create(
        workspace=workspace,
        channel="email",
        provider="smtp",
        name="Mail",
        credentials={"host": "127.0.0.1", "port": smtp_server.port},
        settings={"from_email": "hi@acme.test"},
    )
    customer = make_customer(workspace, email="ann@example.com")
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="email",
        channel_config=config,
        provider="smtp",
        to="ann@example.com",
        targets=["ann@example.com"],
        content={
            "subject": "Welcome",
            "html": '<p><a href="https://acme.test/x?a=1&amp;b=2">go</a></p>',
            "text": "plain",
        },
    )
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "sent"
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["ann@example.com"]
    parsed = email.message_from_bytes(envelope.content)
    assert parsed["Subject"] == "Welcome"
    assert parsed["List-Unsubscribe"].startswith("<http://testserver/api/v1/hooks/unsubscribe?t=")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    types = [p.get_content_type() for p in parsed.walk()]
    assert "text/plain" in types and "text/html" in types
    html = (
        next(p for p in parsed.walk() if p.get_content_type() == "text/html")
        .get_payload(decode=True)
        .decode()
    )
    assert "/api/v1/hooks/click?t=" in html and "/api/v1/hooks/open?t=" in html
    assert "https://acme.test/x" not in html  # every link goes through the click redirect


def test_smtp_refuses_private_host_not_allowed(workspace, smtp_server, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    config = channel_create(
        workspace=workspace,
        channel="email",
        provider="smtp",
        name="Mail",
        credentials={"host": "127.0.0.1", "port": smtp_server.port},
        settings={"from_email": "hi@acme.test"},
    )
    message = channel_test_send(config=config, to="a@b.test", content={"subject": "s", "text": "t"})
    assert message.status == "failed" and message.error == "outbound_blocked"
    assert smtp_server.envelopes == []


def _service_account(token_uri: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key.public_key(), {
        "client_email": "svc@proj.iam.test",
        "private_key": pem,
        "token_uri": token_uri,
    }


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_fcm_gets_oauth_token_with_signed_jwt_and_marks_unregistered_tokens(workspace, http_server):
    public_key, account = _service_account(f"{http_server.url}/token")

    def token_endpoint(req):
        form = req.form()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        header, claims, signature = form["assertion"].split(".")
        public_key.verify(
            _b64d(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        assert json.loads(_b64d(claims))["aud"] == f"{http_server.url}/token"
        return {"access_token": "ya29.local", "expires_in": 3600}

    http_server.route("POST", "/token", 200, token_endpoint)

    def fcm(req):
        if req.json()["message"]["token"] == "good":
            return {"name": "projects/p1/messages/1"}
        return 404, {
            "error": {
                "code": 404,
                "status": "NOT_FOUND",
                "message": "Requested entity was not found.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                        "errorCode": "UNREGISTERED",
                    }
                ],
            }
        }

    http_server.route("POST", "/v1/projects/p1/messages:send", 200, fcm)
    config = channel_create(
        workspace=workspace,
        channel="push",
        provider="fcm",
        name="FCM",
        credentials={
            "project_id": "p1",
            "service_account_json": json.dumps(account),
            "base_url": http_server.url,
        },
    )
    customer = make_customer(
        workspace,
        push_tokens=[
            {"platform": "android", "token": "good", "valid": True},
            {"platform": "ios", "token": "dead", "valid": True},
        ],
    )
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="push",
        channel_config=config,
        provider="fcm",
        to="good,dead",
        targets=[{"platform": "android", "token": "good"}, {"platform": "ios", "token": "dead"}],
        content={"title": "T", "body": "B", "url": "https://acme.test"},
    )
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_message_id == "projects/p1/messages/1"
    send_requests = [r for r in http_server.requests if r.path.endswith("messages:send")]
    assert len(send_requests) == 2
    assert all(r.headers["Authorization"] == "Bearer ya29.local" for r in send_requests)
    body = send_requests[0].json()["message"]
    assert (
        body["notification"] == {"title": "T", "body": "B"}
        and body["data"]["url"] == "https://acme.test"
    )
    customer.refresh_from_db()
    validity = {t["token"]: t["valid"] for t in customer.push_tokens}
    assert validity == {"good": True, "dead": False}


def test_whatsapp_cloud_template_with_variables(workspace, http_server):
    http_server.route("POST", "/v21.0/PN1/messages", 200, {"messages": [{"id": "wamid.X"}]})
    config = channel_create(
        workspace=workspace,
        channel="whatsapp",
        provider="whatsapp_cloud",
        name="WA",
        credentials={"phone_number_id": "PN1", "access_token": "EAAG", "base_url": http_server.url},
    )
    message = channel_test_send(
        config=config,
        to="+4915112345678",
        content={
            "template": "order_update",
            "language": "de",
            "variables": ["{{ 'Ann' | upcase }}", "42"],
        },
    )
    assert message.status == "sent" and message.provider_message_id == "wamid.X"
    req = http_server.requests[0]
    assert req.headers["Authorization"] == "Bearer EAAG"
    assert req.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "4915112345678",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "de"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "ANN"}, {"type": "text", "text": "42"}],
                }
            ],
        },
    }


def test_telegram_send_message(workspace, http_server):
    http_server.route(
        "POST", "/bot123:ABC/sendMessage", 200, {"ok": True, "result": {"message_id": 77}}
    )
    config = channel_create(
        workspace=workspace,
        channel="telegram",
        provider="telegram",
        name="TG",
        credentials={"bot_token": "123:ABC", "base_url": http_server.url},
    )
    message = channel_test_send(
        config=config, to="99887766", content={"text": "Hello", "parse_mode": "HTML"}
    )
    assert message.status == "sent" and message.provider_message_id == "77"
    assert http_server.requests[0].json() == {
        "chat_id": "99887766",
        "text": "Hello",
        "parse_mode": "HTML",
    }


def test_telegram_blocked_bot_is_a_failure_with_reason(workspace, http_server):
    http_server.route(
        "POST",
        "/botT/sendMessage",
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    config = channel_create(
        workspace=workspace,
        channel="telegram",
        provider="telegram",
        name="TG",
        credentials={"bot_token": "T", "base_url": http_server.url},
    )
    message = channel_test_send(config=config, to="1", content={"text": "x"})
    assert message.status == "failed" and message.error == "recipient_blocked"


@pytest.mark.parametrize(
    "channel,content",
    [
        ("kakao_alimtalk", {"template_code": "TPL1", "text": "주문이 발송되었습니다"}),
        ("rcs", {"text": "Your order shipped"}),
    ],
)
def test_http_gateway_gets_rendered_message_as_json(workspace, http_server, channel, content):
    http_server.route("POST", "/gw", 202, {"id": "gw-1"})
    config = channel_create(
        workspace=workspace,
        channel=channel,
        provider="http",
        name="Gateway",
        credentials={"url": f"{http_server.url}/gw", "headers": {"X-Api-Key": "k1"}},
    )
    message = channel_test_send(config=config, to="+821012345678", content=content)
    assert message.status == "sent" and message.provider_message_id == "gw-1"
    req = http_server.requests[0]
    assert req.headers["X-Api-Key"] == "k1"
    sent = req.json()
    assert (
        sent["channel"] == channel and sent["to"] == "+821012345678" and sent["content"] == content
    )
    assert sent["message_id"] == message.pk


def test_sandbox_records_and_marks_sent(workspace):
    config = channel_create(
        workspace=workspace, channel="email", provider="sandbox", name="Sandbox"
    )
    message = channel_test_send(
        config=config, to="a@b.test", content={"subject": "Hi {{ 1 | plus: 1 }}", "text": "x"}
    )
    assert message.status == "sent" and message.content["subject"] == "Hi 2"
    assert list(
        DeliveryEvent.objects.for_workspace(workspace)
        .filter(message=message)
        .values_list("status", flat=True)
    ) == ["sent"]
