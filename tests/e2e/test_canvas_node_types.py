"""The canvas builds on the server's node types (GET /node-types): the `journey` hand-off node,
which no canvas code names, is on the palette, is dropped, picked by name, connected from the
handles the server describes, saved and valid; and when the server describes a type differently,
the canvas draws what the server says."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.test_canvas import account, connect, drop, name_box, node, sign_in  # noqa: F401

pytestmark = pytest.mark.e2e


def journey_with_trigger(api, name: str) -> int:
    created = api.post(
        "/journeys",
        json={
            "name": name,
            "graph": {
                "nodes": [
                    {
                        "id": "start_1",
                        "type": "start",
                        "position": {"x": 300, "y": 40},
                        "config": {},
                    }
                ],
                "edges": [],
            },
            "settings": {"entry": {"type": "api"}},
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_the_journey_node_comes_from_the_server_and_hands_off(
    live_server_url,
    account,  # noqa: F811 (the fixture imported above)
    browser_page: Page,
):
    page = browser_page
    page.set_viewport_size({"width": 1600, "height": 1000})
    vip_care = journey_with_trigger(account, "VIP care")
    welcome = journey_with_trigger(account, "Welcome")
    sign_in(page, live_server_url)
    expect(page.get_by_role("heading", name="Journeys")).to_be_visible()
    page.goto(f"{live_server_url}/journeys/{welcome}")

    # On the palette, under Actions, as the server names and explains it.
    actions = (
        page.get_by_role("navigation", name="Palette")
        .locator("section")
        .filter(has=page.get_by_role("heading", name="Actions"))
    )
    item = actions.locator('[data-palette="journey"]')
    expect(item).to_have_text("Enroll in journey")
    expect(item).to_have_attribute("title", "Hand the customer off to another active journey")

    drop(page, "journey", 300, 260)
    drop(page, "exit", 160, 440)
    drop(page, "exit", 460, 440)
    handoff = node(page, "journey_1")
    expect(handoff).to_contain_text("No journey chosen")
    # Its outputs are the server's `next` and `failed`, labelled as the server labels them.
    outputs = handoff.locator(".react-flow__handle.source")
    expect(outputs).to_have_count(2)
    assert [outputs.nth(i).get_attribute("data-handleid") for i in range(2)] == ["next", "failed"]
    expect(handoff.locator(".handle-label")).to_have_text(["Next", "Failed"])
    # Not chosen yet: the hint from its schema says so.
    expect(handoff.get_by_test_id("node-problem")).to_be_visible()

    # Configured in its panel: the journey picked by name (this journey itself is not offered).
    handoff.click()
    panel = page.get_by_test_id("node-panel")
    name_box(panel).fill("Hand off to VIP care")
    picker = panel.get_by_label("Journey *")
    expect(picker.locator("option", has_text="Welcome")).to_have_count(0)
    picker.select_option(label="VIP care (draft)")
    expect(handoff).to_contain_text("Enroll in “VIP care”")

    connect(page, "start_1", "next", "journey_1")
    connect(page, "journey_1", "next", "exit_1")
    connect(page, "journey_1", "failed", "exit_2")
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    expect(handoff.get_by_test_id("node-problem")).to_have_count(0)
    expect(page.get_by_test_id("save-state")).to_have_text("All changes saved", timeout=10_000)

    saved = account.get(f"/journeys/{welcome}").json()
    nodes = {n["id"]: n for n in saved["graph"]["nodes"]}
    assert nodes["journey_1"]["type"] == "journey"
    assert nodes["journey_1"]["config"] == {"journey_id": vip_care}
    assert {(e["source"], e["source_handle"], e["target"]) for e in saved["graph"]["edges"]} == {
        ("start_1", "next", "journey_1"),
        ("journey_1", "next", "exit_1"),
        ("journey_1", "failed", "exit_2"),
    }
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("The journey is valid and ready to start.")).to_be_visible()


def test_the_canvas_draws_node_types_as_the_server_describes_them(
    live_server_url,
    account,  # noqa: F811 (the fixture imported above)
    browser_page: Page,
):
    """Served a different description of `journey` (another label, a third output that follows
    the config), the canvas shows exactly that: nothing about the type is kept in the canvas."""
    page = browser_page
    page.set_viewport_size({"width": 1600, "height": 1000})
    vip_care = journey_with_trigger(account, "VIP care")
    welcome = journey_with_trigger(account, "Welcome")

    def described_differently(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        for row in body["results"]:
            if row["type"] == "journey":
                row["label"] = "Hand off"
                row["presets"][0]["label"] = "Hand off"
                row["outputs"] = [
                    {
                        "when": {"field": "journey_id", "present": True},
                        "handles": [
                            {"id": "next", "label": "Entered"},
                            {"id": "refused", "label": "Refused by {journey_id}"},
                            {"id": "failed", "label": "Failed"},
                        ],
                    },
                    {"handles": [{"id": "next", "label": "Entered"}]},
                ]
        route.fulfill(response=answer, body=json.dumps(body))

    page.route(re.compile(r".*/api/v1/node-types$"), described_differently)
    sign_in(page, live_server_url)
    expect(page.get_by_role("heading", name="Journeys")).to_be_visible()
    page.goto(f"{live_server_url}/journeys/{welcome}")

    expect(page.locator('[data-palette="journey"]')).to_have_text("Hand off")
    drop(page, "journey", 300, 260)
    handoff = node(page, "journey_1")
    expect(handoff.locator(".handle-label")).to_have_text(["Entered"])
    # Picking the target sets `journey_id`: the outputs follow the config as described.
    picker = page.get_by_test_id("node-panel").get_by_label("Journey *")
    picker.select_option(label="VIP care (draft)")
    expect(handoff.locator(".handle-label")).to_have_text(
        ["Entered", f"Refused by {vip_care}", "Failed"]
    )
    outputs = handoff.locator(".react-flow__handle.source")
    assert [outputs.nth(i).get_attribute("data-handleid") for i in range(3)] == [
        "next",
        "refused",
        "failed",
    ]
