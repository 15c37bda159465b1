"""Tracking from web pages: publishable keys (wm_pk_…), CORS for their origins, analytics.js's
one-letter paths, text/plain bodies and the settings analytics-next loads from its cdnURL."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client

from audiences.models import Event
from tests.conftest import make_client

from .conftest import basic

SHOP = "https://shop.example"
BLOG = "https://blog.example"


def publishable(api, origins=(SHOP,), name="web") -> str:
    response = api.post(
        "/api/v1/api-keys",
        {"name": name, "kind": "publishable", "allowed_origins": list(origins)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["key"]


def event_names(workspace) -> list[str]:
    return list(
        Event.objects.for_workspace(workspace).order_by("id").values_list("name", flat=True)
    )


@pytest.mark.django_db
def test_a_publishable_key_is_made_listed_and_its_origins_checked(api):
    response = api.post(
        "/api/v1/api-keys",
        {"name": "web", "kind": "publishable", "allowed_origins": ["https://Shop.Example:443/"]},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()
    assert created["key"].startswith("wm_pk_")
    assert (created["kind"], created["allowed_origins"]) == ("publishable", [SHOP])
    listed = {key["id"]: key for key in api.get("/api/v1/api-keys").json()["results"]}
    assert listed[created["id"]]["allowed_origins"] == [SHOP]
    assert "key" not in listed[created["id"]]

    bad = api.post(
        "/api/v1/api-keys",
        {"kind": "publishable", "allowed_origins": ["https://shop.example/checkout"]},
        format="json",
    )
    assert bad.status_code == 400
    assert "allowed_origins" in bad.json()["error"]["details"]


@pytest.mark.django_db
def test_a_publishable_key_writes_tracking_calls_and_nothing_else(api, workspace):
    key = publishable(api)
    tracked = Client().post(
        "/v1/track",
        data=json.dumps({"userId": "u1", "event": "viewed"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(key),
    )
    assert tracked.status_code == 200
    for method, path in [
        ("get", "/api/v1/customers"),
        ("post", "/api/v1/events"),
        ("get", "/api/v1/api-keys"),
        ("get", "/api/v1/journeys"),
    ]:
        response = getattr(Client(), method)(path, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 403, (path, response.status_code)
    assert event_names(workspace) == ["viewed"]


@pytest.mark.django_db
def test_cors_answers_only_the_keys_allowed_origins(api, workspace):
    shop_key = publishable(api, [SHOP])
    publishable(api, [BLOG], name="blog")
    preflight = Client().options(
        "/v1/t",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "content-type" in preflight["Access-Control-Allow-Headers"].lower()

    stranger = Client().options(
        "/v1/t", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert stranger.status_code == 403
    assert "Access-Control-Allow-Origin" not in stranger

    def track(origin: str, event: str):
        return Client().post(
            "/v1/t",
            data=json.dumps({"userId": "u1", "event": event, "writeKey": shop_key}),
            content_type="text/plain",
            HTTP_ORIGIN=origin,
        )

    allowed = track(SHOP, "from_shop")
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    # The blog's origin passes preflight (another key allows it), but not with the shop's key.
    refused = track(BLOG, "from_blog")
    assert refused.status_code == 403
    assert event_names(workspace) == ["from_shop"]


@pytest.mark.django_db
def test_a_secret_key_keeps_working_on_tracking(api, workspace):
    response = Client().post(
        "/v1/i",
        data=json.dumps({"userId": "u1", "traits": {"plan": "pro"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(api.raw_key),
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_publishable_key_is_rate_limited_per_client_address(api, workspace, settings):
    settings.PUBLISHABLE_KEY_ADDRESS_RATE = "3/min"
    key = publishable(api)

    def track(address: str):
        return Client().post(
            "/v1/t",
            data=json.dumps({"userId": "u1", "event": "e", "writeKey": key}),
            content_type="text/plain",
            REMOTE_ADDR=address,
        )

    assert [track("10.0.0.1").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert "Retry-After" in track("10.0.0.1")
    assert track("10.0.0.2").status_code == 200  # another visitor is not held back

    settings.PUBLISHABLE_KEY_RATE = "7/min"  # the key's own budget, of which 6 calls are spent
    assert track("10.0.0.3").status_code == 200
    assert track("10.0.0.4").status_code == 429
    assert len(event_names(workspace)) == 5


@pytest.mark.django_db(transaction=True)
def test_analytics_js_calls_over_http(tracking_server, workspace):
    """What analytics-next does from a page: load settings from cdnURL, preflight, then post
    text/plain JSON to the one-letter paths named by the settings' apiHost."""
    key = publishable(make_client(workspace), [SHOP])
    with httpx.Client(base_url=tracking_server, headers={"Origin": SHOP}, timeout=10) as page:
        loaded = page.get(f"/v1/projects/{key}/settings")
        assert loaded.status_code == 200
        assert loaded.headers["access-control-allow-origin"] == SHOP
        settings = loaded.json()
        segment = settings["integrations"]["Segment.io"]
        assert segment["apiKey"] == key
        assert f"{segment['protocol']}://{segment['apiHost']}" == f"{tracking_server}/v1"
        assert settings["edgeFunction"] == {}
        assert settings["plan"]["track"]["__default"]["enabled"] is True

        api_host = f"{segment['protocol']}://{segment['apiHost']}"
        preflight = page.options(f"{api_host}/t", headers={"Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204
        for path, body in [
            ("i", {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}}),
            ("t", {"type": "track", "userId": "u1", "event": "added_to_cart"}),
            ("p", {"type": "page", "userId": "u1", "name": "Home"}),
            ("b", {"batch": [{"type": "track", "userId": "u1", "event": "checked_out"}]}),
        ]:
            sent = page.post(
                f"{api_host}/{path}",
                content=json.dumps({**body, "writeKey": key}),
                headers={"Content-Type": "text/plain"},
            )
            assert sent.status_code == 200, (path, sent.text)
            assert sent.headers["access-control-allow-origin"] == SHOP
        assert page.get("/v1/projects/wm_pk_unknown000000/settings").status_code == 404
    assert event_names(workspace) == ["added_to_cart", "page_viewed", "checked_out"]


@pytest.mark.django_db
def test_rudderstack_loads_its_source_from_the_config_url(api):
    """@rudderstack/analytics-js asks `<configUrl>/sourceConfig/?writeKey=` before it sends: a
    source with no destinations, so every call goes to the data plane (this server)."""
    key = publishable(api, [SHOP])
    page = Client(HTTP_ORIGIN=SHOP)
    loaded = page.get("/v1/sourceConfig/", {"writeKey": key, "p": "npm", "v": "3.34.1"})
    assert loaded.status_code == 200
    assert loaded["Access-Control-Allow-Origin"] == SHOP
    source = loaded.json()["source"]
    assert (source["writeKey"], source["enabled"], source["destinations"]) == (key, True, [])
    assert page.get("/v1/sourceConfig/", {"writeKey": "wm_pk_unknown000000"}).status_code == 404
    missing = page.get("/v1/sourceConfig/")
    assert missing.status_code == 400 and "writeKey" in missing.content.decode()
    # Its calls carry AnonymousId, SentAt and, when retried, Rsa-* headers: all preflighted.
    asked = "authorization,content-type,anonymousid,sentat,rsa-retry-attempt,rsa-since-last-attempt"
    preflight = page.options("/v1/track", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                             HTTP_ACCESS_CONTROL_REQUEST_HEADERS=asked)
    allowed = {h.strip().lower() for h in preflight["Access-Control-Allow-Headers"].split(",")}
    assert set(asked.split(",")) <= allowed
