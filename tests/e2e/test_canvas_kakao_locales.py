"""A Kakao node's language tabs are the same Kakao form as its Default tab: an AlimTalk language
version picks its own approved template from the dealer and fills its #{variables}; a FriendTalk one
has its buttons; fields a version leaves alone come from Default."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.channels.kakao_dealers import Dealer, sens_server
from tests.channels.test_kakao import CART_TEMPLATE, SENS_CREDS

from .test_canvas import account, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_kakao import _channel, _journey, _saved
from .test_canvas_message_form import _open

pytestmark = pytest.mark.e2e

CART_EN = "#{name}, your #{item} is still in your cart."


@pytest.fixture
def sens():
    dealer = Dealer(kakao_users={"01011112222"}, templates={"CART1": CART_TEMPLATE, "CART_EN": CART_EN})
    server = sens_server(dealer, **SENS_CREDS)
    yield dealer
    server.stop()


def _add_language(panel, tag: str) -> None:
    panel.get_by_role("textbox", name="New language").fill(tag)
    panel.get_by_role("button", name="+ Add language").click()
    expect(panel.get_by_role("tab", name=tag)).to_have_attribute("aria-selected", "true")


def test_an_alimtalk_language_tab_picks_its_own_template_and_fills_its_variables(
    live_server_url, account, browser_page, sens  # noqa: F811
):
    _channel(account, "kakao_alimtalk", "ncloud_sens", "SENS AlimTalk", {**SENS_CREDS, "base_url": sens.url})
    journey_id = _journey(account, "kakao_alimtalk", {
        "template_code": "CART1", "text": CART_TEMPLATE,
        "variables": {"name": "{{ customer.first_name }}", "item": "운동화"}})
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "kakao").click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("alimtalk-template")).to_have_text(CART_TEMPLATE)
    _add_language(panel, "en")
    # The Kakao form, not plain fields: the dealer's templates to pick from, no "Template code" box.
    picker = panel.get_by_role("combobox", name="Template")
    expect(picker.locator("option", has_text="CART_EN")).to_be_enabled()
    expect(panel.get_by_role("textbox", name="Template code")).to_have_count(0)
    picker.select_option("CART_EN")
    expect(panel.get_by_test_id("alimtalk-template")).to_have_text(CART_EN)
    # Its variables start from Default's values (same names) and take the language's own.
    expect(panel.get_by_role("textbox", name="#{name}")).to_have_value("{{ customer.first_name }}")
    panel.get_by_role("textbox", name="#{item}").fill("sneakers")
    expect(panel.get_by_test_id("kakao-bubble")).to_contain_text("Alex, your sneakers is still in your cart.")
    config = _saved(account, journey_id, lambda c: (c["content"].get("locales") or {}).get("en", {})
                    .get("variables", {}).get("item") == "sneakers")
    assert config["content"]["locales"]["en"] == {
        "template_code": "CART_EN", "text": CART_EN, "buttons": [],  # the English template has none
        "variables": {"name": "{{ customer.first_name }}", "item": "sneakers"},
    }
    # Default is untouched, and its tab still shows its own template.
    assert config["content"]["template_code"] == "CART1"
    panel.get_by_role("tab", name="Default").click()
    expect(panel.get_by_test_id("alimtalk-template")).to_have_text(CART_TEMPLATE)
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_a_friendtalk_language_tab_has_the_buttons_and_keeps_defaults_ad_flag(
    live_server_url, account, browser_page  # noqa: F811
):
    button = {"type": "WL", "name": "쇼핑하기", "url_mobile": "https://shop.test/sale"}
    journey_id = _journey(account, "kakao_friendtalk", {"text": "겨울 세일!", "is_ad": True, "buttons": [button]})
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "kakao").click()
    panel = page.get_by_test_id("node-panel")
    _add_language(panel, "en")
    # Default's button and ad flag show in the language's form; the kind follows Default.
    expect(panel.get_by_label("Button 1 name")).to_have_value("쇼핑하기")
    expect(panel.get_by_label("Advertisement")).to_be_checked()
    expect(panel.get_by_role("radio", name="Brand Message")).to_have_count(0)
    panel.get_by_role("textbox", name="Text", exact=True).fill("Winter sale!")
    panel.get_by_label("Button 1 name").fill("Shop now")
    expect(panel.get_by_test_id("kakao-bubble")).to_contain_text("(광고) Winter sale!")
    expect(panel.get_by_test_id("kakao-bubble").locator(".kakao-action")).to_have_text(["Shop now"])
    config = _saved(account, journey_id, lambda c: (c["content"].get("locales") or {}).get("en", {})
                    .get("buttons", [{}])[0].get("name") == "Shop now")
    assert config["content"]["locales"]["en"] == {"text": "Winter sale!", "buttons": [{**button, "name": "Shop now"}]}
    assert config["content"]["buttons"] == [button]
