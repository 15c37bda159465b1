"""Setting up SendGrid on the Channels page as an owner would: the API key typed once, the
Event Webhook's verification key, a test send that reaches a local SendGrid (checked as SendGrid
checks it), and the Event Webhook URL to paste back into SendGrid."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, expect

from tests.channels.conftest import http_server  # noqa: F401  (the local SendGrid)
from tests.channels.test_sendgrid import _mail_send

from .test_pages_audiences import marketer, sign_in  # noqa: F401  (fixture)


def test_an_owner_sets_up_sendgrid_and_a_test_send_reaches_it(
    live_server_url, marketer, browser_page: Page, http_server  # noqa: F811  (fixtures)
):
    http_server.route("POST", "/v3/mail/send", 202, _mail_send, headers={"X-Message-Id": "sg-e2e-1"})
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    page = browser_page
    sign_in(page, live_server_url, "/channels")
    page.get_by_role("button", name="+ Add channel").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Provider").select_option("sendgrid")
    expect(dialog).to_contain_text("signed Event Webhook")
    dialog.get_by_label("Name", exact=True).fill("SendGrid")
    dialog.get_by_label("API key").fill("SG.test-key")
    dialog.get_by_label("Event Webhook verification key").fill("not a key")
    dialog.get_by_label("API base URL (optional override)").fill(http_server.url)
    dialog.get_by_label("From address").fill("shop@acme.test")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_contain_text("Must be the Event Webhook's verification key")
    dialog.get_by_label("Event Webhook verification key").fill(base64.b64encode(public).decode())
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “SendGrid”.")).to_be_visible()

    row = page.locator("tr", has_text="SendGrid")
    expect(row).to_contain_text("Event Webhook URL:")
    expect(row.locator("code")).to_contain_text("/api/v1/hooks/sendgrid?c=")
    assert "SG.test-key" not in page.content()

    row.get_by_role("button", name="Send test").click()
    dialog.get_by_label("To").fill("ada@example.com")
    dialog.get_by_role("button", name="Send test").click()
    result = dialog.locator("[data-test-result]")
    expect(result).to_have_attribute("data-test-result", "sent")
    expect(result).to_contain_text("sg-e2e-1")
    [sent] = [r for r in http_server.requests if r.path == "/v3/mail/send"]
    assert sent.headers["Authorization"] == "Bearer SG.test-key"
    assert sent.json()["personalizations"] == [{"to": [{"email": "ada@example.com"}]}]
