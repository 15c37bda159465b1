"""Rich message content on the canvas as a marketer builds it: an RCS carousel of cards with their
own and the message's suggestions, each field checked against RBM's limits and previewed on a
phone; and an email's call-to-action buttons and attachments, the buttons shown in the preview.
Each saved edit is read back through the API and validated by the server."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from .test_canvas import account, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_message_form import _open, _saved

pytestmark = pytest.mark.e2e


def _journey(api: httpx.Client, node_id: str, channel: str, content: dict) -> int:
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "config": {}},
            {"id": node_id, "type": "message", "position": {"x": 0, "y": 160},
             "config": {"channel": channel, "content": content}},
            {"id": "end", "type": "exit", "position": {"x": 0, "y": 360}, "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": node_id},
            {"source": node_id, "source_handle": "next", "target": "end"},
        ],
    }
    created = api.post("/journeys", json={"name": "Rich", "graph": graph, "settings": {"entry": {"type": "api"}}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _config(journey: dict, node_id: str) -> dict:
    return next(n for n in journey["graph"]["nodes"] if n["id"] == node_id)["config"]


def test_rcs_carousel_is_built_card_by_card_checked_and_previewed_on_a_phone(
    live_server_url, account, browser_page  # noqa: F811
):
    created = account.post("/channels", json={"channel": "rcs", "provider": "sandbox", "name": "RCS sandbox",
                                              "credentials": {}, "settings": {}})
    assert created.status_code == 201, created.text
    journey_id = _journey(account, "rcs", "rcs", {"text": "Our new lamps, {{ customer.first_name }}"})
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "rcs").click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("rcs-phone")).to_contain_text("Our new lamps, Alex")

    panel.get_by_role("radio", name="Carousel").check()
    expect(panel.get_by_test_id("rcs-card-editor")).to_have_count(2)
    # Two empty cards: each is a problem on the node until it has a title, text or media.
    expect(node(page, "rcs").get_by_test_id("node-problem")).to_be_visible()
    panel.get_by_role("textbox", name="Card 1 title").fill("Arc lamp for {{ customer.first_name }}")
    panel.get_by_role("textbox", name="Card 1 description").fill("Brass, 180 cm")
    panel.get_by_role("textbox", name="Card 1 media URL").fill("https://acme.test/arc.jpg")
    panel.get_by_role("textbox", name="Card 2 title").fill("Desk lamp")
    expect(node(page, "rcs").get_by_test_id("node-problem")).to_have_count(0)

    # Up to 10 cards: the add button stops there.
    add_card = panel.get_by_role("button", name="+ Add card")
    for _ in range(8):
        add_card.click()
    expect(panel.get_by_test_id("rcs-card-editor")).to_have_count(10)
    expect(add_card).to_be_disabled()
    for _ in range(7):
        panel.get_by_role("button", name="Remove card 3").click()
    expect(panel.get_by_test_id("rcs-card-editor")).to_have_count(3)
    panel.get_by_role("textbox", name="Card 3 title").fill("Floor lamp")

    # A card's own action, and a message suggestion whose text is over RBM's 25 characters.
    card_one = panel.get_by_role("group", name="Card 1", exact=True)
    card_one.get_by_role("button", name="+ Add suggestion").click()
    card_one.get_by_label("Card 1 suggestion 1 type").select_option("url")
    card_one.get_by_role("textbox", name="Card 1 suggestion 1 text").fill("See it")
    suggestions = panel.get_by_role("group", name="Suggestion", exact=True)
    suggestions.get_by_role("button", name="+ Add suggestion").click()
    suggestions.get_by_role("textbox", name="Suggestion 1 text").fill("Tell me about delivery times")
    expect(suggestions).to_contain_text("28 characters; RCS allows 25.")
    expect(card_one).to_contain_text("An Open URL suggestion needs its URL.")
    suggestions.get_by_role("textbox", name="Suggestion 1 text").fill("Delivery times")
    card_one.get_by_role("textbox", name="Card 1 suggestion 1 URL").fill("https://acme.test/arc")
    expect(node(page, "rcs").get_by_test_id("node-problem")).to_have_count(0)

    phone = panel.get_by_test_id("rcs-phone")
    carousel = phone.get_by_test_id("rcs-carousel")
    expect(carousel.get_by_test_id("rcs-card")).to_have_count(3)
    expect(carousel.get_by_test_id("rcs-card").first).to_contain_text("Arc lamp for Alex")
    expect(carousel.get_by_test_id("rcs-card").first).to_contain_text("See it")
    expect(carousel.locator("img")).to_have_attribute("src", "https://acme.test/arc.jpg")
    expect(phone.get_by_test_id("rcs-chip")).to_have_text(["Delivery times"])

    config = _config(
        _saved(account, journey_id, lambda j: _config(j, "rcs")["content"].get("suggestions", [{}])[0].get("text") == "Delivery times"
               and len(_config(j, "rcs")["content"].get("cards", [])) == 3
               and _config(j, "rcs")["content"]["cards"][0].get("suggestions", [{}])[0].get("url") == "https://acme.test/arc"),
        "rcs",
    )
    content = config["content"]
    assert [c.get("title") for c in content["cards"]] == ["Arc lamp for {{ customer.first_name }}", "Desk lamp", "Floor lamp"]
    assert content["cards"][0]["suggestions"] == [{"type": "url", "text": "See it", "url": "https://acme.test/arc"}]
    assert content["suggestions"] == [{"type": "reply", "text": "Delivery times"}]
    assert "card" not in content
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_email_buttons_and_attachments_are_edited_limits_shown_and_buttons_previewed(
    live_server_url, account, browser_page  # noqa: F811
):
    journey_id = _journey(account, "mail", "email", {"subject": "Your order", "html": "<p>Thanks!</p>"})
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "mail").click()
    panel = page.get_by_test_id("node-panel")

    panel.get_by_role("button", name="+ Add button").click()
    expect(node(page, "mail").get_by_test_id("node-problem")).to_be_visible()
    panel.get_by_role("textbox", name="Button 1 label").fill("Track {{ customer.first_name }}'s order")
    panel.get_by_role("textbox", name="Button 1 URL").fill("javascript:alert(1)")
    expect(panel.get_by_role("group", name="Buttons")).to_contain_text("Must be an http(s) URL.")
    panel.get_by_role("textbox", name="Button 1 URL").fill("https://acme.test/track")
    expect(node(page, "mail").get_by_test_id("node-problem")).to_have_count(0)

    expect(panel.get_by_test_id("attachment-limits")).to_contain_text("up to 5 files, 10 MB each and 20 MB in all")
    panel.get_by_role("button", name="+ Add attachment").click()
    panel.get_by_role("textbox", name="Attachment 1 URL").fill("https://acme.test/invoice.pdf")
    panel.get_by_label("Attachment 1 file name").fill("invoice.pdf")

    # The preview is the email as sent: the button under the body, its label personalised.
    button = panel.frame_locator("iframe[title='Email body']").locator("a[data-waymark-button]")
    expect(button).to_have_text("Track Alex's order")
    expect(button).to_have_attribute("href", "https://acme.test/track")

    config = _config(
        _saved(account, journey_id, lambda j: _config(j, "mail")["content"].get("attachments", [{}])[0].get("filename") == "invoice.pdf"
               and _config(j, "mail")["content"].get("buttons", [{}])[0].get("url") == "https://acme.test/track"),
        "mail",
    )
    assert config["content"]["buttons"] == [{"text": "Track {{ customer.first_name }}'s order", "url": "https://acme.test/track"}]
    assert config["content"]["attachments"] == [{"url": "https://acme.test/invoice.pdf", "filename": "invoice.pdf"}]
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []
