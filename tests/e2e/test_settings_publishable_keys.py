"""Publishable keys in Settings end to end: an owner makes one for a web site's origins, sees the
key once with an analytics.js snippet holding it, and the list shows its kind and origins; the
stored key is publishable with exactly those origins."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser_sdks import PLACEHOLDER_HOST, PLACEHOLDER_KEY, readme_snippet
from tests.e2e.test_settings_page import open_settings, owned_workspace  # noqa: F401 (fixture)
from workspaces.models import ApiKey, Workspace

# owned_workspace (Acme Shop, its owner and a second workspace) comes from the members test.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("owned_workspace")]


def test_owner_creates_a_publishable_key_with_its_snippet(live_server_url, browser_page: Page):
    page = browser_page
    workspace = Workspace.objects.get(name="Acme Shop")
    open_settings(page, live_server_url)

    page.get_by_role("button", name="New API key").click()
    dialog = page.get_by_role("dialog", name="New API key")
    dialog.get_by_label("Name").fill("shop site")
    dialog.get_by_label("Kind").select_option("publishable")
    dialog.get_by_label("Allowed origins").fill("https://shop.example\nhttps://www.shop.example")
    dialog.get_by_role("button", name="Create key").click()

    shown = page.get_by_test_id("new-api-key")
    expect(shown).to_contain_text("wm_pk_")
    key = shown.inner_text()
    # The snippet is the README's, which tests/e2e/test_browser_sdks.py runs in Chromium.
    expect(page.get_by_label("Snippet")).to_contain_text(f"writeKey: '{key}'")
    readme = readme_snippet("AnalyticsBrowser.load(").replace(PLACEHOLDER_KEY, key)
    assert page.get_by_label("Snippet").inner_text().strip() == readme.replace(PLACEHOLDER_HOST, live_server_url).strip()
    page.get_by_role("button", name="I have stored it").click()

    row = page.get_by_role("row", name="shop site")
    expect(row).to_contain_text("publishable")
    expect(row).to_contain_text("https://shop.example, https://www.shop.example")
    stored = ApiKey.objects.for_workspace(workspace).get(name="shop site")
    assert stored.kind == "publishable"
    assert stored.allowed_origins == ["https://shop.example", "https://www.shop.example"]
    assert key.startswith(f"wm_pk_{stored.prefix}")
