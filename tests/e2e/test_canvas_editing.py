"""Editing steps on the canvas as a marketer does, each read back through the API: a cleared choice
leaves the saved step (the "Send through" picker back on the workspace default, "Wait for"
unticked), and not a stale value the engine would still act on."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from journeys.models import Enrollment

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


def test_personalization_offers_the_trigger_events_properties_and_previews_them_with_a_picked_customer(
    live_server_url,
    account,  # noqa: F811
    browser_page,
):
    send_events(
        account,
        {"customer_id": "ada", "name": "cart_abandoned", "properties": {"item_name": "Blue mug"}},
    )
    graph = _sms_graph()
    graph["nodes"][1]["config"]["content"]["text"] = ""
    entry = {"entry": {"type": "event", "events": [{"name": "cart_abandoned"}]}}
    journey_id = _create(account, graph, entry)
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "sms").click()
    panel = page.get_by_test_id("node-panel")
    text = panel.get_by_label("Text", exact=True)
    menu_button = panel.get_by_role("button", name="Insert customer attribute")
    menu = panel.get_by_role("menu")

    # The menu closes on Escape and on a click outside it.
    menu_button.click()
    expect(menu.get_by_role("menuitem", name="event.item_name")).to_contain_text("e.g. Blue mug")
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(menu_button).to_be_focused()
    menu_button.click()
    expect(menu).to_be_visible()
    panel.get_by_role("heading", level=2).click()
    expect(menu).to_have_count(0)

    text.fill("Hi {{ customer.first_name }}, your ")
    menu_button.click()
    menu.get_by_role("menuitem", name="event.item_name").click()
    expect(text).to_have_value("Hi {{ customer.first_name }}, your {{ event.item_name }}")
    preview = panel.get_by_test_id("preview")
    # Sample values: the event's from the events received, the customer's from the sample attributes.
    expect(preview).to_contain_text("Hi Alex, your Blue mug")
    panel.get_by_label("Sample customer").select_option("ada")
    expect(preview).to_contain_text("Hi Ada, your Blue mug")
    panel.get_by_label("sample event value").fill("Red mug")
    expect(preview).to_contain_text("Hi Ada, your Red mug")


def test_the_publish_dialog_counts_customers_on_their_way_to_a_changed_step_and_shows_the_change(
    live_server_url,
    account,  # noqa: F811
    browser_page,
):
    graph = _sms_graph()
    graph["nodes"].insert(
        1,
        _node(
            "wait",
            "wait",
            0,
            90,
            {"mode": "duration", "duration": {"value": 1, "unit": "hours"}},
            "Wait an hour",
        ),
    )
    graph["edges"][0] = {"source": "start", "source_handle": "next", "target": "wait"}
    graph["edges"].append({"source": "wait", "source_handle": "next", "target": "sms"})
    journey_id = _create(account, graph)
    assert account.put(f"/journeys/{journey_id}/start", json={}).status_code == 200
    assert (
        account.post(
            f"/journeys/{journey_id}/enrollments", json={"customer_ids": ["ada", "bob", "cy"]}
        ).status_code
        == 202
    )
    deadline = time.monotonic() + 30
    while (
        Enrollment.objects.unscoped()
        .filter(journey_id=journey_id, state="waiting", node_id="wait")
        .count()
        < 3
    ):
        assert time.monotonic() < deadline, "the three customers did not reach the wait"
        time.sleep(0.3)

    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "sms").click()
    page.get_by_test_id("node-panel").get_by_label("Text", exact=True).fill("Your cart misses you")
    page.get_by_role("button", name="Publish changes").click()
    dialog = page.get_by_role("dialog")
    # Nobody is at the message yet, but the three waiting before it will get the new text.
    expect(dialog.get_by_test_id("publish-affected")).to_contain_text(
        "3 customers already in the journey meet these changes"
    )
    row = dialog.locator('tr[data-node="sms"]')
    expect(row).to_contain_text("Text: “Your cart is waiting” → “Your cart misses you”")
    expect(row.locator("td.num").nth(0)).to_have_text("0")
    expect(row.locator("td.num").nth(1)).to_have_text("3")
    expect(dialog.get_by_test_id("publish-waiting")).to_contain_text(
        "3 at “Wait an hour”: keep their timers, then go on through the new version."
    )
    dialog.get_by_label("Keep them on their current version until they finish").check()
    expect(dialog.get_by_test_id("publish-affected")).to_contain_text("keep version 1")
    expect(dialog.get_by_test_id("publish-waiting")).to_contain_text(
        "stay on version 1 and keep their timers"
    )
    dialog.get_by_label("Move them to the new version").check()
    dialog.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_role("status").filter(has_text="Published version 2")).to_be_visible()
    waiting = Enrollment.objects.unscoped().filter(
        journey_id=journey_id, state="waiting", node_id="wait"
    )
    assert {e.version.number for e in waiting.select_related("version")} == {2}
