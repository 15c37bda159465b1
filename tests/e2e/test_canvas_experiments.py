"""Experiment settings on the canvas, as a marketer sets them: a split's paths and a message's
variants pick their winner automatically by a goal (or a message's click rate), after a minimum
per path and a time, at a confidence; bad values are marked on the node; every edit is read back
through the API and passes the server's validate."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect

from .test_canvas import account, node, sign_in  # noqa: F401  (fixtures and helpers)

pytestmark = pytest.mark.e2e

GOALS = [{"id": "bought", "name": "Bought", "condition": {"event": "purchase"}},
         {"id": "signed_up", "name": "Signed up", "condition": {"event": "signup"}}]


def _journey(api: httpx.Client, step: dict, goals: list[dict]) -> int:
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "config": {}},
            {**step, "position": {"x": 0, "y": 160}},
        ],
        "edges": [{"source": "start", "source_handle": "next", "target": step["id"]}],
    }
    created = api.post("/journeys", json={"name": "Test", "graph": graph,
                                          "settings": {"entry": {"type": "api"}, "goals": goals}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _open(page, url: str, journey_id: int, node_id: str):
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    page.goto(f"{url}/journeys/{journey_id}")
    node(page, node_id).click()
    return page.get_by_test_id("node-panel")


def _saved(api: httpx.Client, journey_id: int, node_id: str, holds: Callable[[dict], bool]) -> dict:
    """The node's config once the editor's autosave has stored what `holds` wants."""
    deadline = time.monotonic() + 15
    while True:
        journey = api.get(f"/journeys/{journey_id}").json()
        config = next(n for n in journey["graph"]["nodes"] if n["id"] == node_id)["config"]
        if holds(config):
            return config
        assert time.monotonic() < deadline, f"not saved: {config}"
        time.sleep(0.3)


SPLIT = {"id": "ab", "type": "split", "name": "Offer test",
         "config": {"paths": [{"id": "a", "name": "A", "percent": 50}, {"id": "b", "name": "B", "percent": 50}]}}


def test_a_split_picks_its_winner_by_a_goal_after_a_minimum_and_a_time(live_server_url, account, browser_page):  # noqa: F811
    journey_id = _journey(account, SPLIT, GOALS)
    page = browser_page
    panel = _open(page, live_server_url, journey_id, "ab")
    panel.get_by_label("Pick the winning path automatically").check()
    panel.get_by_label("Winning goal").select_option(label="Signed up")
    panel.get_by_label("Minimum customers per path").fill("250")
    panel.get_by_label("Confidence").select_option(label="99%")
    panel.get_by_label("Decide after amount").fill("3")
    panel.get_by_label("Decide after unit").select_option("days")
    expect(panel.get_by_test_id("experiment-after-winner")).to_contain_text("every customer who arrives later gets it")
    config = _saved(account, journey_id, "ab", lambda c: (c.get("experiment") or {}).get("decide_after", {}).get("value") == 3
                    and c["experiment"].get("min_per_path") == 250)
    assert config["experiment"] == {"goal_id": "signed_up", "min_per_path": 250,
                                    "decide_after": {"value": 3, "unit": "days"}, "confidence": 0.99}
    assert [e for e in account.post(f"/journeys/{journey_id}/validate").json()["errors"]
            if e["node_id"] == "ab"] == []

    # A minimum of 0 is refused on the node before any Validate, naming the field.
    panel.get_by_label("Minimum customers per path").fill("0")
    expect(node(page, "ab").get_by_test_id("node-problem")).to_be_visible()
    expect(panel).to_contain_text("Must be a whole number of at least 1.")
    panel.get_by_label("Minimum customers per path").fill("100")
    expect(node(page, "ab").get_by_test_id("node-problem")).to_have_count(0)

    # Off again: the split is a plain percentage split.
    panel.get_by_label("Pick the winning path automatically").uncheck()
    _saved(account, journey_id, "ab", lambda c: "experiment" not in c)


def test_without_goals_the_split_points_to_journey_settings(live_server_url, account, browser_page):  # noqa: F811
    journey_id = _journey(account, SPLIT, [])
    page = browser_page
    panel = _open(page, live_server_url, journey_id, "ab")
    panel.get_by_label("Pick the winning path automatically").check()
    expect(node(page, "ab").get_by_test_id("node-problem")).to_be_visible()
    panel.get_by_role("button", name="Add a goal in journey settings").click()
    expect(page.get_by_role("button", name="+ Add goal")).to_be_visible()


def test_message_variants_pick_their_winner_by_click_rate(live_server_url, account, browser_page):  # noqa: F811
    mail = {"id": "mail", "type": "message", "name": "Welcome email",
            "config": {"channel": "email", "content": {"subject": "Welcome", "html": "<p>Hi</p>"}}}
    journey_id = _journey(account, mail, GOALS)
    page = browser_page
    panel = _open(page, live_server_url, journey_id, "mail")
    # No variants, nothing to test: the experiment comes with the variants.
    expect(panel.get_by_label("Pick the winning variant automatically")).to_have_count(0)
    panel.get_by_label("Variants (A/B test the content)").check()
    panel.get_by_label("Pick the winning variant automatically").check()
    panel.get_by_label("Winning goal").select_option(label="Clicked rate")
    panel.get_by_label("Minimum customers per variant").fill("500")
    config = _saved(account, journey_id, "mail", lambda c: (c.get("experiment") or {}).get("goal_id") == "clicked"
                    and c["experiment"].get("min_per_path") == 500)
    assert [v["id"] for v in config["variants"]] == ["a", "b"]
    assert config["experiment"]["confidence"] == 0.95
    assert [e for e in account.post(f"/journeys/{journey_id}/validate").json()["errors"]
            if e["node_id"] == "mail"] == []

    panel.get_by_label("Variants (A/B test the content)").uncheck()
    config = _saved(account, journey_id, "mail", lambda c: "variants" not in c)
    assert "experiment" not in config and config["content"]["subject"] == "Welcome"
