"""Abuse at the door: oversized bodies (413 with the error body, also on the ASGI path), API keys
(hashed, revoked at once, rate limited with Retry-After), login throttling and CSRF."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from urllib.parse import urlencode

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


def test_rate_limit_is_per_key_with_retry_after(workspace, settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "5/min"}}
    # Mid-window and held there: on a loaded machine seven requests can straddle a minute.
    monkeypatch.setattr("workspaces.throttling.time.time", lambda: 1_800_000_030.0)
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


# ---- NUL outside JSON bodies: a 400 naming where, never a 500 -----------------------------
def _nul_error(response, where: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:200])
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [where] and "NUL" in error["details"][where][0]


def test_nul_in_a_query_parameter_is_400_naming_it(api):
    _nul_error(api.get("/api/v1/customers?search=a%00b"), "query.search")
    _nul_error(api.get("/api/v1/messages?customer_id=%00"), "query.customer_id")


def test_nul_in_a_path_is_400(api):
    _nul_error(api.get("/api/v1/customers/a%00b"), "path")
    _nul_error(api.delete("/api/v1/customers/a%00b/inbox"), "path")


def test_nul_in_a_header_is_400_and_an_impossible_key_is_never_looked_up(api, django_assert_num_queries):
    _nul_error(api.get("/api/v1/customers", HTTP_X_WORKSPACE="1\x00"), "header.X-Workspace")
    with django_assert_num_queries(0):
        response = APIClient().get("/api/v1/customers", HTTP_AUTHORIZATION="Bearer wm_" + "é" * 40)
    assert response.status_code == 401


def test_nul_in_form_and_multipart_fields_is_400_naming_the_field(api):
    for fmt in ("multipart", None):
        if fmt:
            response = api.post("/api/v1/lists", {"name": "bad\x00name"}, format=fmt)
        else:
            response = api.post("/api/v1/lists", "name=bad%00name", content_type="application/x-www-form-urlencoded")
        _nul_error(response, "name")
    assert api.get("/api/v1/lists").json()["results"] == []
    assert api.post("/api/v1/lists", "name=fine", content_type="application/x-www-form-urlencoded").status_code == 201


def test_nul_in_an_uploaded_csv_of_ids_is_400_and_adds_no_one(api, workspace):
    """Every upload of customer ids (list members, journey enrollments) refuses a NUL by name."""
    import io

    from journeys.models import Enrollment
    from tests.engine.helpers import chain, node, published

    customer_list = api.post("/api/v1/lists", {"name": "l"}, format="json").json()
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    api.post("/api/v1/customers", {"customers": [{"external_id": "ok"}]}, format="json")
    uploads = [
        ("put", f"/api/v1/lists/{customer_list['id']}/members", "Line 3: the external_id contains a NUL character."),
        ("post", f"/api/v1/journeys/{journey.id}/enrollments", "An external_id contains a NUL character."),
    ]
    for method, path, message in uploads:
        upload = io.BytesIO(b"external_id\nok\na\x00b\n")
        upload.name = "ids.csv"
        response = getattr(api, method)(path, {"file": upload}, format="multipart")
        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        assert response.json()["error"]["details"]["file"] == [message]
    assert api.get(f"/api/v1/lists/{customer_list['id']}").json()["member_count"] == 0
    assert not Enrollment.objects.for_workspace(workspace).exists()


def test_json_inside_a_form_field_is_checked_like_a_json_body(api, workspace):
    """DRF's JSONField reads a form or multipart field as JSON: what it decodes to (a NUL, a lone
    surrogate, NaN) is refused as from a JSON body. Found by schemathesis (POST /journeys, multipart)."""
    from journeys.models import Journey

    for bad, where in (('{"a": "x\\u0000"}', "a"), ('{"k": [NaN]}', "k[0]"), ('{"\\ud800": 1}', "has a key")):
        for fmt in ("multipart", None):
            fields = {"name": "J", "settings": bad}
            if fmt:
                response = api.post("/api/v1/journeys", fields, format=fmt)
            else:
                response = api.post("/api/v1/journeys", urlencode(fields), content_type="application/x-www-form-urlencoded")
            assert response.status_code == 400, (bad, fmt, response.status_code, response.content[:200])
            assert where in response.json()["error"]["details"]["settings"][0], response.json()
    assert not Journey.objects.for_workspace(workspace).exists()
    assert api.post("/api/v1/lists", {"name": "[not json] {either"}, format="multipart").status_code == 201


def test_nul_on_the_tracking_api_is_400_in_segment_words(api):
    response = APIClient().post("/v1/track?x=%00", {"userId": "u", "event": "e"}, format="json",
                                HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["code"] == "validation_error"


def test_every_api_path_refuses_a_nul_query_the_same_way(api):
    """The class: a NUL in a query string is stopped before any view, for every operation."""
    paths = api.get("/api/v1/schema?format=json").json()["paths"]
    for path, operations in paths.items():
        url = "/api/v1" + path.removeprefix("/api/v1")
        url = url.replace("{external_id}", "c1").replace("{writeKey}", "k")
        url = re.sub(r"\{[^}]+\}", "1", url)
        for method in operations.keys() & {"get", "post", "put", "patch", "delete"}:
            response = getattr(api, method)(url + "?anything=%00")
            assert response.status_code == 400, (method, url, response.status_code)


# ---- Failed authentication is limited per client address, before the key lookup ----------
def _bad_key_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer wm_deadbeefNotARealSecretAtAll")
    return client


def test_bad_key_flood_is_429_per_address_before_any_key_lookup(api, settings, django_assert_num_queries):
    settings.AUTH_FAILURE_RATE = "5/min"
    flood = _bad_key_client()
    assert [flood.get("/api/v1/customers").status_code for _ in range(5)] == [401] * 5
    with django_assert_num_queries(0):  # refused before the key is looked up
        limited = flood.get("/api/v1/customers")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # The address is out for the window, whatever key it now sends; another address is not.
    assert api.get("/api/v1/customers").status_code == 429
    assert api.get("/api/v1/customers", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_unauthenticated_flood_is_429_too(db, settings):
    settings.AUTH_FAILURE_RATE = "3/min"
    client = APIClient()
    codes = [client.get("/api/v1/journeys").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    tracking = APIClient().post("/v1/track", {"userId": "u", "event": "e"}, format="json")
    assert tracking.status_code == 429 and tracking.json()["success"] is False


def test_good_keys_are_not_counted_against_their_address(api, settings):
    settings.AUTH_FAILURE_RATE = "3/min"
    assert all(api.get("/api/v1/customers").status_code == 200 for _ in range(10))


def test_forwarded_for_is_believed_only_from_trusted_proxies(api, settings):
    settings.AUTH_FAILURE_RATE = "2/min"
    flood = _bad_key_client()
    # Untrusted peer: a made-up X-Forwarded-For does not buy a fresh budget.
    for i in range(2):
        assert flood.get("/api/v1/customers", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code == 401
    assert flood.get("/api/v1/customers", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    # Behind a trusted proxy each client address has its own budget.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    behind = {"REMOTE_ADDR": "10.0.0.5"}
    for _ in range(2):
        assert flood.get("/api/v1/customers", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.9", **behind).status_code == 401
    assert flood.get("/api/v1/customers", HTTP_X_FORWARDED_FOR="198.51.100.7", **behind).status_code == 429
    assert api.get("/api/v1/customers", HTTP_X_FORWARDED_FOR="198.51.100.8", **behind).status_code == 200
