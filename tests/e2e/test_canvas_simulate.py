"""Simulate as a marketer uses it: a form rather than JSON. The journey's own events are offered
(the trigger already filled in), a stored customer is found by name and picked, and the path the
customer would take lights up on the canvas."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from .test_canvas import account, node, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = pytest.mark.e2e


def _node(node_id: str, type_: str, y: int, config: dict | None = None, name: str = "") -> dict:
    return {"id": node_id, "type": type_, "name": name, "position": {"x": 0, "y": y}, "config": config or {}}


def _cart_journey(api: httpx.Client) -> int:
    graph = {
        "nodes": [
            _node("start", "start", 0),
            _node("wait", "wait", 150, {"mode": "duration", "duration": {"value": 30, "unit": "minutes"}}),
            _node("bought", "event_branch", 300, {"event": "purchase", "within": "since_entry"}, "Purchased?"),
            _node("done", "exit", 450, name="Bought"),
            _node("mail", "message", 450, {"channel": "email", "content": {
                "subject": "{{ customer.first_name }}, your {{ event.item }} is waiting", "html": "<p>Come back</p>"}},
                "Reminder email"),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "wait"},
            {"source": "wait", "source_handle": "next", "target": "bought"},
            {"source": "bought", "source_handle": "yes", "target": "done"},
            {"source": "bought", "source_handle": "no", "target": "mail"},
        ],
    }
    settings = {"entry": {"type": "event", "events": [{"name": "cart_abandoned"}]}}
    created = api.post("/journeys", json={"name": "Cart", "graph": graph, "settings": settings})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _simulate_panel(page, url: str, journey_id: int):
    """Signs in, opens the journey's canvas and its Simulate panel."""
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    page.goto(f"{url}/journeys/{journey_id}")
    page.get_by_role("button", name="Simulate").click()
    return page.get_by_test_id("simulate-panel")


def test_simulate_is_a_form_with_the_journeys_events_and_a_customer_picker(
    live_server_url, account, browser_page  # noqa: F811
):
    page = browser_page
    panel = _simulate_panel(page, live_server_url, _cart_journey(account))

    # The trigger event is already there; a property is typed into a row, not into JSON.
    first = panel.get_by_test_id("sim-event").first
    expect(first.get_by_label("Event (the trigger)")).to_have_value("cart_abandoned")
    first.get_by_role("button", name="+ Add property").click()
    first.get_by_label("property", exact=True).fill("item")
    first.get_by_label("property value").fill("Boots")

    # A purchase ten minutes in, picked from the journey's own events: the buyer leaves.
    panel.get_by_label("Event to add").select_option("purchase")
    panel.get_by_role("button", name="+ Add event").click()
    second = panel.get_by_test_id("sim-event").nth(1)
    expect(second.get_by_label("Event", exact=True)).to_have_value("purchase")
    second.get_by_label("Minutes after entry").fill("10")
    panel.get_by_role("button", name="Run simulation").click()
    expect(panel.locator('[data-testid="sim-step"][data-node-id="done"]').first).to_be_visible()
    expect(panel.locator('[data-testid="sim-step"][data-node-id="bought"]').first).to_be_visible()
    expect(panel.locator('[data-testid="sim-step"][data-node-id="mail"]')).to_have_count(0)
    # The path lights up on the canvas; the steps it skipped fade.
    expect(node(page, "done").locator(".wm-node")).to_have_class(re.compile(r"\bon-path\b"))
    expect(node(page, "mail").locator(".wm-node")).to_have_class(re.compile(r"\bdimmed\b"))

    # A stored customer, found by name; without the purchase she gets the reminder, rendered
    # with her own name and the trigger event's property.
    panel.get_by_role("button", name="Remove event purchase").click()
    panel.get_by_text("Existing customer").click()
    panel.get_by_label("Find a customer").fill("bo")
    panel.get_by_role("list", name="Matching customers").get_by_role("button", name=re.compile("^bob")).click()
    expect(panel.get_by_test_id("sim-customer")).to_contain_text("bob@example.com")
    panel.get_by_role("button", name="Run simulation").click()
    mail = panel.locator('[data-testid="sim-step"][data-node-id="mail"][data-kind="passed"]')
    expect(mail).to_contain_text("Bob, your Boots is waiting")
    expect(node(page, "mail").locator(".wm-node")).to_have_class(re.compile(r"\bon-path\b"))
    expect(node(page, "done").locator(".wm-node")).to_have_class(re.compile(r"\bdimmed\b"))


def test_simulate_shows_a_send_the_frequency_cap_stops_after_the_paths_earlier_sends(
    live_server_url, account, browser_page  # noqa: F811
):
    graph = {
        "nodes": [
            _node("start", "start", 0),
            _node("mail", "message", 150, {"channel": "email", "content": {"subject": "Hi", "html": "<p>Hi</p>"}},
                  "Reminder email"),
            _node("sms", "message", 300, {"channel": "sms", "content": {"text": "Still there?"}}, "SMS follow-up"),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "mail"},
            {"source": "mail", "source_handle": "next", "target": "sms"},
        ],
    }
    settings = {"entry": {"type": "api"}, "frequency_cap": {"max": 1, "per": {"value": 1, "unit": "days"}}}
    created = account.post("/journeys", json={"name": "Capped", "graph": graph, "settings": settings})
    assert created.status_code == 201, created.text
    panel = _simulate_panel(browser_page, live_server_url, created.json()["id"])
    panel.get_by_text("Existing customer").click()
    panel.get_by_label("Find a customer").fill("ada")
    panel.get_by_role("list", name="Matching customers").get_by_role("button", name=re.compile("^ada")).click()
    panel.get_by_role("button", name="Run simulation").click()

    # One marketing message a day: the email is it, so the SMS right after it is not sent.
    mail = panel.locator('[data-testid="sim-step"][data-node-id="mail"][data-kind="passed"]')
    expect(mail).to_contain_text("→ next")
    sms = panel.locator('[data-testid="sim-step"][data-node-id="sms"][data-kind="passed"]')
    expect(sms).to_contain_text("→ failed")
    expect(sms).to_contain_text("Not sent: The frequency cap was reached")
