"""Setting up the device and rich channels on the Channels page as an owner would: Web Push (its
VAPID key pair generated and the public key shown to copy, a test push decrypted as a browser
would), RCS Business Messaging (a test send reaching a local RBM with its OAuth token, the webhook
URL to paste back) and Apple Wallet (a test send that issues a pass link, the pass behind it
checked the way Wallet checks it)."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from audiences.models import Customer
from tests.channels.conftest import http_server  # noqa: F401  (the local provider servers)
from tests.channels.test_rbm import (
    MESSAGES_PATH,
    PHONE,
    rbm,  # noqa: F401  (fixture: the local RBM)
)
from tests.channels.test_webpush import Browser
from tests.channels.wallet_certs import LOYALTY, chain_make, credentials_for, pkpass_open
from workspaces.models import Workspace

from .test_pages_audiences import marketer, sign_in  # noqa: F401  (fixture)


def _add(page: Page, channel: str, provider: str, name: str):
    page.get_by_role("button", name="+ Add channel").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Channel", exact=True).select_option(channel)
    dialog.get_by_label("Provider").select_option(provider)
    dialog.get_by_label("Name", exact=True).fill(name)
    return dialog


def test_web_push_keys_are_generated_shown_copied_and_a_test_push_decrypts(
    live_server_url, marketer, browser_page: Page, http_server  # noqa: F811
):
    http_server.route("POST", "/push/e2e", 201, None)
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server_url, "/channels")
    dialog = _add(page, "push", "webpush", "Browsers")
    expect(dialog).to_contain_text("VAPID public key")
    dialog.get_by_label("VAPID subject (contact)").fill("ops@acme.test")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_contain_text("A mailto: address or an https: URL")
    dialog.get_by_label("VAPID subject (contact)").fill("mailto:ops@acme.test")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Browsers”.")).to_be_visible()

    row = page.locator("tr", has_text="Browsers")
    shown = row.get_by_test_id("vapid-public-key").locator("code")
    expect(shown).to_have_text(_public_key(marketer))
    assert len(shown.inner_text()) == 87  # an uncompressed P-256 point, base64url (RFC 8292 §3.2)
    row.get_by_role("button", name="Copy public key").click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == shown.inner_text()

    browser = Browser(f"{http_server.url}/push/e2e")
    row.get_by_role("button", name="Send test").click()
    test = page.get_by_role("dialog")
    expect(test.get_by_text("To (browser subscription JSON)")).to_be_visible()
    test.get_by_label("To").fill(browser.token())
    test.get_by_label("Body").fill("Hello from the test")
    test.get_by_role("button", name="Send test").click()
    expect(test.locator("[data-test-result]")).to_have_attribute("data-test-result", "sent")
    [pushed] = [r for r in http_server.requests if r.path == "/push/e2e"]
    assert browser.decrypt(pushed.body)["body"] == "Hello from the test"
    assert f"k={shown.inner_text()}" in pushed.headers["Authorization"]


def _public_key(api: httpx.Client) -> str:
    [config] = api.get("/channels").json()["results"]
    return config["settings"]["vapid_public_key"]


def test_rbm_is_set_up_with_its_webhook_and_a_test_send_reaches_the_agent(
    live_server_url, marketer, browser_page: Page, rbm  # noqa: F811
):
    rbm.route("GET", f"/v1/phones/{PHONE}/capabilities", 200, {"features": ["RICHCARD_STANDALONE"]})
    page = browser_page
    sign_in(page, live_server_url, "/channels")
    dialog = _add(page, "rcs", "rbm", "RCS agent")
    dialog.get_by_label("Agent id").fill("acme_agent")
    dialog.get_by_label("Service account JSON").fill(json.dumps(rbm.account))
    dialog.get_by_label("Webhook client token (verifies receipts)").fill("hook-secret")
    dialog.get_by_label("API base URL (optional override)").fill(rbm.url)
    dialog.get_by_label("When the phone has no RCS").select_option("sms")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “RCS agent”.")).to_be_visible()
    [config] = marketer.get("/channels").json()["results"]
    assert config["settings"] == {"fallback": "sms"}

    row = page.locator("tr", has_text="RCS agent")
    expect(row).to_contain_text("Webhook URL:")
    expect(row.locator("code")).to_contain_text("/api/v1/hooks/rbm?c=")
    assert "hook-secret" not in page.content()

    row.get_by_role("button", name="Send test").click()
    test = page.get_by_role("dialog")
    test.get_by_label("To").fill(PHONE)
    test.get_by_role("button", name="Send test").click()
    result = test.locator("[data-test-result]")
    expect(result).to_have_attribute("data-test-result", "sent")
    expect(result).to_contain_text("provider id waymark-")
    [sent] = [r for r in rbm.requests if r.path == MESSAGES_PATH]
    assert sent.json()["contentMessage"] == {"text": "Test from Waymark: it works."}
    assert sent.query["agentId"] == ["acme_agent"]
    # The fallback chosen asks RBM whether the phone has RCS before sending.
    assert any(r.path.endswith("/capabilities") for r in rbm.requests)


def test_apple_wallet_is_set_up_and_a_test_send_issues_a_pass_wallet_accepts(
    live_server_url, marketer, browser_page: Page, tmp_path  # noqa: F811
):
    chain = chain_make()
    credentials = credentials_for(chain)
    workspace = Workspace.objects.get(name="Acme Shop")
    Customer.objects.for_workspace(workspace).create(
        workspace=workspace, external_id="ada", attributes={"first_name": "Ada", "points": 120}
    )
    page = browser_page
    sign_in(page, live_server_url, "/channels")
    dialog = _add(page, "wallet", "apple_wallet", "Loyalty passes")
    expect(dialog).to_contain_text("{{ wallet.<template>.apple_url }}")
    dialog.get_by_label("Pass type id").fill(credentials["pass_type_identifier"])
    dialog.get_by_label("Team id").fill(credentials["team_identifier"])
    dialog.get_by_label("Pass type certificate (PEM)").fill(credentials["certificate"])
    dialog.get_by_label("Certificate private key (PEM)").fill(credentials["private_key"])
    dialog.get_by_label("Apple WWDR intermediate certificate (PEM)").fill(
        credentials["wwdr_certificate"]
    )
    dialog.get_by_label("Organization name (shown on the pass)").fill("Acme Coffee")
    dialog.get_by_label("Pass templates (JSON object keyed by template name)").fill(
        json.dumps({"loyalty": {**LOYALTY, "style": "poster"}})
    )
    dialog.get_by_role("button", name="Save").click()
    style = dialog.locator(".field-error", has_text="loyalty.style:")
    expect(style).to_contain_text("Must be one of")
    dialog.get_by_label("Pass templates (JSON object keyed by template name)").fill(
        json.dumps({"loyalty": LOYALTY})
    )
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Loyalty passes”.")).to_be_visible()
    section = page.get_by_role("region", name="Wallet passes")
    assert "PRIVATE KEY" not in page.content()

    section.get_by_role("button", name="Send test").click()
    test = page.get_by_role("dialog")
    test.get_by_label("To").fill("nobody")
    test.get_by_role("button", name="Send test").click()
    expect(test.locator(".form-error")).to_contain_text("No customer with the id 'nobody'")
    test.get_by_label("To").fill("ada")
    expect(test.get_by_label("Pass template")).to_have_value("loyalty")
    test.get_by_role("button", name="Send test").click()
    expect(test.locator("[data-test-result]")).to_have_attribute("data-test-result", "sent")
    link = test.get_by_test_id("pass-link").get_attribute("href")
    assert link.startswith(f"{live_server_url}/api/v1/hooks/wallet/apple?t=")

    downloaded = httpx.get(link, timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/vnd.apple.pkpass"
    card = pkpass_open(downloaded.content, chain.root_pem, tmp_path)["pass"]
    assert card["passTypeIdentifier"] == credentials["pass_type_identifier"]
    assert card["organizationName"] == "Acme Coffee"
    assert card["description"] == "Ada's Acme card"  # made for the customer the test named
