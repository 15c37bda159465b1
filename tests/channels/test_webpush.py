"""Web Push against a local RFC 8030 push service: the VAPID JWT checked against the channel's
public key, the payload decrypted as a browser would, and the push service's error answers."""

from __future__ import annotations

import base64
import json
import os
import time

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels_app.crypto import credentials_decrypt
from channels_app.models import ChannelConfig, Message
from channels_app.services import channel_test_send, messages_send

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser's push subscription: its ECDH key pair and auth secret (RFC 8291 §3)."""

    def __init__(self, endpoint: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def token(self) -> str:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return json.dumps(
            {
                "endpoint": self.endpoint,
                "expirationTime": None,
                "keys": {"p256dh": _b64u(public), "auth": _b64u(self.auth)},
            }
        )

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )


def _channel(api, settings=None) -> ChannelConfig:
    created = api.post(
        "/api/v1/channels",
        {
            "channel": "push",
            "provider": "webpush",
            "name": "Browsers",
            "credentials": {"vapid_subject": "mailto:ops@acme.test"},
            "settings": settings or {},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    return ChannelConfig.objects.unscoped().get(pk=created.json()["id"])


def _push(workspace, config, *browsers, content=None) -> Message:
    customer = make_customer(
        workspace,
        push_tokens=[{"platform": "web", "token": b.token(), "valid": True} for b in browsers],
    )
    return Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="push",
        channel_config=config,
        provider="webpush",
        to="web",
        targets=[{"platform": "web", "token": b.token()} for b in browsers],
        content=content
        or {"title": "Cart", "body": "You left a lamp", "url": "https://acme.test/cart"},
    )


def test_channel_creation_generates_vapid_keys_public_half_readable(api, workspace):
    config = _channel(api)
    listed = api.get(f"/api/v1/channels/{config.pk}").json()
    public = listed["settings"]["vapid_public_key"]
    assert len(_b64u_decode(public)) == 65 and _b64u_decode(public)[0] == 4  # uncompressed P-256
    private = credentials_decrypt(config.credentials_encrypted)["vapid_private_key"]
    assert private not in json.dumps(listed) and private not in config.credentials_encrypted
    # A PUT replacing the settings keeps the key pair and its readable public half.
    put = api.put(
        f"/api/v1/channels/{config.pk}",
        {"provider": "webpush", "name": "Renamed", "settings": {"ttl_seconds": 60}},
        format="json",
    )
    assert put.status_code == 200, put.content
    assert put.json()["settings"] == {"ttl_seconds": 60, "vapid_public_key": public}


def test_bad_vapid_credentials_are_refused_by_field(api):
    answer = api.post(
        "/api/v1/channels",
        {
            "channel": "push",
            "provider": "webpush",
            "name": "Browsers",
            "credentials": {"vapid_subject": "ops@acme.test", "vapid_private_key": "nope"},
        },
        format="json",
    )
    assert answer.status_code == 400
    body = json.dumps(answer.json())
    assert "credentials.vapid_subject" in body and "credentials.vapid_private_key" in body


def test_push_is_vapid_signed_and_decrypts_in_the_browser(api, workspace, http_server):
    http_server.route("POST", "/push/abc", 201, None, {"Location": "/m/1"})
    config = _channel(api, {"ttl_seconds": 600})
    browser = Browser(f"{http_server.url}/push/abc")
    message = _push(workspace, config, browser)
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_message_id == "/m/1"

    (req,) = http_server.requests
    assert req.headers["TTL"] == "600" and req.headers["Content-Encoding"] == "aes128gcm"
    scheme, params = req.headers["Authorization"].split(" ", 1)
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert scheme == "vapid" and parts["k"] == config.settings["vapid_public_key"]
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), _b64u_decode(parts["k"])
    )
    claims = jwt.decode(parts["t"], public_key, algorithms=["ES256"], audience=http_server.url)
    assert claims["sub"] == "mailto:ops@acme.test"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert browser.decrypt(req.body) == {
        "title": "Cart",
        "body": "You left a lamp",
        "url": "https://acme.test/cart",
    }


def test_gone_subscription_is_invalidated_and_fails_token_expired(api, workspace, http_server):
    http_server.route("POST", "/push/gone", 410, None)
    config = _channel(api)
    message = _push(workspace, config, Browser(f"{http_server.url}/push/gone"))
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "failed" and message.error == "token_expired"
    customer = message.customer
    customer.refresh_from_db()
    assert [t["valid"] for t in customer.push_tokens] == [False]


def test_push_service_busy_is_retried_then_rejection_fails(api, workspace, http_server):
    http_server.route("POST", "/push/busy", 429, None)
    config = _channel(api)
    message = _push(workspace, config, Browser(f"{http_server.url}/push/busy"))
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1 and "429" in message.error_detail

    http_server.route("POST", "/push/busy", 400, {"reason": "bad payload"})
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "failed" and message.error == "provider_error"
    assert "400" in message.error_detail


def test_private_push_endpoint_is_refused_by_the_outbound_guard(api, workspace, settings):
    config = _channel(api)
    settings.OUTBOUND_ALLOWED_HOSTS = []
    message = _push(workspace, config, Browser("http://127.0.0.1:9/push/x"))
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "failed" and message.error == "outbound_blocked"


def test_test_send_goes_to_the_browser_subscription_given_as_address(api, workspace, http_server):
    http_server.route("POST", "/push/test", 201, None)
    config = _channel(api)
    browser = Browser(f"{http_server.url}/push/test")
    message = channel_test_send(config=config, to=browser.token(), content={"body": "Hello"})
    assert message.status == "sent"
    assert browser.decrypt(http_server.requests[0].body) == {"title": "", "body": "Hello"}
