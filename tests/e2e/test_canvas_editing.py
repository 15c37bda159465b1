"""Editing steps on the canvas as a marketer does, each read back through the API: a cleared choice
leaves the saved step (the "Send through" picker back on the workspace default, "Wait for"
unticked), and not a stale value the engine would still act on."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from .test_canvas import account, node, send_events  # noqa: F401  (fixtures and helpers)
from .test_canvas_failures import _node, _open
from .test_canvas_message_form import _saved

pytestmark = pytest.mark.e2e


def _create(
    api: httpx.Client, graph: dict, settings: dict | None = None, name: str = "Cart reminder"
) -> int:
    created = api.post(
        "/journeys",
        json={"name": name, "graph": graph, "settings": settings or {"entry": {"type": "api"}}},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _sms_graph() -> dict:
    return {
        "nodes": [
            _node("start", "start", 0, 0),
            _node(
                "sms",
                "message",
                0,
                180,
                {"channel": "sms", "content": {"text": "Your cart is waiting"}},
                "Reminder",
            ),
            _node("end", "exit", 0, 400),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "sms"},
            {"source": "sms", "source_handle": "next", "target": "end"},
        ],
    }


def _config(journey: dict, node_id: str) -> dict:
    return next(n for n in journey["graph"]["nodes"] if n["id"] == node_id)["config"]


def test_clearing_send_through_and_wait_for_removes_them_from_the_saved_step(
    live_server_url,
    account,  # noqa: F811
    browser_page,
):
    journey_id = _create(account, _sms_graph())
    sms_channel = next(
        c for c in account.get("/channels").json()["results"] if c["channel"] == "sms"
    )
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "sms").click()
    panel = page.get_by_test_id("node-panel")

    panel.get_by_label("Send through").select_option(label="Sandbox sms · sandbox")
    panel.get_by_label("Wait for").check()
    config = _config(
        _saved(
            account,
            journey_id,
            lambda j: "channel_id" in _config(j, "sms") and "await" in _config(j, "sms"),
        ),
        "sms",
    )
    assert config["channel_id"] == sms_channel["id"]
    assert config["await"]["status"] == "delivered"

    panel.get_by_label("Send through").select_option(label="Workspace default (Sandbox sms)")
    panel.get_by_label("Wait for").uncheck()
    config = _config(
        _saved(
            account,
            journey_id,
            lambda j: "channel_id" not in _config(j, "sms") and "await" not in _config(j, "sms"),
        ),
        "sms",
    )
    assert config["content"] == {"text": "Your cart is waiting"}
    # Without `await` the step has no yes / no outputs again.
    expect(
        node(page, "sms").locator('.react-flow__handle.source[data-handleid="yes"]')
    ).to_have_count(0)


def test_the_trigger_node_sets_its_event_from_the_events_received_with_their_counts(
    live_server_url,
    account,  # noqa: F811
    browser_page,
):
    send_events(
        account,
        *(
            {"customer_id": c, "name": "cart_abandoned", "properties": {"item_name": "Blue mug"}}
            for c in ("ada", "bob", "cy")
        ),
        {"customer_id": "ada", "name": "purchase", "properties": {"amount": 30}},
    )
    journey_id = _create(account, _sms_graph())
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "start").click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_label("Customers enter").select_option(label="When the customer does an event")
    trigger = panel.get_by_role("combobox", name="Trigger event")
    trigger.fill("cart")
    suggestions = panel.get_by_role("listbox", name="Events received")
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option", name="cart_abandoned")).to_contain_text("3 received")
    trigger.fill("")
    expect(suggestions.get_by_role("option", name="purchase")).to_contain_text("1 received")
    suggestions.get_by_role("option", name="cart_abandoned").click()
    expect(trigger).to_have_value("cart_abandoned")
    expect(node(page, "start")).to_contain_text("cart_abandoned")
    journey = _saved(
        account,
        journey_id,
        lambda j: (
            (j["settings"].get("entry") or {}).get("type") == "event"
            and j["settings"]["entry"]["events"][0]["name"] == "cart_abandoned"
        ),
    )
    assert journey["settings"]["entry"] == {"type": "event", "events": [{"name": "cart_abandoned"}]}


def test_the_push_counters_are_the_platforms_own_display_lengths(
    live_server_url,
    account,  # noqa: F811
    browser_page,
):
    graph = _sms_graph()
    graph["nodes"][1]["config"] = {
        "channel": "push",
        "content": {"title": "", "body": "", "platforms": ["ios"]},
    }
    journey_id = _create(account, graph)
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "sms").click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("counter-body-ios")).to_have_text("0/160 iOS")
    expect(panel.get_by_test_id("counter-title-ios")).to_have_text("0/40 iOS")
    expect(panel.get_by_test_id("counter-body-android")).to_have_count(0)  # not sent to Android
    expect(panel).not_to_contain_text("/30")

    panel.get_by_label("android").check()
    body = "Your cart misses you: the blue mug is still there, come back!"  # 61 characters
    panel.get_by_label("Body", exact=True).fill(body)
    expect(panel.get_by_test_id("counter-body-android")).to_have_text("61/49 Android")
    expect(panel.get_by_test_id("counter-body-android")).to_have_class("counter over")
    expect(panel.get_by_test_id("counter-body-ios")).to_have_class("counter")
    expect(panel).to_contain_text("Cut off after about 49 characters on the Android lock screen.")
