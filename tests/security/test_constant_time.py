"""Every secret a request offers (provider webhook verify token and signatures, API keys, Segment
write keys) is compared with hmac.compare_digest: a plain `==` stops at the first differing byte
and its timing tells an attacker how much of a guess was right."""

from __future__ import annotations

import base64
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from channels_app.callbacks import twilio_callback_url, whatsapp_callback_url
from channels_app.services import channel_create
from workspaces.services import _hash_key


@pytest.fixture
def compared(monkeypatch) -> list[tuple]:
    """Arguments of every hmac.compare_digest call made while the test runs (as text)."""
    calls: list[tuple] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append(tuple(x.decode() if isinstance(x, bytes) else x for x in (a, b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def _offered(calls: list[tuple], secret: str) -> bool:
    return any(secret in pair for pair in calls)


def _whatsapp(workspace):
    return channel_create(workspace=workspace, channel="whatsapp", provider="whatsapp_cloud", name="W",
                          credentials={"phone_number_id": "1", "access_token": "a", "verify_token": "open-sesame",
                                       "app_secret": "shh"})


def _query(url: str) -> tuple[str, dict]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


@pytest.mark.django_db
def test_whatsapp_verify_token_is_compared_in_constant_time(client, workspace, compared):
    path, query = _query(whatsapp_callback_url(_whatsapp(workspace).pk))
    for guess, status in (("open-sesamX", 403), ("open-sesame", 200), ("ünïcode", 403)):
        response = client.get(path, {**query, "hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": guess})
        assert response.status_code == status, (guess, response.content)
        assert _offered(compared, guess), f"{guess!r} was not compared with compare_digest"


@pytest.mark.django_db
def test_whatsapp_signature_is_compared_in_constant_time(client, workspace, compared):
    path, query = _query(whatsapp_callback_url(_whatsapp(workspace).pk))
    response = client.post(f"{path}?c={query['c']}", b"{}", content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256="sha256=" + "0" * 64)
    assert response.status_code == 403
    assert _offered(compared, "sha256=" + "0" * 64)


@pytest.mark.django_db
def test_twilio_signature_is_compared_in_constant_time(client, workspace, compared):
    config = channel_create(workspace=workspace, channel="sms", provider="twilio", name="T",
                            credentials={"account_sid": "AC1", "auth_token": "tok", "from": "+1"})
    url = twilio_callback_url(config.pk)
    response = client.post(url.replace("http://testserver", ""), {"MessageSid": "SM1", "MessageStatus": "sent"},
                           HTTP_X_TWILIO_SIGNATURE="forged")
    assert response.status_code == 403
    assert _offered(compared, "forged")


@pytest.mark.django_db
def test_api_keys_and_write_keys_are_compared_in_constant_time(api, compared):
    raw, api = api.raw_key, APIClient()  # no stored credentials: each call sends its own
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")  # right lookup prefix, wrong secret
    assert api.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401
    assert _offered(compared, _hash_key(forged))
    basic = base64.b64encode(f"{forged}:".encode()).decode()
    response = api.post("/v1/track", {"userId": "u1", "event": "e"}, format="json", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert sum(_hash_key(forged) in pair for pair in compared) == 2
