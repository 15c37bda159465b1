"""Abuse at the door: oversized bodies (413 with the error body, also on the ASGI path), API keys
(hashed, revoked at once, rate limited with Retry-After), login throttling and CSRF."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_client
from workspaces.middleware import BodyLimitASGIMiddleware
from workspaces.models import ApiKey, Role, User

pytestmark = pytest.mark.django_db


# ---- Body size ----------------------------------------------------------------------------
def test_json_body_over_the_limit_is_413_with_the_error_body(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    customers = [{"external_id": f"c{i}", "attributes": {"pad": "x" * 100}} for i in range(200)]
    response = api.post("/api/v1/customers", {"customers": customers}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert api.get("/api/v1/customers").json()["results"] == []  # nothing half-written


def test_json_body_under_the_limit_is_accepted(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post("/api/v1/customers", {"customers": [{"external_id": "small"}]}, format="json")
    assert response.status_code == 200


def test_upload_over_the_file_limit_is_413(api, settings):
    settings.MAX_UPLOAD_SIZE = 50_000
    settings.IMPORT_MAX_BYTES = 10 * 1024 * 1024
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = b"external_id\n" + b"".join(b"c%d\n" % i for i in range(20_000))
    response = api.put("/api/v1/customers/import", {"file": SimpleUploadedFile("a.csv", csv)}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def _asgi_call(app, *, path: str, headers: list, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Drives an ASGI app with a streamed body; returns (status, body, bytes the app read)."""
    sent: list[dict] = []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    read = 0

    async def receive():
        nonlocal read
        message = queue.pop(0) if queue else {"type": "http.disconnect"}
        read += len(message.get("body", b""))
        return message

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, read


async def _draining_app(scope, receive, send):
    """Stands in for Django's ASGI handler: reads the whole body, then answers 202."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_asgi_chunked_body_without_length_is_cut_off_at_the_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    app = BodyLimitASGIMiddleware(_draining_app)
    headers = [(b"content-type", b"application/json")]
    status, body, read = _asgi_call(app, path="/api/v1/events", headers=headers, chunks=[b"x" * 400] * 50)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert read <= 1200  # it stopped reading soon after the limit, not after 20 kB
    status, _, _ = _asgi_call(app, path="/api/v1/events", headers=headers, chunks=[b"x" * 400] * 2)
    assert status == 202


def test_asgi_declared_length_over_the_limit_is_refused_before_reading(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    app = BodyLimitASGIMiddleware(_draining_app)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"5000000")]
    status, _, read = _asgi_call(app, path="/api/v1/events", headers=headers, chunks=[b"x" * 400])
    assert status == 413
    assert read == 0


# ---- API keys -----------------------------------------------------------------------------
def test_api_keys_are_stored_hashed_only(workspace):
    client = make_client(workspace)
    stored = ApiKey.objects.for_workspace(workspace).get(prefix=client.raw_key[3:11])
    assert client.raw_key not in json.dumps(list(ApiKey.objects.for_workspace(workspace).values()), default=str)
    assert stored.key_hash == hashlib.sha256(client.raw_key.encode()).hexdigest()


def test_right_prefix_wrong_secret_is_401(api):
    forged = api.raw_key[:-4] + ("AAAA" if not api.raw_key.endswith("AAAA") else "BBBB")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("authentication_failed", "not_authenticated")


def test_revoked_key_is_refused_at_once(api, workspace):
    victim = make_client(workspace, Role.EDITOR)
    key = ApiKey.objects.for_workspace(workspace).get(prefix=victim.raw_key[3:11])
    assert victim.get("/api/v1/customers").status_code == 200
    assert api.delete(f"/api/v1/api-keys/{key.pk}").status_code == 204
    assert victim.get("/api/v1/customers").status_code == 401


def test_rate_limit_is_per_key_with_retry_after(workspace, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "5/min"}}
    noisy, quiet = make_client(workspace), make_client(workspace)
    codes = [noisy.get("/api/v1/customers").status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    limited = noisy.get("/api/v1/customers")
    assert limited.json()["error"]["code"] == "throttled"
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert quiet.get("/api/v1/customers").status_code == 200  # another key has its own budget


def test_login_is_throttled_after_ten_tries_a_minute(db):
    User.objects.create_user("target@example.com", "right-password-1")
    client = APIClient()
    codes = [
        client.post("/api/v1/auth/login", {"email": "target@example.com", "password": f"guess-{i}"}, format="json").status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    # Even the right password waits out the window: guessing cannot be interleaved with it.
    right = client.post("/api/v1/auth/login", {"email": "target@example.com", "password": "right-password-1"}, format="json")
    assert right.status_code == 429
    assert right["Retry-After"]


# ---- CSRF on session endpoints ------------------------------------------------------------
def test_login_without_csrf_token_is_refused(db):
    User.objects.create_user("csrf@example.com", "right-password-1")
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/auth/login", {"email": "csrf@example.com", "password": "right-password-1"}, format="json")
    assert response.status_code == 403
    assert "sessionid" not in response.cookies


def test_session_write_without_csrf_token_is_refused_and_stores_nothing(workspace):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/v1/auth/csrf")
    token = client.cookies["csrftoken"].value
    login = client.post("/api/v1/auth/login", {"email": "owner@example.com", "password": "pw-owner-123"},
                        format="json", HTTP_X_CSRFTOKEN=token)
    assert login.status_code == 200
    token = client.cookies["csrftoken"].value
    assert client.post("/api/v1/lists", {"name": "forged"}, format="json").status_code == 403
    assert client.get("/api/v1/lists").json()["results"] == []
    assert client.post("/api/v1/lists", {"name": "real"}, format="json", HTTP_X_CSRFTOKEN=token).status_code == 201


# ---- Every JSON body goes through the project's parser ------------------------------------
@pytest.fixture
def json_endpoints(api, workspace) -> list[tuple[str, str]]:
    """The views that once pinned DRF's plain JSONParser: list members and journey enrollments."""
    from tests.engine.helpers import chain, node, published

    customer_list = api.post("/api/v1/lists", {"name": "l"}, format="json").json()
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    return [
        ("put", f"/api/v1/lists/{customer_list['id']}/members"),
        ("post", f"/api/v1/journeys/{journey.id}/enrollments"),
    ]


def _send(client, method: str, path: str, body: bytes):
    return getattr(client, method)(path, body, content_type="application/json")


def test_list_members_and_enrollments_refuse_unstorable_json_naming_the_field(api, workspace, json_endpoints):
    from journeys.models import Enrollment

    for method, path in json_endpoints:
        response = _send(api, method, path, json.dumps({"customer_ids": ["ok", "nul\u0000byte"]}).encode())
        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        assert "customer_ids[1]" in response.json()["error"]["details"], (path, response.json())
        deep = b'{"customer_ids": ' + b"[" * 200 + b"]" * 200 + b"}"
        response = _send(api, method, path, deep)
        assert response.status_code == 400, (path, response.status_code)
        response = _send(api, method, path, b'{"customer_ids": ["a",')
        assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error", path
    assert not Enrollment.objects.for_workspace(workspace).exists()
    assert api.get("/api/v1/customers").json()["results"] == []


def test_list_members_and_enrollments_answer_413_over_the_body_limit(api, json_endpoints, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"customer_ids": [f"c{i}" for i in range(5000)]}).encode()
    for method, path in json_endpoints:
        response = _send(api, method, path, body)
        assert response.status_code == 413, (path, response.status_code)
        assert response.json()["error"]["code"] == "payload_too_large"
