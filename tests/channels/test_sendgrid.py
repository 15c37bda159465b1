"""Email with buttons and attachments, through SendGrid's v3 Mail Send API (a local server that
checks the request as SendGrid does and answers with its own errors) and over real SMTP; and
SendGrid's signed Event Webhook turning bounces and spam reports into suppressed addresses that
later sends refuse with `undeliverable`."""

from __future__ import annotations

import base64
import email
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from channels_app.callback_urls import sendgrid_events_url
from channels_app.models import Message, SuppressedAddress
from channels_app.providers.sendgrid import event_signature_valid
from channels_app.services import (
    MessageStep,
    channel_create,
    channel_test_send,
    message_prepare,
    messages_send,
)
from channels_app.services.previews import content_render_checked
from workspaces.errors import ServiceValidationError

from .conftest import make_customer

pytestmark = pytest.mark.django_db

API_KEY = "SG.test-key"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"

# SendGrid's own published test vector (its SDKs' event-webhook tests): our check must accept it.
SG_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
SG_SIGNATURE = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
SG_TIMESTAMP = "1588788367"
SG_PAYLOAD = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def _mail_send(req):
    """POST /v3/mail/send as SendGrid checks it: bearer key, personalizations, from, subject,
    content with text/plain first; 202 with X-Message-Id, or its {"errors": [...]} answers."""
    if req.headers.get("Authorization") != f"Bearer {API_KEY}":
        return 401, {"errors": [{"field": None, "message": "The provided authorization grant is invalid, expired, or revoked", "help": None}]}
    body = req.json()
    errors = []
    if not body.get("personalizations"):
        errors.append({"field": "personalizations", "message": "The personalizations field is required."})
    if not (body.get("from") or {}).get("email"):
        errors.append({"field": "from.email", "message": "The from email does not contain a valid address."})
    types = [c["type"] for c in body.get("content") or []]
    if "text/plain" in types and types[0] != "text/plain":
        errors.append({"field": "content", "message": "text/plain must be first."})
    if errors:
        return 400, {"errors": errors}
    return 202, None


@pytest.fixture
def sendgrid(http_server):
    http_server.route("POST", "/v3/mail/send", 202, _mail_send, headers={"X-Message-Id": "sg-abc123"})
    http_server.route("GET", "/files/invoice.pdf", 200, PDF, headers={"Content-Type": "application/pdf"})
    http_server.route("GET", "/files/missing.pdf", 404, {"error": "gone"})
    return http_server


@pytest.fixture
def signing_key():
    return ec.generate_private_key(ec.SECP256R1())


def _public_b64(private_key) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _channel(workspace, server, private_key=None, api_key=API_KEY):
    credentials = {"api_key": api_key, "base_url": server.url}
    if private_key is not None:
        credentials["webhook_verification_key"] = _public_b64(private_key)
    return channel_create(
        workspace=workspace, channel="email", provider="sendgrid", name="SendGrid",
        credentials=credentials, settings={"from_email": "shop@acme.test"},
    )


def _prepare(workspace, customer, content, category="marketing"):
    return message_prepare(step=MessageStep(
        workspace=workspace, customer=customer, node_id="m",
        config={"channel": "email", "category": category, "content": content},
    ))


def _sends(server):
    return [r for r in server.requests if r.path == "/v3/mail/send"]


def _post_events(config, events, private_key, *, timestamp=None, tamper=False):
    body = json.dumps(events).encode() + b"\r\n"
    timestamp = timestamp or str(int(time.time()))
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    if tamper:
        body = body.replace(b"bounce", b"delivered")
    url = sendgrid_events_url(config.pk)
    return Client().post(
        url[url.index("/api/"):], body, content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=base64.b64encode(signature).decode(),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )


# ---- Sending ----------------------------------------------------------------------------------
def test_buttons_and_an_attachment_go_out_through_sendgrid(workspace, sendgrid):
    _channel(workspace, sendgrid)
    ana = make_customer(workspace, "ana", email="ana@x.test", attributes={"order": "A-17"})
    outcome = _prepare(workspace, ana, {
        "subject": "Your order {{ customer.order }}",
        "html": "<html><body><p>Thanks!</p></body></html>",
        "text": "Thanks!",
        "buttons": [{"text": "Track {{ customer.order }}", "url": "https://shop.acme.test/o/{{ customer.order }}"}],
        "attachments": [{"url": f"{sendgrid.url}/files/invoice.pdf"}],
    })
    messages_send(message_ids=[outcome.message.pk], workspace_id=workspace.pk)
    outcome.message.refresh_from_db()
    assert (outcome.message.status, outcome.message.provider_message_id) == ("sent", "sg-abc123")

    body = _sends(sendgrid)[0].json()
    assert body["personalizations"] == [{"to": [{"email": "ana@x.test"}]}]
    assert body["from"] == {"email": "shop@acme.test"} and body["subject"] == "Your order A-17"
    assert body["custom_args"] == {"waymark_message_id": str(outcome.message.pk)}
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["tracking_settings"]["click_tracking"]["enable"] is False
    text, html = (c["value"] for c in body["content"])
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    # The button is in both parts, behind our tracked click link, before </body> in the HTML.
    assert "Track A-17: http" in text and "/api/v1/hooks/click?" in text.split("Track A-17: ")[1]
    assert ">Track A-17</a>" in html and html.index("Track A-17") < html.index("</body>")
    assert "/api/v1/hooks/click?" in html.split(">Track A-17</a>")[0].rsplit("href=", 1)[1]
    [attachment] = body["attachments"]
    assert (attachment["filename"], attachment["type"], attachment["disposition"]) == (
        "invoice.pdf", "application/pdf", "attachment"
    )
    assert base64.b64decode(attachment["content"]) == PDF


def test_sendgrids_own_errors_fail_the_message_with_what_it_said(workspace, sendgrid):
    bad_key = _channel(workspace, sendgrid, api_key="SG.revoked")
    message = channel_test_send(config=bad_key, to="ana@x.test", content={"subject": "Hi", "text": "Hi"})
    assert message.status == "failed" and message.error == "provider_error"
    assert "HTTP 401" in message.error_detail and "authorization grant is invalid" in message.error_detail

    sendgrid.route("POST", "/v3/mail/send", 429, {"errors": [{"field": None, "message": "too many requests"}]})
    config = _channel(workspace, sendgrid)
    queued = Message.objects.for_workspace(workspace).create(
        workspace=workspace, channel="email", channel_config=config, provider="sendgrid",
        to="ana@x.test", targets=["ana@x.test"], content={"subject": "Hi", "text": "Hi"},
    )
    messages_send(message_ids=[queued.pk], workspace_id=workspace.pk)
    queued.refresh_from_db()
    assert queued.status == "queued" and queued.attempts == 1  # a 429 is tried again later


def test_an_attachment_that_cannot_be_fetched_fails_the_send_and_says_which(workspace, sendgrid):
    config = _channel(workspace, sendgrid)
    missing = channel_test_send(config=config, to="ana@x.test", content={
        "subject": "Hi", "text": "Hi", "attachments": [{"url": f"{sendgrid.url}/files/missing.pdf"}],
    })
    assert (missing.status, missing.error) == ("failed", "attachment_unavailable")
    assert "attachments.0: HTTP 404" in missing.error_detail
    blocked = channel_test_send(config=config, to="ana@x.test", content={
        "subject": "Hi", "text": "Hi", "attachments": [{"url": "http://169.254.169.254/latest/meta-data"}],
    })
    assert (blocked.status, blocked.error) == ("failed", "attachment_unavailable")
    assert not _sends(sendgrid)  # nothing reached SendGrid without its attachment


def test_button_and_attachment_mistakes_are_named_before_anything_is_sent(workspace):
    def problems(content):
        with pytest.raises(ServiceValidationError) as caught:
            content_render_checked(channel="email", content=content, context={}, workspace_settings={})
        return set(caught.value.details["content"])

    assert problems({"subject": "s", "text": "t", "buttons": [{"url": "https://a.test"}]}) == {"buttons.0.text"}
    assert problems({"subject": "s", "text": "t", "buttons": [{"text": "Go", "url": "javascript:alert(1)"}]}) == {"buttons.0.url"}
    assert problems({"subject": "s", "text": "t", "buttons": [{"text": "x", "url": "https://a.test"}] * 5}) == {"buttons"}
    assert problems({"subject": "s", "text": "t", "attachments": [{"filename": "x.pdf"}]}) == {"attachments.0.url"}


def test_smtp_carries_the_attachment_and_the_buttons(workspace, smtp_server, sendgrid):
    channel_create(
        workspace=workspace, channel="email", provider="smtp", name="Mail",
        credentials={"host": "127.0.0.1", "port": smtp_server.port}, settings={"from_email": "hi@acme.test"},
    )
    ana = make_customer(workspace, "ana", email="ana@x.test")
    outcome = _prepare(workspace, ana, {
        "subject": "Invoice", "html": "<p>Attached.</p>", "text": "Attached.",
        "buttons": [{"text": "Pay now", "url": "https://pay.acme.test/1", "color": "#0a7f3f"}],
        "attachments": [{"url": f"{sendgrid.url}/files/invoice.pdf", "filename": "Invoice 1.pdf"}],
    })
    messages_send(message_ids=[outcome.message.pk], workspace_id=workspace.pk)
    parsed = email.message_from_bytes(smtp_server.envelopes[0].content)
    assert parsed.get_content_type() == "multipart/mixed"
    parts = {p.get_content_type(): p for p in parsed.walk()}
    assert "Pay now: http" in parts["text/plain"].get_payload(decode=True).decode()
    assert "background:#0a7f3f" in parts["text/html"].get_payload(decode=True).decode()
    pdf = parts["application/pdf"]
    assert pdf.get_filename() == "Invoice 1.pdf" and pdf.get_payload(decode=True) == PDF


# ---- The Event Webhook ------------------------------------------------------------------------
def test_the_signature_check_accepts_sendgrids_published_vector_and_nothing_else():
    assert event_signature_valid(SG_PUBLIC_KEY, SG_TIMESTAMP, SG_PAYLOAD, SG_SIGNATURE)
    assert not event_signature_valid(SG_PUBLIC_KEY, "1588788368", SG_PAYLOAD, SG_SIGNATURE)
    assert not event_signature_valid(SG_PUBLIC_KEY, SG_TIMESTAMP, SG_PAYLOAD + b" ", SG_SIGNATURE)
    assert not event_signature_valid(SG_PUBLIC_KEY, SG_TIMESTAMP, SG_PAYLOAD, SG_SIGNATURE[:-6] + "AAAAA=")


def test_a_hard_bounce_suppresses_the_address_and_later_sends_fail_as_undeliverable(
    workspace, sendgrid, signing_key
):
    config = _channel(workspace, sendgrid, signing_key)
    ana = make_customer(workspace, "ana", email="Ana@X.test")
    first = _prepare(workspace, ana, {"subject": "Sale", "text": "20% off"})
    messages_send(message_ids=[first.message.pk], workspace_id=workspace.pk)
    answer = _post_events(config, [
        {"email": "Ana@X.test", "event": "processed", "waymark_message_id": str(first.message.pk), "timestamp": 1764900000},
        {"email": "Ana@X.test", "event": "bounce", "type": "bounce", "reason": "550 5.1.1 The email account does not exist",
         "status": "5.1.1", "waymark_message_id": str(first.message.pk), "timestamp": 1764900060,
         "sg_message_id": "sg-abc123.filter0001"},
    ], signing_key)
    assert answer.status_code == 200
    first.message.refresh_from_db()
    assert (first.message.status, first.message.error) == ("bounced", "bounced")
    suppressed = SuppressedAddress.objects.for_workspace(workspace).get()
    assert (suppressed.address, suppressed.reason) == ("ana@x.test", "bounce")
    assert "does not exist" in suppressed.detail

    sent_before = len(_sends(sendgrid))
    for category in ("marketing", "transactional"):
        later = _prepare(workspace, ana, {"subject": "Receipt", "text": "Thanks"}, category=category)
        assert (later.kind, later.reason) == ("failed", "undeliverable")
    assert len(_sends(sendgrid)) == sent_before  # nothing more went to SendGrid


def test_spam_reports_and_dropped_bounced_addresses_are_suppressed_soft_blocks_are_not(
    workspace, sendgrid, signing_key
):
    config = _channel(workspace, sendgrid, signing_key)
    messages = {}
    for name in ("ana", "bo", "cy", "di"):
        person = make_customer(workspace, name, email=f"{name}@x.test")
        messages[name] = _prepare(workspace, person, {"subject": "Hi", "text": "Hi"}).message
    messages_send(message_ids=[m.pk for m in messages.values()], workspace_id=workspace.pk)
    _post_events(config, [
        {"event": "delivered", "waymark_message_id": str(messages["ana"].pk), "timestamp": 1764900000},
        {"event": "spamreport", "waymark_message_id": str(messages["ana"].pk), "timestamp": 1764900100},
        {"event": "dropped", "reason": "Bounced Address", "waymark_message_id": str(messages["bo"].pk), "timestamp": 1764900000},
        {"event": "bounce", "type": "blocked", "reason": "421 try later", "waymark_message_id": str(messages["cy"].pk), "timestamp": 1764900000},
        {"event": "delivered", "waymark_message_id": str(messages["di"].pk), "timestamp": 1764900000},
    ], signing_key)
    for m in messages.values():
        m.refresh_from_db()
    assert messages["ana"].status == "delivered" and messages["di"].status == "delivered"
    assert (messages["bo"].status, messages["bo"].error) == ("failed", "undeliverable")
    assert (messages["cy"].status, messages["cy"].error) == ("bounced", "blocked")
    assert dict(SuppressedAddress.objects.for_workspace(workspace).values_list("address", "reason")) == {
        "ana@x.test": "complaint", "bo@x.test": "bounce",
    }


def test_forged_or_foreign_events_change_nothing(workspace, other_workspace, sendgrid, signing_key):
    config = _channel(workspace, sendgrid, signing_key)
    ana = make_customer(workspace, "ana", email="ana@x.test")
    message = _prepare(workspace, ana, {"subject": "Hi", "text": "Hi"}).message
    bounce = [{"event": "bounce", "type": "bounce", "waymark_message_id": str(message.pk), "timestamp": 1764900000}]
    assert _post_events(config, bounce, signing_key, tamper=True).status_code == 403
    assert _post_events(config, bounce, ec.generate_private_key(ec.SECP256R1())).status_code == 403
    # Another workspace's correctly signed hook cannot name this workspace's message.
    theirs = _channel(other_workspace, sendgrid, signing_key)
    assert _post_events(theirs, bounce, signing_key).status_code == 200
    message.refresh_from_db()
    assert message.status != "bounced"
    assert not SuppressedAddress.objects.unscoped().exists()


def test_the_channel_shows_where_to_point_the_event_webhook(workspace, sendgrid, signing_key, api):
    config = _channel(workspace, sendgrid, signing_key)
    shown = api.get(f"/api/v1/channels/{config.pk}").json()
    assert shown["callback_url"].startswith("http") and "/api/v1/hooks/sendgrid?c=" in shown["callback_url"]
    refused = api.post("/api/v1/channels", {
        "channel": "email", "provider": "sendgrid", "name": "x",
        "credentials": {"api_key": "SG.x", "webhook_verification_key": "not a key"},
        "settings": {"from_email": "shop@acme.test"},
    }, format="json")
    assert refused.status_code == 400 and "credentials.webhook_verification_key" in refused.json()["error"]["details"]


def test_a_large_event_batch_is_recorded_in_a_few_queries_with_every_outcome(
    workspace, other_workspace, sendgrid, signing_key, django_assert_max_num_queries
):
    """SendGrid posts up to thousands of events at once: the batch reads its messages in one
    query and writes in bulk, so its cost does not grow with its size, and each event still
    lands as it would alone (a later event of the same message builds on the earlier one)."""
    from channels_app.models import DeliveryEvent

    config = _channel(workspace, sendgrid, signing_key)
    count = 400
    messages = Message.objects.for_workspace(workspace).bulk_create(
        Message(workspace=workspace, channel="email", provider="sendgrid", to=f"P{i}@X.test",
                status="sent")
        for i in range(count)
    )
    foreign = Message.objects.for_workspace(other_workspace).create(
        workspace=other_workspace, channel="email", to="them@x.test", status="sent"
    )
    events = []
    for i, m in enumerate(messages):
        mid = str(m.pk)
        events.append({"event": "processed", "waymark_message_id": mid, "timestamp": 1764900000})
        events.append({"event": "delivered", "waymark_message_id": mid, "timestamp": 1764900010})
        if i % 4 == 1:  # a hard bounce after delivery: bounced, suppressed
            events.append({"event": "bounce", "type": "bounce", "reason": "550 no such user",
                           "waymark_message_id": mid, "timestamp": 1764900020})
        elif i % 4 == 2:  # a soft block: bounced (blocked), not suppressed
            events.append({"event": "bounce", "type": "blocked", "reason": "421 later",
                           "waymark_message_id": mid, "timestamp": 1764900020})
        elif i % 4 == 3 and i % 8 == 3:  # a complaint, reported twice: one suppression
            for _ in range(2):
                events.append({"event": "spamreport", "waymark_message_id": mid, "timestamp": 1764900030})
    events.append({"event": "bounce", "type": "bounce", "waymark_message_id": str(foreign.pk), "timestamp": 1764900000})
    events.append({"event": "bounce", "type": "bounce", "waymark_message_id": str(2**70)})
    events.append({"event": "delivered", "waymark_message_id": "nope"})
    assert len(events) > 1000

    with django_assert_max_num_queries(20):
        assert _post_events(config, events, signing_key).status_code == 200

    by_pk = {m.pk: m for m in Message.objects.for_workspace(workspace)}
    for i, m in enumerate(messages):
        got = by_pk[m.pk]
        assert got.delivered_at is not None and got.sent_at is not None, i
        expected = {1: ("bounced", "bounced"), 2: ("bounced", "blocked")}.get(i % 4, ("delivered", ""))
        assert (got.status, got.error) == expected, i
    suppressed = dict(SuppressedAddress.objects.for_workspace(workspace).values_list("address", "reason"))
    assert suppressed == {
        **{f"p{i}@x.test": "bounce" for i in range(count) if i % 4 == 1},
        **{f"p{i}@x.test": "complaint" for i in range(count) if i % 8 == 3},
    }
    receipts = DeliveryEvent.objects.for_workspace(workspace)
    assert receipts.filter(status="delivered", source="sendgrid").count() == count
    assert receipts.filter(status="bounced").count() == count // 2
    assert receipts.filter(status="bounced", data__error="blocked", data__reason="421 later").count() == count // 4
    foreign.refresh_from_db()
    assert foreign.status == "sent" and not SuppressedAddress.objects.for_workspace(other_workspace).exists()
