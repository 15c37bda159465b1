"""Secrets never logged: passwords, API keys and provider credentials go through logins, API calls,
channel set-up and failing sends with every logger at DEBUG (SQL included), and none of them
appears in any log record, message, argument or traceback."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.channels.conftest import http_server  # noqa: F401 (a fixture: a real local HTTP server)
from tests.conftest import make_client
from workspaces.models import User

PASSWORD = "Pw-never-logged-7731"
SECRETS = {
    "twilio": "twilio-token-never-logged",
    "telegram": "8812:telegram-token-never-logged",
    "http": "Bearer http-header-never-logged",
    "smtp": "smtp-password-never-logged",
    "whatsapp": "whatsapp-token-never-logged",
}


def _logged(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or "", str(record.__dict__)]
    return "\n".join(parts)


@pytest.fixture
def everything_logged(caplog, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    # LOG_LEVEL=DEBUG (the root logger; loggers the settings pin keep their level), plus SQL with
    # its parameters, as DEBUG=True would log it.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


@pytest.mark.django_db
def test_passwords_and_api_keys_are_never_logged(workspace, everything_logged):
    User.objects.create_user("logged@example.com", PASSWORD)
    client = APIClient()
    for password in (PASSWORD + "-wrong", PASSWORD):
        client.post("/api/v1/auth/login", {"email": "logged@example.com", "password": password}, format="json")
    api = make_client(workspace)
    raw = api.raw_key
    assert api.get("/api/v1/customers").status_code == 200
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {raw[:-4]}XXXX")
    assert forged.get("/api/v1/customers").status_code == 401
    assert everything_logged.records, "nothing was logged: the test would prove nothing"
    text = _logged(everything_logged)
    assert PASSWORD not in text
    assert raw not in text and raw[11:] not in text  # neither the key nor its secret part


@pytest.mark.django_db
def test_provider_credentials_are_never_logged_even_when_sends_fail(workspace, everything_logged, http_server):  # noqa: F811
    api = make_client(workspace)
    http_server.route("POST", "/2010-04-01/Accounts/AC1/Messages.json", 401, {"message": "Authenticate"})
    http_server.route("POST", f"/bot{SECRETS['telegram']}/sendMessage", 500, {"ok": False})
    http_server.route("POST", "/hook", 500, {"error": "boom"})
    http_server.route("POST", "/v19.0/1/messages", 500, {"error": {"code": 1, "message": "boom"}})
    channels = [
        ("sms", "twilio", {"account_sid": "AC1", "auth_token": SECRETS["twilio"], "from": "+15550001",
                           "base_url": http_server.url}, "+15557654321", {"text": "hi"}),
        ("telegram", "telegram", {"bot_token": SECRETS["telegram"], "base_url": http_server.url}, "42", {"text": "hi"}),
        ("email", "http", {"url": f"{http_server.url}/hook", "headers": {"Authorization": SECRETS["http"]}},
         "a@example.com", {"subject": "s", "text": "t"}),
        ("email", "smtp", {"host": "127.0.0.1", "port": 9, "username": "u", "password": SECRETS["smtp"]},
         "a@example.com", {"subject": "s", "text": "t"}),
        ("whatsapp", "whatsapp_cloud", {"phone_number_id": "1", "access_token": SECRETS["whatsapp"],
                                        "base_url": http_server.url}, "+15557654321", {"text": "hi"}),
    ]
    for channel, provider, credentials, to, content in channels:
        settings = {"from_email": "x@example.com"} if provider == "smtp" else {}
        created = api.post("/api/v1/channels", {"channel": channel, "provider": provider, "name": provider,
                                                "credentials": credentials, "settings": settings}, format="json")
        assert created.status_code == 201, created.content
        config_id = created.json()["id"]
        assert api.get(f"/api/v1/channels/{config_id}").status_code == 200
        sent = api.post(f"/api/v1/channels/{config_id}/test", {"to": to, "content": content}, format="json")
        assert sent.status_code < 500, (provider, sent.status_code, sent.content[:300])
        body = sent.content.decode()
        assert not any(secret in body for secret in SECRETS.values()), (provider, body)
    assert len(http_server.requests) >= 4, "the sends did not reach the provider: the test would prove nothing"
    text = _logged(everything_logged)
    leaked = {name: secret for name, secret in SECRETS.items() if secret in text}
    assert leaked == {}, f"secrets in the logs: {sorted(leaked)}"
