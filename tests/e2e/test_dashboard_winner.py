"""Picking an experiment's winner by hand on the dashboard: the marketer confirms, the dashboard
marks it, the API and the journey's audit log agree, and later arrivals get it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_pages_analytics import experiment_journey, sign_in  # noqa: F401  (fixture and helpers)

pytestmark = pytest.mark.e2e


def test_a_variant_is_made_the_winner_by_hand_after_a_confirmation(
    live_server_url, experiment_journey, browser_page: Page  # noqa: F811
):
    page, api, journey = browser_page, experiment_journey["api"], experiment_journey["journey"]
    sign_in(page, live_server_url)
    page.goto(f"{live_server_url}/analytics/journeys/{journey['id']}")
    email = page.locator('[data-experiment="welcome"]')
    expect(email.locator('[data-part="status"]')).to_have_text("Running")

    # Asked first; cancelling changes nothing.
    email.get_by_role("button", name="Make Long the winner").click()
    confirm = email.get_by_role("group", name="Confirm Long as the winner")
    expect(confirm).to_contain_text("Everyone who arrives from now on gets Long.")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    welcome = next(n for n in api.get(f"/journeys/{journey['id']}/analytics").json()["nodes"] if n["node_id"] == "welcome")
    assert welcome["experiment"]["status"] == "running"

    email.get_by_role("button", name="Make Long the winner").click()
    email.get_by_role("group", name="Confirm Long as the winner").get_by_role("button", name="Confirm").click()
    expect(email.locator('[data-part="status"]')).to_contain_text("Decided by hand")
    expect(email.locator('tr[data-arm="long"]')).to_contain_text("★ Winner")
    expect(email.locator('tr[data-arm="short"]')).not_to_contain_text("★ Winner")
    # The winner's own row offers nothing more; the other can still take over by hand.
    expect(email.locator('tr[data-arm="long"]').get_by_role("button")).to_have_count(0)
    expect(email.get_by_role("button", name="Make Short the winner")).to_be_visible()

    welcome = next(n for n in api.get(f"/journeys/{journey['id']}/analytics").json()["nodes"] if n["node_id"] == "welcome")
    assert (welcome["experiment"]["winner"], welcome["experiment"]["decided_by"]) == ("long", "manual")
    audit = api.get(f"/journeys/{journey['id']}/audit").json()["results"]
    decided = [e["details"] for e in audit if e["action"] == "experiment_decided"]
    assert {(d["node_id"], d["winner"], d["decided_by"]) for d in decided} >= {("welcome", "long", "manual")}
