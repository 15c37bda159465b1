"""An AlimTalk item-list template on the canvas: picked from the dealer's list, it asks for every
#{name} of its body, highlight, items and summary, and the preview shows the item list as
KakaoTalk does."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.channels.kakao_dealers import Dealer, sens_server
from tests.channels.test_kakao import SENS_CREDS
from tests.channels.test_kakao_emphasis import ORDER, ORDER_TEXT, VARIABLES

from .test_canvas import account, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_kakao import _channel, _journey, _saved
from .test_canvas_message_form import _open

pytestmark = pytest.mark.e2e


@pytest.fixture
def sens():
    dealer = Dealer(kakao_users={"01011112222"}, templates={"ORDER1": ORDER_TEXT}, emphasized={"ORDER1": ORDER})
    server = sens_server(dealer, **SENS_CREDS)
    yield dealer
    server.stop()


def test_an_item_list_template_asks_for_its_items_variables_and_previews_the_list(
    live_server_url, account, browser_page, sens  # noqa: F811
):
    _channel(account, "kakao_alimtalk", "ncloud_sens", "SENS AlimTalk", {**SENS_CREDS, "base_url": sens.url})
    journey_id = _journey(account, "kakao_alimtalk", {"template_code": "", "text": ""})
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "kakao").click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_role("combobox", name="Template").select_option("ORDER1")
    for name in ("name", "product", "order", "qty", "ship", "total"):  # the items' #{name}s too
        panel.get_by_role("textbox", name=f"#{{{name}}}").fill(VARIABLES[name])
    bubble = panel.get_by_test_id("kakao-bubble")
    expect(bubble.get_by_test_id("kakao-highlight")).to_contain_text("겨울 운동화")
    expect(bubble.get_by_test_id("kakao-items").locator("dd")).to_have_text(["2개", "CJ대한통운", "128,000원"])
    expect(bubble).to_contain_text("민수님, 주문이 접수되었습니다.")
    config = _saved(account, journey_id, lambda c: c["content"].get("variables", {}).get("total") == "128,000")
    assert config["content"]["emphasize_type"] == "ITEM_LIST" and config["content"]["items"] == ORDER["items"]
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []
