"""APNs against a local HTTP/2 APNs (tests/channels/apns_server.py): the provider token verified
with the team key's public half, Apple's headers and payload, and its error answers."""

from __future__ import annotations

import socket
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels_app.models import ChannelConfig, Message
from channels_app.providers import apns
from channels_app.services import channel_test_send, messages_send

from .apns_server import apns_server_start
from .conftest import make_customer

pytestmark = pytest.mark.django_db

TEAM_ID, KEY_ID, BUNDLE_ID = "TEAM123456", "KEY1234567", "test.acme.app"
GOOD, GONE, BAD, BUSY, DOWN, HUNG = (c * 32 for c in ("a1", "b2", "c3", "d4", "e5", "f6"))


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def team_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def apple(team_key):
    apns._jwt_cache.clear()
    server, listener = apns_server_start(
        public_key=team_key.public_key(), team_id=TEAM_ID, key_id=KEY_ID, bundle_id=BUNDLE_ID
    )
    server.answers.update(
        {
            GONE: (410, "Unregistered"),
            BAD: (400, "BadDeviceToken"),
            BUSY: (429, "TooManyRequests"),
            DOWN: (503, "ServiceUnavailable"),
            HUNG: (None, None),
        }
    )
    yield server
    listener.close()
    apns._jwt_cache.clear()


def _credentials(**given) -> dict:
    return {
        "team_id": TEAM_ID,
        "key_id": KEY_ID,
        "bundle_id": BUNDLE_ID,
        "environment": "sandbox",
        **given,
    }


def _channel(api, apple, key, settings=None) -> ChannelConfig:
    created = api.post(
        "/api/v1/channels",
        {
            "channel": "push",
            "provider": "apns",
            "name": "iOS app",
            "credentials": _credentials(private_key=_pem(key), base_url=apple.url),
            "settings": settings or {},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    return ChannelConfig.objects.unscoped().get(pk=created.json()["id"])


def _push(workspace, config, *tokens, content=None) -> Message:
    targets = [{"platform": "ios", "token": t} for t in tokens]
    customer = make_customer(
        workspace,
        external_id=f"c{Message.objects.unscoped().count()}",
        push_tokens=[{**t, "valid": True} for t in targets],
    )
    return Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="push",
        channel_config=config,
        provider="apns",
        to=",".join(tokens),
        targets=targets,
        content=content or {"title": "Cart", "body": "You left a lamp", "data": {"cart_id": 7}},
    )


def _send(workspace, message) -> Message:
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    return message


def test_alert_goes_over_http2_with_a_signed_provider_token(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key, {"sound": "default", "badge": 3, "collapse_id": "cart"})
    message = _send(workspace, _push(workspace, config, GOOD))
    assert message.status == "sent", message.error_detail
    (req,) = apple.requests
    assert message.provider_message_id  # the apns-id Apple answered
    assert req.headers[":method"] == "POST" and req.headers[":path"] == f"/3/device/{GOOD}"
    assert req.headers["apns-topic"] == BUNDLE_ID and req.headers["apns-push-type"] == "alert"
    assert req.headers["apns-priority"] == "10" and req.headers["apns-collapse-id"] == "cart"
    assert req.jwt_header == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    assert req.claims["iss"] == TEAM_ID and abs(req.claims["iat"] - time.time()) < 60
    assert req.json() == {
        "aps": {
            "alert": {"title": "Cart", "body": "You left a lamp"},
            "sound": "default",
            "badge": 3,
        },
        "cart_id": 7,
    }


def test_provider_token_is_reused_then_renewed_after_50_minutes(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key)
    _send(workspace, _push(workspace, config, GOOD))
    _send(workspace, _push(workspace, config, GOOD))
    first, second = (r.headers["authorization"] for r in apple.requests)
    assert first == second

    ((cache_key, (token, signed_at)),) = apns._jwt_cache.items()
    apns._jwt_cache[cache_key] = (token, signed_at - 51 * 60)
    _send(workspace, _push(workspace, config, GOOD))
    assert apple.requests[2].headers["authorization"] != first


def test_background_push_carries_content_available_at_priority_5(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key, {"push_type": "background"})
    assert _send(workspace, _push(workspace, config, GOOD)).status == "sent"
    (req,) = apple.requests
    assert req.headers["apns-push-type"] == "background" and req.headers["apns-priority"] == "5"
    assert req.json() == {"aps": {"content-available": 1}, "cart_id": 7}


@pytest.mark.parametrize("token", [GONE, BAD])
def test_dead_device_token_is_invalidated_and_fails_token_expired(
    api, workspace, apple, team_key, token
):
    config = _channel(api, apple, team_key)
    message = _send(workspace, _push(workspace, config, token))
    assert message.status == "failed" and message.error == "token_expired"
    message.customer.refresh_from_db()
    assert [t["valid"] for t in message.customer.push_tokens] == [False]


def test_one_dead_token_among_live_ones_still_sends_and_drops_it(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key)
    message = _send(workspace, _push(workspace, config, GONE, GOOD))
    assert message.status == "sent"
    message.customer.refresh_from_db()
    assert {t["token"]: t["valid"] for t in message.customer.push_tokens} == {
        GONE: False,
        GOOD: True,
    }


@pytest.mark.parametrize("token, reason", [(BUSY, "TooManyRequests"), (DOWN, "ServiceUnavailable")])
def test_busy_or_down_apns_is_retried(api, workspace, apple, team_key, token, reason):
    config = _channel(api, apple, team_key)
    message = _send(workspace, _push(workspace, config, token))
    assert message.status == "queued" and message.attempts == 1
    assert reason in message.error_detail
    message.customer.refresh_from_db()
    assert [t["valid"] for t in message.customer.push_tokens] == [True]


def test_expired_provider_token_is_renewed_once(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key)
    _send(workspace, _push(workspace, config, GOOD))
    apple.expired_jwts.add(apple.requests[0].headers["authorization"].split(" ", 1)[1])
    message = _send(workspace, _push(workspace, config, GOOD))
    assert message.status == "sent"
    stale, renewed = apple.requests[1], apple.requests[2]
    assert stale.headers["authorization"] == apple.requests[0].headers["authorization"]
    assert renewed.headers["authorization"] != stale.headers["authorization"]


def test_a_key_apple_refuses_fails_after_one_renewal(api, workspace, apple, team_key):
    other_key = ec.generate_private_key(ec.SECP256R1())  # not the key Apple holds for KEY_ID
    config = _channel(api, apple, other_key)
    message = _send(workspace, _push(workspace, config, GOOD))
    assert message.status == "failed" and message.error == "provider_auth_failed"
    assert "InvalidProviderToken" in message.error_detail
    assert len(apple.requests) == 2


def test_a_silent_apns_is_given_up_at_the_channels_deadline(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key, {"timeout_seconds": 1})
    started = time.monotonic()
    message = _send(workspace, _push(workspace, config, HUNG))
    assert time.monotonic() - started < 5
    assert message.status == "queued" and "within 1 s" in message.error_detail


def test_http1_is_refused_by_apns(apple):
    with socket.create_connection(("127.0.0.1", int(apple.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(b"POST /3/device/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        while sock.recv(4096):
            pass
    assert apple.refused_connections == 1 and apple.requests == []


def test_test_send_goes_to_the_ios_token_given_as_address(api, workspace, apple, team_key):
    config = _channel(api, apple, team_key)
    message = channel_test_send(config=config, to=GOOD, content={"body": "Hello"})
    assert message.status == "sent", message.error_detail
    assert apple.requests[0].headers[":path"] == f"/3/device/{GOOD}"


def test_bad_credentials_are_named(api, workspace):
    created = api.post(
        "/api/v1/channels",
        {
            "channel": "push",
            "provider": "apns",
            "name": "iOS app",
            "credentials": _credentials(
                team_id="team", private_key="not a key", environment="staging"
            ),
            "settings": {"push_type": "voip"},
        },
        format="json",
    )
    assert created.status_code == 400
    text = created.content.decode()
    for name in (
        "credentials.team_id",
        "credentials.private_key",
        "credentials.environment",
        "settings.push_type",
    ):
        assert name in text


def test_private_apns_host_is_refused_by_the_outbound_guard(
    api, workspace, apple, team_key, settings
):
    config = _channel(api, apple, team_key)
    settings.OUTBOUND_ALLOWED_HOSTS = []
    message = _send(workspace, _push(workspace, config, GOOD))
    assert message.status == "failed" and message.error == "outbound_blocked"
