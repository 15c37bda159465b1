"""Built-in templates: six of them, each valid in a real workspace and startable as created."""

from __future__ import annotations

import pytest

from channels_app.services import channel_create
from journeys.graph import graph_nodes

pytestmark = pytest.mark.django_db
KEYS = ["onboarding", "abandoned_cart", "promotion", "post_purchase", "re_engagement", "birthday"]


def test_the_six_templates_are_listed(viewer_api):
    rows = viewer_api.get("/api/v1/journey-templates").json()["results"]
    assert [r["key"] for r in rows] == KEYS
    assert all(
        r["name"] and r["description"] and r["graph"]["nodes"] and r["settings"]["entry"]
        for r in rows
    )


@pytest.mark.parametrize("key", KEYS)
def test_a_template_creates_a_valid_draft_that_starts(api, workspace, key):
    for channel in ("email", "sms", "push"):  # a real workspace has its channels set up
        channel_create(workspace=workspace, channel=channel, provider="sandbox", name=channel)
    response = api.post("/api/v1/journeys", {"template": key, "name": f"My {key}"}, format="json")
    assert response.status_code == 201, response.json()
    journey = response.json()
    assert (journey["name"], journey["status"]) == (f"My {key}", "draft")
    checked = api.post(f"/api/v1/journeys/{journey['id']}/validate").json()
    assert (checked["valid"], checked["errors"]) == (True, [])
    started = api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json")
    assert started.status_code == 200, started.json()
    assert (started.json()["status"], started.json()["version"]) == ("active", 1)


def test_an_unknown_template_is_a_400(api):
    response = api.post(
        "/api/v1/journeys", {"template": "black_friday", "name": "x"}, format="json"
    )
    assert response.status_code == 400 and "template" in response.json()["error"]["details"]


def test_abandoned_cart_is_the_playbook(api):
    journey = api.post(
        "/api/v1/journeys", {"template": "abandoned_cart", "name": "Cart"}, format="json"
    ).json()
    settings, graph = journey["settings"], journey["graph"]
    assert [e["name"] for e in settings["entry"]["events"]] == ["cart_updated", "checkout_started"]
    assert {"event": "order_completed", "within": "since_entry"} in settings["exit_conditions"]
    assert settings["goals"][0]["condition"]["event"] == "order_completed"
    nodes = graph_nodes(graph)
    wait = nodes["wait_order"]["config"]
    assert (wait["mode"], wait["event"], wait["timeout"]) == (
        "event",
        "order_completed",
        {"value": 1, "unit": "hours"},
    )
    leads = {(e["source"], e["source_handle"]): e["target"] for e in graph["edges"]}
    assert nodes[leads[("wait_order", "timeout")]]["config"]["channel"] == "email"
    assert nodes[leads[("bought", "no")]]["type"] == "branch"
    assert {
        nodes[leads[("has_phone", "phone")]]["config"]["channel"],
        nodes[leads[("has_phone", "else")]]["config"]["channel"],
    } == {"sms", "push"}


def test_editing_a_created_draft_leaves_the_template_alone(api):
    journey = api.post(
        "/api/v1/journeys", {"template": "birthday", "name": "B"}, format="json"
    ).json()
    api.patch(
        f"/api/v1/journeys/{journey['id']}", {"graph": {"nodes": [], "edges": []}}, format="json"
    )
    rows = {r["key"]: r for r in api.get("/api/v1/journey-templates").json()["results"]}
    assert rows["birthday"]["graph"] == journey["graph"]
