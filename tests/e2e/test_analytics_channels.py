"""The Analytics page's per-channel numbers as the providers report them on the real stack: RCS
test sends through a local RBM, one of them to a phone without RCS that goes as SMS, a READ
receipt posted to the RBM webhook as RBM signs it, SendGrid sends with a bounce posted to the
signed Event Webhook, and a wallet pass an email carried added on a phone (Wallet registering the
device with the PassKit web service); the ops person reads each number per channel and provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, expect

from audiences.models import Customer
from channels_app.models import ChannelConfig, WalletPass
from channels_app.services import MessageStep, message_prepare, messages_send
from channels_app.services.wallet_passes import authentication_token
from tests.channels.conftest import http_server  # noqa: F401  (the local providers)
from tests.channels.test_rbm import PHONE, rbm  # noqa: F401  (fixture: the local RBM)
from tests.channels.test_sendgrid import _public_b64
from tests.channels.wallet_certs import PASS_TYPE, chain_make, credentials_for, wallet_settings

from .test_pages_audiences import marketer, sign_in  # noqa: F401  (fixture)

NO_RCS = "+15557654321"


def _created(api: httpx.Client, body: dict) -> dict:
    answer = api.post("/channels", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _test_send(api: httpx.Client, config: dict, to: str, content: dict) -> dict:
    answer = api.post(f"/channels/{config['id']}/test", json={"to": to, "content": content})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "sent", answer.text
    return answer.json()


def test_analytics_shows_rcs_reads_and_fallback_sendgrid_bounces_and_saved_passes(
    live_server_url, marketer, browser_page: Page, rbm  # noqa: F811
):
    rbm.route("GET", f"/v1/phones/{PHONE}/capabilities", 200, {"features": []})
    rbm.route("GET", f"/v1/phones/{NO_RCS}/capabilities", 404, {"error": {"code": 404}})
    rbm.route("POST", "/2010-04-01/Accounts/AC1/Messages.json", 201, {"sid": "SM1"})
    rbm.route("POST", "/v3/mail/send", 202, None, headers={"X-Message-Id": "sg-1"})
    _created(marketer, {"channel": "sms", "provider": "twilio", "name": "SMS", "settings": {},
                        "credentials": {"account_sid": "AC1", "auth_token": "t", "from": "+1555", "base_url": rbm.url}})
    rcs = _created(marketer, {"channel": "rcs", "provider": "rbm", "name": "RCS", "settings": {"fallback": "sms"},
                              "credentials": {"service_account_json": json.dumps(rbm.account), "agent_id": "acme_agent",
                                              "client_token": "hook-secret", "base_url": rbm.url}})
    key = ec.generate_private_key(ec.SECP256R1())
    mail = _created(marketer, {"channel": "email", "provider": "sendgrid", "name": "SendGrid",
                               "settings": {"from_email": "shop@acme.test"},
                               "credentials": {"api_key": "SG.k", "base_url": rbm.url,
                                               "webhook_verification_key": _public_b64(key)}})

    read = _test_send(marketer, rcs, PHONE, {"text": "Shipped"})
    _test_send(marketer, rcs, PHONE, {"text": "Still there?"})
    _test_send(marketer, rcs, NO_RCS, {"text": "Shipped"})
    bounced = _test_send(marketer, mail, "gone@example.com", {"subject": "Hi", "text": "Hi"})
    _created(marketer, {"channel": "wallet", "provider": "apple_wallet", "name": "Passes",
                        "credentials": credentials_for(chain_make()), "settings": wallet_settings()})

    # RBM's READ receipt, signed with the webhook's client token, to the URL the channel shows.
    event = json.dumps({"eventType": "READ", "messageId": read["provider_message_id"], "eventId": "e1"}).encode()
    signature = base64.b64encode(hmac.new(b"hook-secret", event, hashlib.sha512).digest()).decode()
    answer = httpx.post(rcs["callback_url"], json={"message": {"data": base64.b64encode(event).decode()}},
                        headers={"X-Goog-Signature": signature}, timeout=30)
    assert answer.status_code == 200
    # SendGrid's bounce, signed as its Event Webhook signs.
    body = json.dumps([{"event": "bounce", "type": "bounce", "reason": "550 no such user",
                        "waymark_message_id": str(bounced["id"]), "timestamp": int(time.time())}]).encode()
    stamp = str(int(time.time()))
    signed = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    answer = httpx.post(mail["callback_url"], content=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signed,
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp})
    assert answer.status_code == 200
    # An email carries Ada's pass; her phone adds it, and Wallet registers with the web service.
    config = ChannelConfig.objects.unscoped().get(pk=mail["id"])
    ada = Customer.objects.for_workspace(config.workspace_id).create(
        workspace_id=config.workspace_id, external_id="ada", email="ada@example.com")
    carried = message_prepare(step=MessageStep(
        workspace=config.workspace, customer=ada, node_id="m",
        config={"channel": "email", "channel_id": config.pk,
                "content": {"subject": "Your card", "text": "{{ wallet.loyalty.apple_url }}"}}))
    assert carried.kind == "queued", carried.reason
    messages_send(message_ids=[carried.message.pk], workspace_id=config.workspace_id)
    wallet_pass = WalletPass.objects.for_workspace(config.workspace_id).get()
    token = authentication_token(wallet_pass.serial_number, config.workspace.signing_secret)
    answer = httpx.post(
        f"{live_server_url}/wallet/v1/devices/a1b2c3/registrations/{PASS_TYPE}/{wallet_pass.serial_number}",
        json={"pushToken": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, headers={"Authorization": f"ApplePass {token}"},
        timeout=30)
    assert answer.status_code == 201, answer.text

    page = browser_page
    sign_in(page, live_server_url, "/analytics")
    panel = page.get_by_role("region", name="Channels")
    rcs_row = panel.locator('tr[data-channel="rcs"][data-provider="rbm"]')
    expect(rcs_row).to_contain_text("RCS Business Messaging (Google)")
    for col, shown in (("sent", "3"), ("delivered", "1"), ("read", "1"), ("failover", "1"), ("bounced", "0")):
        expect(rcs_row.locator(f'[data-col="{col}"]')).to_have_text(shown)
    expect(rcs_row.locator('[data-col="read_rate"]')).to_have_text("100.0%")
    mail_row = panel.locator('tr[data-channel="email"][data-provider="sendgrid"]')
    for col, shown in (("sent", "2"), ("bounced", "1"), ("saved", "1"), ("failover", "0")):
        expect(mail_row.locator(f'[data-col="{col}"]')).to_have_text(shown)
    expect(mail_row.locator('[data-col="bounce_rate"]')).to_have_text("50.0%")
    # The fallback SMS is the RCS message's: no SMS row of its own.
    expect(panel.locator('tr[data-channel="sms"]')).to_have_count(0)
    panel.get_by_label("Channel metrics range").select_option("Last week")
    expect(panel).to_contain_text("No messages in this range.")
    panel.get_by_label("Channel metrics range").select_option("All time")
    expect(rcs_row.locator('[data-col="failover"]')).to_have_text("1")
