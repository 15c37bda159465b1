"""The message form and goal settings for what the server took on this round, as a marketer uses
them: a category and a consent topic picked by name, A/B variants as tabs whose percents must add
up to 100, a language version (ko) with its own preview, and a goal's window and value property;
each saved edit is read back through the API."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect

from .test_canvas import account, node, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = pytest.mark.e2e


def _email_journey(api: httpx.Client) -> int:
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "config": {}},
            {"id": "mail", "type": "message", "name": "Welcome email", "position": {"x": 0, "y": 160},
             "config": {"channel": "email", "content": {"subject": "Welcome", "html": "<p>Hi</p>"}}},
            {"id": "end", "type": "exit", "position": {"x": 0, "y": 360}, "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "mail"},
            {"source": "mail", "source_handle": "next", "target": "end"},
        ],
    }
    created = api.post("/journeys", json={"name": "Welcome", "graph": graph, "settings": {"entry": {"type": "api"}}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _open(page, url: str, journey_id: int) -> None:
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    page.goto(f"{url}/journeys/{journey_id}")


def _mail_panel(page, url: str, journey_id: int):
    """The editor of `journey_id` open with the email step's settings panel."""
    _open(page, url, journey_id)
    node(page, "mail").click()
    return page.get_by_test_id("node-panel")


def _saved(api: httpx.Client, journey_id: int, holds: Callable[[dict], bool]) -> dict:
    """The journey as the API returns it, once the editor's autosave has stored what `holds` wants."""
    deadline = time.monotonic() + 15
    while True:
        journey = api.get(f"/journeys/{journey_id}").json()
        if holds(journey):
            return journey
        assert time.monotonic() < deadline, f"not saved: {journey['graph']} {journey['settings']}"
        time.sleep(0.3)


def _mail_config(journey: dict) -> dict:
    return next(n for n in journey["graph"]["nodes"] if n["id"] == "mail")["config"]


def test_category_and_topic_are_picked_by_name_and_saved(live_server_url, account, browser_page):  # noqa: F811
    created = account.post("/topics", json={"key": "weekly_deals", "name": "Weekly deals"})
    assert created.status_code == 201, created.text
    journey_id = _email_journey(account)
    page = browser_page
    panel = _mail_panel(page, live_server_url, journey_id)
    panel.get_by_label("Topic").select_option(label="Weekly deals")
    panel.get_by_label("Category").select_option("transactional")
    config = _mail_config(_saved(account, journey_id, lambda j: _mail_config(j).get("category") == "transactional"))
    assert config["topic"] == "weekly_deals"
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_two_variants_seventy_thirty_are_tabs_checked_on_the_canvas_and_saved(live_server_url, account, browser_page):  # noqa: F811
    journey_id = _email_journey(account)
    page = browser_page
    panel = _mail_panel(page, live_server_url, journey_id)
    panel.get_by_label("Variants (A/B test the content)").check()
    expect(panel.get_by_test_id("variant-total")).to_have_text("Total 100%")

    panel.get_by_label("Percent").fill("70")
    # Off 100: said beside the tabs and marked on the node.
    expect(panel.get_by_test_id("variant-total")).to_contain_text("Total 120%")
    expect(node(page, "mail").get_by_test_id("node-problem")).to_be_visible()

    panel.get_by_role("tab", name="B · 50%").click()
    panel.get_by_label("Percent").fill("30")
    panel.get_by_label("Subject", exact=True).fill("Welcome, take 10% off")
    expect(panel.get_by_test_id("variant-total")).to_have_text("Total 100%")
    # Variants instead of content: no "Subject is required" on the node.
    expect(node(page, "mail").get_by_test_id("node-problem")).to_have_count(0)

    config = _mail_config(_saved(account, journey_id, lambda j: [v["percent"] for v in _mail_config(j).get("variants", [])] == [70, 30]
                                 and _mail_config(j)["variants"][1]["content"]["subject"] == "Welcome, take 10% off"))
    assert "content" not in config
    assert [(v["id"], v["name"], v["content"]["subject"]) for v in config["variants"]] == [
        ("a", "A", "Welcome"),
        ("b", "B", "Welcome, take 10% off"),
    ]
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_a_korean_version_is_edited_in_its_own_tab_and_previewed(live_server_url, account, browser_page):  # noqa: F811
    journey_id = _email_journey(account)
    page = browser_page
    panel = _mail_panel(page, live_server_url, journey_id)
    expect(panel.get_by_test_id("preview")).to_contain_text("Welcome")
    panel.get_by_label("New language").fill("ko")
    panel.get_by_role("button", name="+ Add language").click()
    expect(panel.get_by_role("tab", name="ko")).to_have_attribute("aria-selected", "true")
    panel.get_by_label("Subject", exact=True).fill("환영합니다")
    # A language version is a whole content: its body is asked for, on the node too.
    expect(node(page, "mail").get_by_test_id("node-problem")).to_be_visible()
    panel.get_by_label("HTML body").fill("<p>안녕하세요</p>")
    expect(node(page, "mail").get_by_test_id("node-problem")).to_have_count(0)
    expect(panel.get_by_role("heading", name="Preview (ko)")).to_be_visible()
    expect(panel.get_by_test_id("preview")).to_contain_text("환영합니다")
    # Back on Default the top-level text is shown and previewed.
    panel.get_by_role("tab", name="Default").click()
    expect(panel.get_by_label("Subject", exact=True)).to_have_value("Welcome")
    expect(panel.get_by_test_id("preview")).not_to_contain_text("환영합니다")

    config = _mail_config(_saved(account, journey_id, lambda j: "ko" in _mail_config(j)["content"].get("locales", {})
                                 and _mail_config(j)["content"]["locales"]["ko"].get("html") == "<p>안녕하세요</p>"))
    assert config["content"]["subject"] == "Welcome"
    assert config["content"]["locales"]["ko"]["subject"] == "환영합니다"
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_a_goal_window_of_three_days_and_its_value_property_are_saved(live_server_url, account, browser_page):  # noqa: F811
    journey_id = _email_journey(account)
    page = browser_page
    _open(page, live_server_url, journey_id)
    page.get_by_role("button", name="Journey settings").click()
    drawer = page.get_by_test_id("settings-drawer")
    drawer.get_by_role("button", name="+ Add goal").click()
    drawer.get_by_label("Goal 1 window", exact=True).check()
    drawer.get_by_label("Goal 1 window length amount").fill("3")
    drawer.get_by_label("Goal 1 window length unit").select_option("days")
    drawer.get_by_label("Value property").fill("amount")
    journey = _saved(account, journey_id, lambda j: (j["settings"].get("goals") or [{}])[0].get("value") == {"property": "amount"}
                     and j["settings"]["goals"][0].get("window") == {"value": 3, "unit": "days"})
    assert journey["settings"]["goals"][0]["condition"]["event"] == "purchase"
