"""Joining by invitation in the browser: an owner invites an address from Settings (the pending
invitation is listed), the person opens the emailed link, chooses their own password and lands in
the workspace signed in; the spent link then says so. The email is read from the server's mail
folder (EMAIL_URL=filemail://…), as a person would read their inbox."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_client
from workspaces.models import Membership, Role, User
from workspaces.services import workspace_create

PASSWORD = "e2e-password-123"

pytestmark = pytest.mark.e2e


@pytest.fixture
def mail_dir(tmp_path, monkeypatch) -> Path:
    """Where the web server writes the emails it sends; requested before live_server_url."""
    folder = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_URL", f"filemail:///{folder}")
    return folder


def _link(mail_dir: Path, to: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
            text = path.read_text()
            if f"To: {to}" in text and (match := re.search(r"(http://\S+/invite/[A-Za-z0-9_\-]+)", text)):
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no invitation email to {to} in {mail_dir}")


def test_an_invited_person_joins_from_the_emailed_link(mail_dir, live_server_url, browser_page: Page):
    owner = User.objects.create_user("owner@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=owner)
    page = browser_page
    page.goto(live_server_url + "/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Settings").click()

    invite = page.get_by_role("form", name="Invite a member")
    invite.get_by_label("Email").fill("nina@example.com")
    invite.get_by_label("Role").select_option("viewer")
    invite.get_by_role("button", name="Send invitation").click()
    expect(invite.get_by_role("status")).to_contain_text("Invitation sent to nina@example.com")
    pending = page.get_by_role("table", name="Pending invitations")
    expect(pending).to_contain_text("nina@example.com")
    expect(pending).to_contain_text("pending")
    assert not User.objects.filter(email="nina@example.com").exists()  # nothing until she accepts

    # Nina, in a browser with no session, opens the link from her email.
    link = _link(mail_dir, "nina@example.com")
    page.context.clear_cookies()
    page.goto(link)
    offer = page.get_by_role("form", name="Accept the invitation")
    expect(offer).to_contain_text("Acme Shop")
    expect(offer).to_contain_text("viewer")
    offer.get_by_label("Your name").fill("Nina")
    offer.get_by_label("Choose a password").fill("ninas-own-pass-4")
    offer.get_by_label("Repeat the password").fill("ninas-own-pass-4")
    offer.get_by_role("button", name="Join Acme Shop").click()
    expect(page).to_have_url(re.compile(r"/journeys$"))
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    membership = Membership.objects.get(workspace=workspace, user__email="nina@example.com")
    assert membership.role == Role.VIEWER and membership.user.check_password("ninas-own-pass-4")

    # The link is spent.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("already used")


def test_someone_with_an_account_signs_in_on_the_page_to_accept(mail_dir, live_server_url, browser_page: Page):
    owner = User.objects.create_user("owner@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=owner)
    elsewhere = User.objects.create_user("omar@example.com", "omars-password-9")
    workspace_create(name="Omar Co", owner=elsewhere)
    invite = httpx.post(f"{live_server_url}/api/v1/members", json={"email": "omar@example.com", "role": "editor"},
                        headers={"Authorization": f"Bearer {make_client(workspace).raw_key}"})
    assert invite.status_code == 201, invite.text

    page = browser_page
    page.goto(_link(mail_dir, "omar@example.com"))
    offer = page.get_by_role("form", name="Accept the invitation")
    expect(offer).to_contain_text("already have an account")
    expect(offer.get_by_label("Choose a password")).to_have_count(0)  # nobody sets an account's password here
    offer.get_by_label("Password").fill("not-omars-password")
    offer.get_by_role("button", name="Join Acme Shop").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    assert not Membership.objects.filter(workspace=workspace, user=elsewhere).exists()
    offer.get_by_label("Password").fill("omars-password-9")
    offer.get_by_role("button", name="Join Acme Shop").click()
    expect(page).to_have_url(re.compile(r"/journeys$"))
    assert Membership.objects.get(workspace=workspace, user=elsewhere).role == Role.EDITOR
    elsewhere.refresh_from_db()
    assert elsewhere.check_password("omars-password-9")
