"""The workspace's default country in Settings: an owner sets KR (typed in lower case), after which
a customer added with 010-1234-5678 is stored as +821012345678; an unknown code is refused under its
field; emptying it brings back E.164-only phones."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from audiences.models import Customer
from audiences.services import customers_upsert
from tests.e2e.test_settings_page import open_settings, owned_workspace  # noqa: F401 (fixture)
from workspaces.models import Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("owned_workspace")]


def test_owner_sets_the_default_country_and_national_numbers_are_read_in_it(live_server_url, browser_page: Page):
    page = browser_page
    workspace = Workspace.objects.get(name="Acme Shop")
    open_settings(page, live_server_url)
    form = page.get_by_role("form", name="Workspace settings")
    country = form.get_by_label("Default country")
    expect(country).to_have_value("")
    country.fill("xx")
    form.get_by_role("button", name="Save workspace").click()
    expect(form.locator(".field-invalid", has=page.get_by_label("Default country")).locator(".field-error")).to_contain_text("ISO 3166")
    country.fill("kr")
    expect(country).to_have_value("KR")
    form.get_by_role("button", name="Save workspace").click()
    expect(form.get_by_role("status")).to_have_text("Saved")
    workspace.refresh_from_db()
    assert workspace.default_country == "KR"
    result = customers_upsert(workspace=workspace, customers=[{"external_id": "c1", "phone": "010-1234-5678"}])
    assert result.errors == [] and Customer.objects.for_workspace(workspace).get().phone == "+821012345678"

    page.reload()
    form = page.get_by_role("form", name="Workspace settings")
    expect(form.get_by_label("Default country")).to_have_value("KR")
    form.get_by_label("Default country").fill("")
    form.get_by_role("button", name="Save workspace").click()
    expect(form.get_by_role("status")).to_have_text("Saved")
    workspace.refresh_from_db()
    assert workspace.default_country == ""
