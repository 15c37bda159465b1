"""The email body designed in blocks, as a marketer does it: switch the email to the visual editor
(GrapesJS with MJML), add a button under the headline, and get responsive HTML with the footer's
unsubscribe link saved as what is sent; preview it at desktop and mobile widths; switch back to
HTML and keep the compiled HTML to edit by hand."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_canvas import account, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_message_form import _email_journey, _mail_config, _mail_panel, _saved

pytestmark = pytest.mark.e2e


def test_an_email_is_designed_in_blocks_and_sent_as_responsive_html(
    live_server_url, account, browser_page  # noqa: F811
):
    api = account
    journey_id = _email_journey(api)
    page = browser_page
    panel = _mail_panel(page, live_server_url, journey_id)
    panel.get_by_text("Visual editor").click()

    designer = page.get_by_role("dialog", name="Email designer")
    expect(designer).to_be_visible()
    frame = designer.locator("iframe.gjs-frame")
    expect(frame).to_be_visible()
    email = page.frame_locator("iframe.gjs-frame")
    # The starting design already carries the footer with the unsubscribe link.
    expect(email.get_by_text("Unsubscribe")).to_be_visible()
    headline = email.get_by_text(re.compile(r"^Hi \{\{ customer\.first_name"))
    expect(headline).to_be_visible()
    # The headline picked, then the Button block: a button comes in under it, in its column.
    headline.click()
    designer.locator(".gjs-block", has_text="Button").click()
    expect(email.get_by_text("Button", exact=True)).to_be_visible()
    designer.get_by_role("button", name="Done").click()
    expect(designer).to_have_count(0)

    journey = _saved(api, journey_id, lambda j: "<mj-button" in _mail_config(j)["content"].get("mjml", ""))
    content = _mail_config(journey)["content"]
    html = content["html"]
    mjml = content["mjml"]
    assert mjml.index("Hi {{") < mjml.index("<mj-button") < mjml.index("Write your message")
    # Responsive HTML compiled by MJML: its column classes and mobile media query, no MJML tags.
    assert "mj-column-per-100" in html and "@media only screen" in html
    assert "<mj-" not in html
    assert re.search(r'href="\{\{ unsubscribe_url \}\}"', html)
    assert ">Button<" in html.replace("\n", "").replace("  ", "")
    assert api.post(f"/journeys/{journey_id}/validate").json()["errors"] == []

    # The preview at desktop and then mobile width.
    preview = panel.locator('iframe[title="Email body"]')
    expect(preview).to_have_attribute("data-device", "desktop")
    width = preview.bounding_box()["width"]
    panel.get_by_role("button", name="Mobile").click()
    expect(preview).to_have_attribute("data-device", "mobile")
    assert preview.bounding_box()["width"] < width
    expect(page.frame_locator('iframe[title="Email body"]').get_by_role("link", name="Unsubscribe")).to_be_visible()

    # Back to HTML: the compiled HTML stays, editable; the block design is left behind.
    panel.get_by_text("HTML", exact=True).click()
    expect(panel.get_by_label("HTML body")).to_contain_text("mj-column-per-100")
    journey = _saved(api, journey_id, lambda j: "mjml" not in _mail_config(j)["content"])
    assert "mj-column-per-100" in _mail_config(journey)["content"]["html"]
