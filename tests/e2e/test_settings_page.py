"""The Settings page end to end: an owner invites a member, changes their role, is refused when
demoting the last owner (the 409 message is shown), and sets the workspace time zone and push
limits, with the server's field error shown for an unknown zone, and renames the workspace (the
sidebar's switcher shows the new name at once). The stored rows are then read with the ORM."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from workspaces.models import Membership, Role, User, Workspace
from workspaces.services import membership_set, workspace_create

PASSWORD = "e2e-password-123"

pytestmark = pytest.mark.e2e


@pytest.fixture
def owned_workspace(live_server_url) -> Workspace:
    owner = User.objects.create_user("owner@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=owner)
    workspace_create(name="Beta Labs", owner=owner)  # the switcher lists both
    return workspace


def open_settings(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    page.get_by_label("Workspace", exact=True).select_option(label="Acme Shop")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()


def test_owner_manages_members_and_workspace(live_server_url, owned_workspace, browser_page: Page):
    page = browser_page
    open_settings(page, live_server_url)

    # Invite a new person as a viewer: the invitation is pending until they accept the emailed
    # link (tests/e2e/test_invitation_page.py); here they have, and the page is reloaded.
    invite = page.get_by_role("form", name="Invite a member")
    invite.get_by_label("Email").fill("ana@example.com")
    invite.get_by_label("Role").select_option("viewer")
    invite.get_by_role("button", name="Send invitation").click()
    expect(invite.get_by_role("status")).to_contain_text("Invitation sent to ana@example.com")
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text("ana@example.com")
    membership_set(workspace=owned_workspace, user=User.objects.create_user("ana@example.com"), role=Role.VIEWER)
    page.reload()
    ana_role = page.get_by_label("Role of ana@example.com")
    expect(ana_role).to_have_value("viewer")

    # Promote them to editor: the select keeps the new value after the list reloads.
    ana_role.select_option("editor")
    expect(page.get_by_label("Role of ana@example.com")).to_have_value("editor")

    # The only owner cannot demote themselves: the 409 message is shown, the role stays.
    page.get_by_label("Role of owner@example.com").select_option("viewer")
    expect(page.get_by_role("alert")).to_contain_text("at least one owner")
    expect(page.get_by_label("Role of owner@example.com")).to_have_value("owner")

    # An unknown time zone is refused with the message under the field; nothing is stored.
    form = page.get_by_role("form", name="Workspace settings")
    form.get_by_label("Time zone").fill("Mars/Olympus")
    form.get_by_role("button", name="Save workspace").click()
    expect(form.locator(".field-error")).to_contain_text("Unknown IANA timezone")
    owned_workspace.refresh_from_db()
    assert owned_workspace.timezone == "UTC"

    switcher = page.get_by_label("Workspace", exact=True)
    expect(switcher.locator("option:checked")).to_have_text("Acme Shop")
    form.get_by_label("Name").fill("Acme Store")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_label("Push title limit").fill("40")
    form.get_by_role("button", name="Save workspace").click()
    expect(form.get_by_role("status")).to_have_text("Saved")
    expect(form.locator(".field-error")).to_have_count(0)
    # The switcher follows the rename without a reload, and still acts in the same workspace.
    expect(switcher.locator("option:checked")).to_have_text("Acme Store")
    expect(switcher.locator("option")).to_have_count(2)
    expect(switcher.locator("option", has_text="Beta Labs")).to_have_count(1)

    # What the user saw is what is stored.
    owned_workspace.refresh_from_db()
    assert owned_workspace.name == "Acme Store"
    assert owned_workspace.timezone == "Europe/Berlin"
    assert owned_workspace.settings.get("push_title_max") == 40
    roles = dict(
        Membership.objects.filter(workspace=owned_workspace).values_list("user__email", "role")
    )
    assert roles == {"owner@example.com": Role.OWNER, "ana@example.com": Role.EDITOR}

    # Removing asks first, then the member is gone.
    page.get_by_role("button", name="Remove ana@example.com").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove member").click()
    expect(page.get_by_label("Role of ana@example.com")).to_have_count(0)
    assert not Membership.objects.filter(
        workspace=owned_workspace, user__email="ana@example.com"
    ).exists()
