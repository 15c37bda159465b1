"""The workspace's marketing limits in Settings end to end: an owner sets a frequency cap, quiet
hours, the event retention and the journey history retention (a half-filled quiet-hours window or
a retention over ten years is refused, naming the field, nothing stored), then clears cap and
quiet hours again; each step is read back from the database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_settings_page import open_settings, owned_workspace  # noqa: F401 (fixture)
from workspaces.models import Workspace

# owned_workspace (Acme Shop, its owner and a second workspace) comes from the members test.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("owned_workspace")]


def test_owner_sets_and_clears_the_frequency_cap_and_quiet_hours(
    live_server_url, browser_page: Page
):
    page = browser_page
    workspace = Workspace.objects.get(name="Acme Shop")
    open_settings(page, live_server_url)
    form = page.get_by_role("form", name="Workspace settings")
    save = form.get_by_role("button", name="Save workspace")

    # Only a start: the server names quiet_hours.end and nothing is stored.
    form.get_by_label("Quiet hours start").fill("21:00")
    save.click()
    expect(
        form.locator(".field-invalid", has=page.get_by_label("Quiet hours end")).locator(
            ".field-error"
        )
    ).not_to_have_count(0)
    workspace.refresh_from_db()
    assert workspace.quiet_hours is None

    form.get_by_label("Quiet hours end").fill("08:00")
    form.get_by_label("Frequency cap").fill("3")
    form.get_by_label("Cap period", exact=True).fill("2")
    form.get_by_label("Cap period unit").select_option("days")
    form.get_by_label("Event retention (days)").fill("90")
    form.get_by_label("Journey history retention (days)").fill("4000")  # over the 3650 days allowed
    save.click()
    expect(  # refused by the server, naming the field, under its input
        form.locator(".field-invalid", has=page.get_by_label("Journey history retention (days)")).locator(".field-error")
    ).not_to_have_count(0)
    form.get_by_label("Journey history retention (days)").fill("120")
    save.click()
    expect(form.get_by_role("status")).to_have_text("Saved")
    workspace.refresh_from_db()
    assert workspace.frequency_cap == {"max": 3, "per": {"value": 2, "unit": "days"}}
    assert workspace.quiet_hours == {"start": "21:00", "end": "08:00"}
    assert workspace.event_retention_days == 90
    assert workspace.step_retention_days == 120

    # After a reload the form shows what is stored; emptying the fields removes both limits.
    page.reload()
    form = page.get_by_role("form", name="Workspace settings")
    expect(form.get_by_label("Frequency cap")).to_have_value("3")
    expect(form.get_by_label("Journey history retention (days)")).to_have_value("120")
    expect(form.get_by_label("Quiet hours start")).to_have_value("21:00")
    form.get_by_label("Frequency cap").fill("")
    form.get_by_label("Quiet hours start").fill("")
    form.get_by_label("Quiet hours end").fill("")
    form.get_by_role("button", name="Save workspace").click()
    expect(form.get_by_role("status")).to_have_text("Saved")
    workspace.refresh_from_db()
    assert workspace.frequency_cap is None
    assert workspace.quiet_hours is None
    assert workspace.event_retention_days == 90
