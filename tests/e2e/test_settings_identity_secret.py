"""The identity secret in Settings end to end: an owner shows it (the page's value is the stored
one) and rotates it after confirming (the page shows the new stored value, the old is gone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_settings_page import open_settings, owned_workspace  # noqa: F401 (fixture)
from workspaces.models import Workspace

# owned_workspace (Acme Shop, its owner and a second workspace) comes from the members test.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("owned_workspace")]


def test_owner_shows_and_rotates_the_identity_secret(live_server_url, browser_page: Page):
    page = browser_page
    workspace = Workspace.objects.get(name="Acme Shop")
    open_settings(page, live_server_url)
    panel = page.get_by_role("region", name="Identity secret")

    panel.get_by_role("button", name="Show identity secret").click()
    shown = panel.get_by_test_id("identity-secret")
    old = Workspace.objects.get(pk=workspace.pk).identity_secret
    assert old
    expect(shown).to_have_text(old)

    panel.get_by_role("button", name="Rotate identity secret").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate", exact=True).click()
    expect(panel.get_by_role("status")).to_contain_text("Rotated")
    expect(shown).not_to_have_text(old)
    new = Workspace.objects.get(pk=workspace.pk).identity_secret
    assert new != old
    expect(shown).to_have_text(new)
