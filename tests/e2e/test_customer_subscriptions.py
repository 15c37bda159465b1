"""A customer's topic subscriptions on the customer page end to end: each topic shows a switch
(their choice, else the topic's default); flipping one stores the choice, "Use default" forgets
it again. Read back from the database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from audiences.models import Customer
from audiences.services import customers_upsert
from audiences.topics import topic_create
from tests.e2e.test_settings_page import PASSWORD
from workspaces.models import User, Workspace
from workspaces.services import workspace_create

pytestmark = pytest.mark.e2e


@pytest.fixture
def workspace(live_server_url) -> Workspace:
    owner = User.objects.create_user("owner@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=owner)
    topic_create(
        workspace=workspace,
        data={"key": "newsletter", "name": "Newsletter", "default": "subscribed"},
    )
    topic_create(
        workspace=workspace, data={"key": "offers", "name": "Offers", "default": "unsubscribed"}
    )
    customers_upsert(
        workspace=workspace, customers=[{"external_id": "u-1", "email": "ana@example.com"}]
    )
    return workspace


def stored(workspace: Workspace) -> dict:
    return Customer.objects.for_workspace(workspace).get(external_id="u-1").subscriptions


def test_switching_a_customers_topic_subscription_is_stored(
    live_server_url, workspace, browser_page: Page
):
    page = browser_page
    page.goto(live_server_url + "/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    page.goto(live_server_url + "/audiences/customers/u-1")

    section = page.get_by_role("region", name="Subscriptions")
    newsletter = section.get_by_role("switch", name="Newsletter")
    offers = section.get_by_role("switch", name="Offers")
    # No choices yet: each switch shows its topic's default.
    expect(newsletter).to_be_checked()
    expect(offers).not_to_be_checked()

    # Opt in to offers with the keyboard.
    offers.focus()
    page.keyboard.press("Space")
    expect(section.get_by_role("status")).to_have_text("Saved: subscribed to Offers")
    expect(offers).to_be_checked()
    assert stored(workspace) == {"offers": True}

    newsletter.click()
    expect(section.get_by_role("status")).to_have_text("Saved: unsubscribed from Newsletter")
    expect(newsletter).not_to_be_checked()
    assert stored(workspace) == {"offers": True, "newsletter": False}

    # "Use default" forgets the choice: the topic's default (subscribed) holds again.
    section.get_by_role("button", name="Use the default for Newsletter").click()
    expect(section.get_by_role("status")).to_have_text(
        "Saved: Back to the default: subscribed to Newsletter"
    )
    expect(newsletter).to_be_checked()
    assert stored(workspace) == {"offers": True}
