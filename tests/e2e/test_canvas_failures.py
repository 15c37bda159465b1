"""Failures in plain sight, as a marketer meets them on the canvas: a send that failed shows on its
node and in Simulate (and the customer still goes on), and an edit made just before leaving the
editor is saved rather than dropped."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from journeys.models import Enrollment, Journey

from .test_canvas import account, count, drop, node, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = pytest.mark.e2e


def _create(api: httpx.Client, graph: dict, name: str = "Welcome") -> int:
    created = api.post("/journeys", json={"name": name, "graph": graph, "settings": {"entry": {"type": "api"}}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _node(node_id: str, type_: str, x: int, y: int, config: dict | None = None, name: str = "") -> dict:
    return {"id": node_id, "type": type_, "name": name, "position": {"x": x, "y": y}, "config": config or {}}


def _welcome_graph() -> dict:
    """start → WhatsApp → email → exit; WhatsApp's Failed output is left unconnected."""
    return {
        "nodes": [
            _node("start", "start", 0, 0),
            _node("wa", "message", 0, 160, {"channel": "whatsapp", "content": {"text": "Welcome!"}}, "WhatsApp hello"),
            _node("mail", "message", 0, 360, {"channel": "email", "content": {"subject": "Welcome", "html": "<p>Hi</p>"}},
                  "Welcome email"),
            _node("end", "exit", 0, 560),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "wa"},
            {"source": "wa", "source_handle": "next", "target": "mail"},
            {"source": "mail", "source_handle": "next", "target": "end"},
        ],
    }


def test_a_failed_send_shows_on_its_node_and_in_simulate_and_the_customer_goes_on(
    live_server_url, account, browser_page  # noqa: F811
):
    api = account
    created = api.post("/channels", json={"channel": "whatsapp", "provider": "sandbox", "name": "WA",
                                          "credentials": {}, "settings": {}})
    assert created.status_code == 201, created.text
    journey_id = _create(api, _welcome_graph())
    assert api.put(f"/journeys/{journey_id}/start", json={}).status_code == 200
    api.post("/customers", json={"customers": [{"external_id": "nophone", "email": "np@example.com"}]})
    assert api.post(f"/journeys/{journey_id}/enrollments", json={"customer_ids": ["nophone"]}).status_code == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = Enrollment.objects.unscoped().filter(journey_id=journey_id).values_list("state", flat=True).first()
        if state == "completed":
            break
        time.sleep(0.3)
    timeline = api.get(f"/journeys/{journey_id}/enrollments/nophone").json()
    assert [h["node_id"] for h in timeline["history"] if h["kind"] == "passed"] == ["start", "wa", "mail"]

    page = browser_page
    _open(page, live_server_url, journey_id)
    expect(count(page, "wa", "failed")).to_have_text("1", timeout=15_000)
    expect(node(page, "wa").locator('[data-count="failed"]')).to_have_class("count count-failed")
    expect(count(page, "mail", "sent")).to_have_text("1")
    expect(count(page, "mail", "failed")).to_have_text("0")

    # Simulate meets the same missing phone the engine met, and says so.
    page.get_by_role("button", name="Simulate").click()
    panel = page.get_by_test_id("simulate-panel")
    panel.get_by_role("button", name="Run simulation").click()
    step = panel.locator('[data-testid="sim-step"][data-node-id="wa"][data-kind="passed"]')
    expect(step).to_contain_text("→ failed")
    expect(step).to_contain_text("Not sent: The customer has no address for this channel")
    expect(step).to_contain_text("goes on to Welcome email")


def test_an_edit_made_just_before_leaving_the_editor_is_saved(live_server_url, account, browser_page):  # noqa: F811
    journey_id = _create(account, _welcome_graph(), name="Draft name")
    page = browser_page
    _open(page, live_server_url, journey_id)
    title = page.get_by_label("Journey name")
    expect(title).to_have_value("Draft name")
    title.fill("Spring welcome")
    # Away at once, well inside the autosave pause: the edit must not be dropped.
    page.get_by_label("Back to journeys").click()
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    deadline = time.monotonic() + 10
    while Journey.objects.unscoped().get(pk=journey_id).name != "Spring welcome":
        assert time.monotonic() < deadline, "the last edit was lost on leaving the editor"
        time.sleep(0.2)


def _open(page, url: str, journey_id: int) -> None:
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    page.goto(f"{url}/journeys/{journey_id}")


def test_a_message_whose_channel_is_not_set_up_is_an_error_on_its_node_with_a_way_to_fix_it(
    live_server_url, account, browser_page  # noqa: F811
):
    # The account has sandbox email and SMS channels, and no WhatsApp one.
    journey_id = _create(account, _welcome_graph())
    page = browser_page
    _open(page, live_server_url, journey_id)
    marker = node(page, "wa").get_by_test_id("node-problem")
    expect(marker).to_be_visible(timeout=15_000)
    expect(marker).to_have_attribute("title", re.compile("No WhatsApp channel set up"))
    expect(node(page, "mail").get_by_test_id("node-problem")).to_have_count(0)

    node(page, "wa").click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("no-channel")).to_contain_text("No WhatsApp channel set up")
    expect(panel.get_by_role("link", name="Set one up in Channels")).to_have_attribute("href", "/channels")

    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Start journey").click()
    expect(page.get_by_role("alert").first).to_contain_text("not valid")
    assert Journey.objects.unscoped().get(pk=journey_id).status == "draft"

    # A test send from the email step goes through the workspace's email channel.
    node(page, "mail").click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_label("Test recipient").fill("me@acme.test")
    panel.get_by_role("button", name="Send test").click()
    expect(panel.get_by_test_id("test-send-result")).to_contain_text("Test sent to me@acme.test")


def test_problems_are_one_list_in_words_and_a_click_opens_the_field(
    live_server_url, account, browser_page  # noqa: F811
):
    graph = {
        "nodes": [
            _node("start", "start", 0, 0),
            _node("sms", "message", 0, 180, {"channel": "sms", "content": {"text": ""}}, "Reminder"),
            _node("end", "exit", 0, 380),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "sms"},
            {"source": "sms", "source_handle": "next", "target": "end"},
            {"source": "sms", "source_handle": "failed", "target": "end"},
        ],
    }
    journey_id = _create(account, graph)
    page = browser_page
    _open(page, live_server_url, journey_id)
    page.get_by_role("button", name="Validate").click()
    banner = page.locator(".banner").filter(has_text="to fix")
    expect(banner).to_have_text(re.compile("1 problem to fix"))
    expect(page.get_by_role("button", name="1 issue")).to_be_visible()
    problems = page.get_by_test_id("problems")  # Validate opened the list
    expect(problems).to_contain_text("Reminder · Text")
    expect(problems).not_to_contain_text("config.content.text")

    # A click opens the step with the field focused; typing the text fixes it, and every count agrees.
    problems.get_by_test_id("problem-link").first.click()
    text = page.get_by_test_id("node-panel").get_by_label("Text")
    expect(text).to_be_focused()
    text.fill("Your cart is waiting")
    expect(page.locator(".banner").filter(has_text="valid and ready to start")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="No issues")).to_be_visible()

    # A pasted copy of the exit is not reachable: the same notice says so at once.
    page.get_by_test_id("node-panel").get_by_label("Close panel").click()
    node(page, "end").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.locator(".banner").filter(has_text="1 problem to fix")).to_be_visible()
    expect(page.get_by_role("button", name="1 issue")).to_be_visible()


def test_quiet_details_no_401_before_sign_in_no_preview_of_nothing_and_segment_counts_shown(
    live_server_url, account, browser_page  # noqa: F811
):
    page = browser_page
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    previews = []
    page.on("request", lambda r: "/messages/preview" in r.url and previews.append(r.url))

    # Opening the app signed out asks nothing that answers 401.
    page.goto(live_server_url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert [f for f in failed if "/auth/me" in f] == []
    sign_in(page, live_server_url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()

    # A new, empty email step asks for no preview; once it has content, it does.
    journey_id = _create(account, {"nodes": [_node("start", "start", 0, 0)], "edges": []}, name="Empty")
    page.goto(f"{live_server_url}/journeys/{journey_id}")
    drop(page, "email", 360, 260)
    panel = page.get_by_test_id("node-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_text("Write the message to see it here.")).to_be_visible()
    page.wait_for_timeout(1500)
    assert previews == []
    assert [f for f in failed if "/messages/preview" in f] == []
    panel.get_by_label("Subject").fill("Hello {{ customer.first_name }}")
    panel.get_by_label("HTML body").fill("<p>Hi</p>")
    expect(panel.get_by_test_id("preview")).to_contain_text("Hello Alex")
    assert previews

    # The segment list shows each segment's count without a click.
    created = account.post("/segments", json={"name": "Everyone with email",
                                              "condition": {"attribute": "email", "op": "exists"}})
    assert created.status_code == 201, created.text
    page.goto(f"{live_server_url}/audiences/segments")
    row = page.get_by_role("table", name="Segments").locator("tr").filter(has_text="Everyone with email")
    expect(row.locator("td.num")).to_have_text("3")
