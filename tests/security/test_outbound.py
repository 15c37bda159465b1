"""The outbound guard from outside: what a workspace can configure through the API (an HTTP
provider's URL, a webhook node's URL) never reaches loopback, link-local or metadata addresses,
directly or through a redirect, unless the host is allow-listed (OUTBOUND_ALLOWED_HOSTS)."""

from __future__ import annotations

import pytest

from channels_app.models import WebhookCall
from journeys.models import Enrollment
from tests.channels.conftest import http_server  # noqa: F401  (the local HTTP server fixture)
from tests.conftest import make_client, wait_for
from tests.engine.helpers import chain, node, published


def _http_channel(api, url: str) -> int:
    response = api.post("/api/v1/channels", {"channel": "sms", "provider": "http", "name": "hook",
                                             "credentials": {"url": url}, "settings": {}}, format="json")
    if response.status_code == 400:
        return 0  # refused at the door: as good as refused on send
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _test_send(api, channel_id: int) -> dict:
    response = api.post(f"/api/v1/channels/{channel_id}/test", {"to": "+14155550100", "content": {"text": "hi"}},
                        format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_http_provider_to_loopback_is_refused_unless_allow_listed(api, http_server, settings):  # noqa: F811
    http_server.route("POST", "/send", 200, {"id": "p1"})
    settings.OUTBOUND_ALLOWED_HOSTS = []
    channel_id = _http_channel(api, f"{http_server.url}/send")
    if channel_id:
        message = _test_send(api, channel_id)
        assert message["status"] == "failed" and "outbound" in message["error"].lower(), message
    assert http_server.requests == []

    # The same target, allow-listed, is reached: the refusal above was the guard, not the server.
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    channel_id = _http_channel(api, f"{http_server.url}/send")
    assert _test_send(api, channel_id)["status"] == "sent"
    assert [r.path for r in http_server.requests] == ["/send"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://0.0.0.0:80/",
    "http://10.0.0.1/",
])
def test_http_provider_to_metadata_and_private_addresses_is_refused(api, settings, url):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]  # as in tests and local runs
    channel_id = _http_channel(api, url)
    if channel_id:
        message = _test_send(api, channel_id)
        assert message["status"] == "failed" and "outbound" in message["error"].lower(), message


@pytest.mark.django_db
def test_http_provider_redirect_to_a_private_address_is_not_followed(api, http_server, settings):  # noqa: F811
    port = http_server.url.rsplit(":", 1)[1]
    http_server.route("POST", "/send", 307, None, {"Location": f"http://127.0.0.1:{port}/secret"})
    http_server.route("POST", "/secret", 200, {"id": "leak"})
    settings.OUTBOUND_ALLOWED_HOSTS = ["localhost"]  # the name is allowed; the address it points to is not
    message = _test_send(api, _http_channel(api, f"http://localhost:{port}/send"))
    assert message["status"] == "failed", message
    assert [r.path for r in http_server.requests] == ["/send"]


def test_webhook_node_to_the_metadata_address_takes_failed(workspace, celery_worker, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    graph = chain(node("start", "start"), node("hook", "webhook", {
        "method": "GET", "url": "http://169.254.169.254/latest/meta-data/", "headers": {}, "body": "",
        "timeout_seconds": 2, "retries": 2}))
    journey = published(workspace, graph)
    api = make_client(workspace)
    assert api.post("/api/v1/customers", {"customers": [{"external_id": "c1"}]}, format="json").status_code == 200
    enrolled = api.post(f"/api/v1/journeys/{journey.id}/enrollments", {"customer_ids": ["c1"]}, format="json")
    assert enrolled.status_code == 202 and enrolled.json()["enrolled"] == 1, enrolled.content
    # The unconnected `failed` handle ends the journey there: completed.
    enrollment = wait_for(lambda: Enrollment.objects.for_workspace(workspace).filter(
        journey=journey, state="completed").first())
    call = WebhookCall.objects.for_workspace(workspace).get(enrollment=enrollment)
    assert call.error.startswith("outbound_blocked") and call.attempts == 1
    history = api.get(f"/api/v1/journeys/{journey.id}/enrollments/c1").json()["history"]
    assert any(h["node_id"] == "hook" and h["handle"] == "failed" for h in history), history
