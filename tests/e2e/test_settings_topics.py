"""Topics in Settings end to end: an owner adds a topic in the page (a bad key is refused with the
message under the Key field, nothing stored), edits its name and default, and deletes it; each
step is read back from the database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from audiences.topics import Topic
from tests.e2e.test_settings_page import open_settings, owned_workspace  # noqa: F401 (fixture)
from workspaces.models import Workspace

# owned_workspace (Acme Shop, its owner and a second workspace) comes from the members test.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("owned_workspace")]


def test_owner_creates_edits_and_deletes_a_topic(live_server_url, browser_page: Page):
    page = browser_page
    workspace = Workspace.objects.get(name="Acme Shop")
    open_settings(page, live_server_url)
    topics = page.get_by_role("region", name="Topics")
    expect(topics.get_by_text("No topics yet")).to_be_visible()

    # A key with capitals and a space is refused, the message under the Key field.
    form = page.get_by_role("form", name="New topic")
    form.get_by_label("Key").fill("Weekly News")
    form.get_by_label("Name").fill("Weekly news")
    form.get_by_role("button", name="Add topic").click()
    key_field = form.locator(".field-invalid", has=page.get_by_label("Key"))
    expect(key_field.locator(".field-error")).to_contain_text("Must be a topic key")
    assert not Topic.objects.for_workspace(workspace).exists()

    form.get_by_label("Key").fill("newsletter")
    form.get_by_label("Description").fill("Our weekly letter")
    form.get_by_label("Default").select_option("unsubscribed")
    form.get_by_role("button", name="Add topic").click()
    expect(form.get_by_role("status")).to_have_text("Topic newsletter added")
    row = topics.locator("tr[data-topic=newsletter]")
    expect(row).to_contain_text("Weekly news")
    expect(row).to_contain_text("unsubscribed")
    topic = Topic.objects.for_workspace(workspace).get(key="newsletter")
    assert (topic.name, topic.description, topic.default) == (
        "Weekly news",
        "Our weekly letter",
        "unsubscribed",
    )

    # Edit: the key is fixed, name and default change.
    page.get_by_role("button", name="Edit newsletter").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Key")).to_be_disabled()
    dialog.get_by_label("Name").fill("The letter")
    dialog.get_by_label("Default").select_option("subscribed")
    dialog.get_by_role("button", name="Save topic").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("The letter")
    topic.refresh_from_db()
    assert (topic.name, topic.default) == ("The letter", "subscribed")

    # Delete asks first.
    page.get_by_role("button", name="Delete newsletter").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete topic").click()
    expect(row).to_have_count(0)
    assert not Topic.objects.for_workspace(workspace).exists()
