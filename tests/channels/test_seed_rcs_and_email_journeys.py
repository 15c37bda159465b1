"""The abandoned-cart seed's RCS and email nudges end to end: journeys built and started through
the REST API, entered by a `cart_abandoned` event, run by a real Celery worker against local
RBM, Twilio and SendGrid servers, and steered by their signed webhooks.

RCS: a carousel with suggested replies; the RBM webhook's DELIVERED and READ take one customer
down the "read" branch, a phone without RCS gets the SMS fallback and, unread when the wait
ends, the "not read" branch. Email: a CTA button and a URL attachment through SendGrid; one
customer's delivery, open and click take the "clicked" branch, another's hard bounce takes the
"failed" branch and suppresses the address, so the next cart nudge fails at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import time
from itertools import count

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from rest_framework.test import APIClient

from analytics.services import rollups_refresh
from channels_app import tracking
from channels_app.models import Message
from journeys.engine import advance
from journeys.models import Enrollment
from tests.conftest import wait_for
from tests.engine.helpers import edge, passed

from .test_rbm import MESSAGES_PATH as FIXTURE_MESSAGES_PATH
from .test_rbm import rbm  # noqa: F401 (the local RBM server fixture)
from .test_sendgrid import API_KEY, PDF, _public_b64, sendgrid, signing_key  # noqa: F401

PHONE = "+351910000001"
NO_RCS_PHONE = "+351910000002"
MESSAGES_PATH = f"/v1/phones/{PHONE}/agentMessages"
SMS_PATH = "/2010-04-01/Accounts/AC1/Messages.json"
CART_ENTRY = {"entry": {"type": "event", "events": [{"name": "cart_abandoned"}]},
              "re_entry": {"policy": "always"}}


def _channel(api, body) -> dict:
    created = api.post("/api/v1/channels", body, format="json")
    assert created.status_code == 201, created.content
    return created.json()


def _customers(api, *customers) -> None:
    answer = api.post("/api/v1/customers", {"customers": list(customers)}, format="json")
    assert answer.json()["created"] == len(customers), answer.content


def _journey(api, name, nodes, edges) -> dict:
    created = api.post("/api/v1/journeys", {"name": name, "graph": {"nodes": nodes, "edges": edges},
                                            "settings": CART_ENTRY}, format="json")
    assert created.status_code == 201, created.content
    journey = created.json()
    started = api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json")
    assert started.status_code == 200, started.content
    return journey


def _cart_abandoned(api, *customer_ids) -> None:
    events = [{"customer_id": c, "name": "cart_abandoned", "properties": {"item": "Oak chair"}}
              for c in customer_ids]
    answer = api.post("/api/v1/events", {"events": events}, format="json")
    assert answer.status_code == 202 and answer.json()["errors"] == [], answer.content


def _enrollment(journey, external_id) -> Enrollment | None:
    return (Enrollment.objects.unscoped()
            .filter(journey_id=journey["id"], customer__external_id=external_id)
            .order_by("-id").first())


def _awaiting(journey, external_id) -> Enrollment | None:
    enrollment = _enrollment(journey, external_id)
    waiting = enrollment is not None and enrollment.state == "waiting"
    return enrollment if waiting and enrollment.wait.get("data", {}).get("phase") == "await" else None


def _finished(journey, external_id) -> Enrollment | None:
    enrollment = _enrollment(journey, external_id)
    return enrollment if enrollment is not None and enrollment.state == "completed" else None


def _channel_analytics(api, channel, provider) -> dict:
    rows = api.get("/api/v1/analytics/channels").json()["results"]
    return next(r for r in rows if (r["channel"], r["provider"]) == (channel, provider))


def _node_analytics(api, journey, node_id) -> dict:
    rollups_refresh()
    nodes = api.get(f"/api/v1/journeys/{journey['id']}/analytics").json()["nodes"]
    return next(n for n in nodes if n["node_id"] == node_id)


def _edges(spec: str) -> list[dict]:
    """ "source-handle-target" links, space separated."""
    return [edge(*link.split("-")) for link in spec.split()]


# ---- RCS ---------------------------------------------------------------------------------------
CARDS = [
    {"title": "{{ event.item }}", "description": "Still in your cart",
     "media_url": "https://shop.test/chair.jpg", "media_height": "MEDIUM",
     "suggestions": [{"type": "url", "text": "View", "url": "https://shop.test/chair"}]},
    {"title": "Matching stool", "description": "Goes with it", "media_url": "https://shop.test/stool.jpg"},
]
RCS_NODES = [
    {"id": "start", "type": "start", "config": {}},
    {"id": "nudge", "type": "message", "config": {
        "channel": "rcs",
        "content": {
            "text": "{{ customer.first_name }}, your {{ event.item }} is waiting",
            "cards": CARDS,
            "suggestions": [{"type": "reply", "text": "Complete order", "postback_data": "checkout"},
                            {"type": "reply", "text": "Not now", "postback_data": "later"}],
        },
        "await": {"status": "read", "within": {"value": 1, "unit": "days"}}}},
    {"id": "coupon", "type": "message", "config": {
        "channel": "rcs", "content": {"text": "Thanks for looking, {{ customer.first_name }}: 10% off with CART10"}}},
    {"id": "reminder", "type": "message", "config": {
        "channel": "sms", "content": {"text": "Still thinking about the {{ event.item }}? Your cart is saved."}}},
    {"id": "done", "type": "exit", "config": {}},
]
RCS_EDGES = _edges(
    "start-next-nudge nudge-yes-coupon nudge-no-reminder coupon-next-done reminder-next-done"
)


def _rbm_hook(callback_url: str, event: dict):
    """RBM's push: the event base64 in a Pub/Sub envelope, signed with the client token."""
    data = json.dumps(event).encode()
    signature = base64.b64encode(hmac.new(b"hook-secret", data, hashlib.sha512).digest()).decode()
    return APIClient().post(
        callback_url.removeprefix("http://testserver"),
        {"message": {"data": base64.b64encode(data).decode(), "messageId": f"ps-{event['eventType']}"}},
        format="json", HTTP_X_GOOG_SIGNATURE=signature,
    )


def test_rcs_carousel_nudge_branches_on_read_and_a_phone_without_rcs_gets_sms(celery_worker, api, rbm):  # noqa: F811
    sids = count(1)
    rbm.routes[("POST", MESSAGES_PATH)] = rbm.routes[("POST", FIXTURE_MESSAGES_PATH)]
    rbm.route("GET", f"/v1/phones/{PHONE}/capabilities", 200, {"features": ["RICHCARD_CAROUSEL"]})
    rbm.route("GET", f"/v1/phones/{NO_RCS_PHONE}/capabilities", 404,
              {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})
    rbm.route("POST", SMS_PATH, 201, lambda req: {"sid": f"SM{next(sids)}"})
    _channel(api, {"channel": "sms", "provider": "twilio", "name": "SMS", "credentials": {
        "account_sid": "AC1", "auth_token": "t", "from": "+15550001111", "base_url": rbm.url}})
    rcs = _channel(api, {"channel": "rcs", "provider": "rbm", "name": "RBM", "settings": {"fallback": "sms"},
                         "credentials": {"service_account_json": json.dumps(rbm.account), "agent_id": "acme_agent",
                                         "client_token": "hook-secret", "base_url": rbm.url}})
    _customers(api, {"external_id": "ana", "phone": PHONE, "attributes": {"first_name": "Ana"}},
               {"external_id": "ben", "phone": NO_RCS_PHONE, "attributes": {"first_name": "Ben"}})
    journey = _journey(api, "Cart nudge over RCS", RCS_NODES, RCS_EDGES)

    _cart_abandoned(api, "ana", "ben")
    wait_for(lambda: _awaiting(journey, "ana") and _awaiting(journey, "ben"), timeout=60)

    # Ana's phone has RCS: RBM gets the carousel with its suggested replies.
    [carousel] = [r for r in rbm.requests if r.path == MESSAGES_PATH]
    assert carousel.query["agentId"] == ["acme_agent"]
    assert carousel.json() == {"contentMessage": {
        "richCard": {"carouselCard": {"cardWidth": "MEDIUM", "cardContents": [
            {"title": "Oak chair", "description": "Still in your cart",
             "media": {"height": "MEDIUM", "contentInfo": {"fileUrl": "https://shop.test/chair.jpg"}},
             "suggestions": [{"action": {"text": "View", "postbackData": "View",
                                         "openUrlAction": {"url": "https://shop.test/chair"}}}]},
            {"title": "Matching stool", "description": "Goes with it",
             "media": {"height": "MEDIUM", "contentInfo": {"fileUrl": "https://shop.test/stool.jpg"}}},
        ]}},
        "fallback": "Ana, your Oak chair is waiting",
        "suggestions": [{"reply": {"text": "Complete order", "postbackData": "checkout"}},
                        {"reply": {"text": "Not now", "postbackData": "later"}}],
    }}
    # Ben's phone has no RCS (RBM's 404 on capabilities): the text went out by SMS instead.
    sms = [r.form() for r in rbm.requests if r.path == SMS_PATH]
    assert [(s["To"], s["Body"]) for s in sms] == [(NO_RCS_PHONE, "Ben, your Oak chair is waiting")]

    # RBM reports Ana's message delivered, then read: she takes the "read" branch and gets the coupon.
    nudge = Message.objects.unscoped().get(journey_id=journey["id"], node_id="nudge", to=PHONE)
    for kind in ("DELIVERED", "READ"):
        event = {"senderPhoneNumber": PHONE, "eventType": kind, "messageId": nudge.provider_message_id,
                 "sendTime": "2026-12-05T18:00:00Z"}
        assert _rbm_hook(rcs["callback_url"], event).status_code == 200
    ana = wait_for(lambda: _finished(journey, "ana"), timeout=30)
    assert passed(ana) == [("start", "next"), ("nudge", "yes"), ("coupon", "next")]
    texts = [r.json()["contentMessage"].get("text") for r in rbm.requests if r.path == MESSAGES_PATH]
    assert texts == [None, "Thanks for looking, Ana: 10% off with CART10"]
    nudge.refresh_from_db()
    assert nudge.status == "read"

    # No read receipt comes for Ben's SMS: when the day is up he takes "not read" and gets a reminder.
    ben = _awaiting(journey, "ben")
    advance(items=[[ben.id, ben.step_seq, {"kind": "timer"}]], now=ben.wake_at)
    ben = wait_for(lambda: _finished(journey, "ben"), timeout=30)
    assert passed(ben) == [("start", "next"), ("nudge", "no"), ("reminder", "next")]
    sms = [r.form() for r in rbm.requests if r.path == SMS_PATH]
    assert [(s["To"], s["Body"]) for s in sms][1:] == [
        (NO_RCS_PHONE, "Still thinking about the Oak chair? Your cart is saved.")]
    assert len([r for r in rbm.requests if r.path == MESSAGES_PATH]) == 2  # nothing more over RCS

    node = _node_analytics(api, journey, "nudge")
    assert node["handles"] == {"yes": 1, "no": 1, "failed": 0}
    messages = node["messages"]
    assert (messages["sent"], messages["delivered"], messages["read"], messages["failover"]) == (2, 1, 1, 1)
    rcs_row = _channel_analytics(api, "rcs", "rbm")  # the nudge, the coupon
    assert (rcs_row["sent"], rcs_row["read"], rcs_row["failover"]) == (3, 1, 1)


# ---- Email -------------------------------------------------------------------------------------
EMAIL_NODES = [
    {"id": "start", "type": "start", "config": {}},
    {"id": "nudge", "type": "message", "config": {
        "channel": "email",
        "content": {
            "subject": "{{ customer.first_name }}, you left something behind",
            "html": "<html><body><p>Your {{ event.item }} is still in your cart.</p></body></html>",
            "text": "Your {{ event.item }} is still in your cart.",
            "buttons": [{"text": "Complete my order", "url": "https://shop.test/cart?c={{ customer.external_id }}"}],
            "attachments": [],  # filled with the local file server's URL
        },
        "await": {"status": "clicked", "within": {"value": 2, "unit": "days"}}}},
    {"id": "clicked", "type": "update_profile", "config": {"add_tags": ["cart_clicked"]}},
    {"id": "last_chance", "type": "message", "config": {
        "channel": "email", "content": {"subject": "Last chance", "text": "Your cart expires tomorrow."}}},
    {"id": "undeliverable", "type": "update_profile", "config": {"add_tags": ["email_undeliverable"]}},
    {"id": "done", "type": "exit", "config": {}},
]
EMAIL_EDGES = _edges(
    "start-next-nudge nudge-yes-clicked nudge-no-last_chance nudge-failed-undeliverable clicked-next-done last_chance-next-done undeliverable-next-done"
)


def _sendgrid_events(callback_url: str, events: list, private_key):
    """SendGrid's Event Webhook: ECDSA over the timestamp header + the raw body."""
    body = json.dumps(events).encode() + b"\r\n"
    timestamp = str(int(time.time()))
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return APIClient().post(
        callback_url[callback_url.index("/api/"):], body, content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=base64.b64encode(signature).decode(),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )


def _link(markup: str, pattern: str) -> str:
    found = re.search(pattern, markup)
    assert found, markup
    return html.unescape(found.group(1)).removeprefix("http://testserver")


def test_email_nudge_with_button_and_attachment_branches_on_click_and_a_bounce_suppresses(
    celery_worker, api, sendgrid, signing_key  # noqa: F811
):
    mail = _channel(api, {"channel": "email", "provider": "sendgrid", "name": "SendGrid",
                          "settings": {"from_email": "shop@acme.test"},
                          "credentials": {"api_key": API_KEY, "base_url": sendgrid.url,
                                          "webhook_verification_key": _public_b64(signing_key)}})
    _customers(api, {"external_id": "cara", "email": "cara@x.test", "attributes": {"first_name": "Cara"}},
               {"external_id": "dan", "email": "dan@gone.test", "attributes": {"first_name": "Dan"}})
    nodes = json.loads(json.dumps(EMAIL_NODES))
    nodes[1]["config"]["content"]["attachments"] = [
        {"url": f"{sendgrid.url}/files/invoice.pdf", "filename": "cart-summary.pdf"}]
    journey = _journey(api, "Cart nudge by email", nodes, EMAIL_EDGES)

    _cart_abandoned(api, "cara", "dan")
    wait_for(lambda: _awaiting(journey, "cara") and _awaiting(journey, "dan"), timeout=60)

    sends = {r.json()["personalizations"][0]["to"][0]["email"]: r.json()
             for r in sendgrid.requests if r.path == "/v3/mail/send"}
    assert sorted(sends) == ["cara@x.test", "dan@gone.test"]
    cara_mail = sends["cara@x.test"]
    assert cara_mail["subject"] == "Cara, you left something behind"
    text, body = (c["value"] for c in cara_mail["content"])
    assert "Your Oak chair is still in your cart." in text and "Complete my order: http" in text
    [attachment] = cara_mail["attachments"]
    assert (attachment["filename"], attachment["type"], attachment["disposition"]) == (
        "cart-summary.pdf", "application/pdf", "attachment")
    assert base64.b64decode(attachment["content"]) == PDF
    # The button links through our click tracking to the customer's cart.
    click = _link(body, r'href="([^"]*/api/v1/hooks/click\?t=[^"]*)"[^>]*>Complete my order</a>')
    message_id, target = tracking.click_token_read(click.split("t=", 1)[1])
    assert target == "https://shop.test/cart?c=cara"
    cara_message = Message.objects.unscoped().get(journey_id=journey["id"], to="cara@x.test")
    assert message_id == cara_message.pk == int(cara_mail["custom_args"]["waymark_message_id"])

    # SendGrid reports Cara's mail delivered and Dan's hard bounce (its event webhook, signed).
    dan_message = Message.objects.unscoped().get(journey_id=journey["id"], to="dan@gone.test")
    answer = _sendgrid_events(mail["callback_url"], [
        {"email": "cara@x.test", "event": "processed", "waymark_message_id": str(cara_message.pk), "timestamp": 1764957600},
        {"email": "cara@x.test", "event": "delivered", "waymark_message_id": str(cara_message.pk), "timestamp": 1764957605},
        {"email": "dan@gone.test", "event": "bounce", "type": "bounce", "status": "5.1.1",
         "reason": "550 5.1.1 The email account that you tried to reach does not exist",
         "waymark_message_id": str(dan_message.pk), "timestamp": 1764957606},
    ], signing_key)
    assert answer.status_code == 200
    # Cara opens the mail (its pixel) and taps the button: she takes the "clicked" branch.
    client = APIClient()
    assert client.get(_link(body, r'src="([^"]*/api/v1/hooks/open\?t=[^"]*)"')).status_code == 200
    tapped = client.get(click)
    assert (tapped.status_code, tapped["Location"]) == (302, "https://shop.test/cart?c=cara")
    cara = wait_for(lambda: _finished(journey, "cara"), timeout=30)
    assert passed(cara) == [("start", "next"), ("nudge", "yes"), ("clicked", "next")]
    assert api.get("/api/v1/customers/cara").json()["tags"] == ["cart_clicked"]

    # Dan's bounce takes the "failed" branch and makes his address undeliverable.
    dan = wait_for(lambda: _finished(journey, "dan"), timeout=30)
    assert passed(dan) == [("start", "next"), ("nudge", "failed"), ("undeliverable", "next")]
    dan_message.refresh_from_db()
    assert (dan_message.status, dan_message.error) == ("bounced", "bounced")

    node = _node_analytics(api, journey, "nudge")
    assert node["handles"] == {"yes": 1, "no": 0, "failed": 1}
    messages = node["messages"]
    assert {k: messages[k] for k in ("sent", "delivered", "opened", "clicked", "bounced")} == {
        "sent": 2, "delivered": 1, "opened": 1, "clicked": 1, "bounced": 1}
    email_row = _channel_analytics(api, "email", "sendgrid")
    assert (email_row["delivered"], email_row["clicked"], email_row["bounced"]) == (1, 1, 1)

    # Dan abandons another cart: the nudge fails at once as undeliverable, SendGrid hears nothing.
    _cart_abandoned(api, "dan")

    def second_nudge():
        rows = list(Message.objects.unscoped().filter(journey_id=journey["id"], to="dan@gone.test").order_by("id"))
        return rows[-1] if len(rows) == 2 and rows[-1].status != "queued" else None

    again = wait_for(second_nudge, timeout=30)
    assert (again.status, again.error) == ("failed", "undeliverable")
    assert len([r for r in sendgrid.requests if r.path == "/v3/mail/send"]) == 2
    wait_for(lambda: Enrollment.objects.unscoped().filter(
        journey_id=journey["id"], customer__external_id="dan", state="completed").count() == 2, timeout=30)
    assert passed(_enrollment(journey, "dan"))[1] == ("nudge", "failed")
