"""The three Kakao message kinds as a Korean marketer meets them, against local servers speaking the
dealers' wire formats: an AlimTalk template picked from the dealer's list whose #{variables} are
mapped to Liquid, FriendTalk with the ad flag and a button, Brand Message through a channel set up
for it, each previewed as a KakaoTalk bubble; and both dealers set up in Channels with a test send."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect

from tests.channels.kakao_dealers import Dealer, nhn_server, sens_server
from tests.channels.test_kakao import CART_TEMPLATE, NHN_CREDS, SENS_CREDS

from .test_canvas import account, drop, node, sign_in  # noqa: F401  (fixtures and helpers)
from .test_canvas_message_form import _open

pytestmark = pytest.mark.e2e

@pytest.fixture
def sens():
    dealer = Dealer(kakao_users={"01011112222"}, templates={"CART1": CART_TEMPLATE},
                    pending={"SHIP1": ("배송 출발", "#{name}님, 상품이 출발했어요.", [])})
    server = sens_server(dealer, **SENS_CREDS)
    yield dealer
    server.stop()


@pytest.fixture
def nhn():
    dealer = Dealer(kakao_users={"01011112222"}, templates={"CART1": CART_TEMPLATE})
    server = nhn_server(dealer, **NHN_CREDS)
    yield dealer
    server.stop()


def _channel(api: httpx.Client, channel: str, provider: str, name: str, credentials: dict, **settings) -> int:
    created = api.post("/channels", json={"channel": channel, "provider": provider, "name": name,
                                          "credentials": credentials, "settings": settings})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _journey(api: httpx.Client, channel: str, content: dict) -> int:
    """An API-entry journey: start → the Kakao message node (id `kakao`) → exit."""
    chain = [("start", "start", {}), ("kakao", "message", {"channel": channel, "content": content}),
             ("end", "exit", {})]
    graph = {
        "nodes": [{"id": i, "type": t, "position": {"x": 0, "y": 180 * n}, "config": c}
                  for n, (i, t, c) in enumerate(chain)],
        "edges": [{"source": a[0], "source_handle": "next", "target": b[0]} for a, b in zip(chain, chain[1:], strict=False)],
    }
    created = api.post("/journeys", json={"name": "Cart", "graph": graph, "settings": {"entry": {"type": "api"}}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _saved(api: httpx.Client, journey_id: int, holds: Callable[[dict], bool]) -> dict:
    """The Kakao node's config once the editor's autosave has stored what `holds` wants."""
    deadline = time.monotonic() + 15
    while True:
        graph = api.get(f"/journeys/{journey_id}").json()["graph"]
        config = next(n for n in graph["nodes"] if n["id"] == "kakao")["config"]
        if holds(config):
            return config
        assert time.monotonic() < deadline, f"not saved: {config}"
        time.sleep(0.3)


def test_alimtalk_template_is_picked_from_the_dealer_its_variables_mapped_and_previewed(
    live_server_url, account, browser_page, sens  # noqa: F811
):
    _channel(account, "kakao_alimtalk", "ncloud_sens", "SENS AlimTalk", {**SENS_CREDS, "base_url": sens.url},
             sms_failover=True)
    journey_id = _journey(account, "kakao_alimtalk", {"template_code": "", "text": ""})
    page = browser_page
    _open(page, live_server_url, journey_id)
    expect(node(page, "kakao")).to_contain_text("Kakao AlimTalk")
    node(page, "kakao").click()
    panel = page.get_by_test_id("node-panel")
    picker = panel.get_by_role("combobox", name="Template")
    # The dealer's list: the approved template can be picked, the one in review cannot.
    expect(picker.locator("option", has_text="CART1")).to_be_enabled()
    expect(picker.locator("option", has_text="SHIP1")).to_be_disabled()
    expect(picker.locator("option", has_text="SHIP1")).to_contain_text("pending")
    picker.select_option("CART1")
    expect(panel.get_by_test_id("alimtalk-template")).to_have_text(CART_TEMPLATE)
    # Picking the template asks for its two variables; empty, they are problems on the node.
    expect(node(page, "kakao").get_by_test_id("node-problem")).to_be_visible()
    panel.get_by_role("textbox", name="#{name}").fill("{{ customer.first_name }}")
    panel.get_by_role("textbox", name="#{item}").fill("운동화")
    bubble = panel.get_by_test_id("kakao-bubble")
    expect(bubble).to_contain_text("알림톡 도착")
    expect(bubble).to_contain_text("Alex님, 장바구니에 운동화이(가) 남아 있어요.")
    expect(panel.get_by_test_id("preview")).to_contain_text("sent as SMS")
    config = _saved(account, journey_id, lambda c: c["content"].get("variables", {}).get("item") == "운동화")
    assert config["content"]["template_code"] == "CART1"
    assert config["content"]["text"] == CART_TEMPLATE
    assert config["content"]["variables"] == {"name": "{{ customer.first_name }}", "item": "운동화"}
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_friendtalk_ad_with_a_button_and_a_brand_message_through_its_own_channel(
    live_server_url, account, browser_page, nhn  # noqa: F811
):
    creds = {**NHN_CREDS, "base_url": nhn.url}
    _channel(account, "kakao_friendtalk", "nhn_bizmessage", "NHN FriendTalk", creds)
    brand = _channel(account, "kakao_friendtalk", "nhn_bizmessage", "NHN Brand", creds, product="brand_message")
    journey_id = _journey(account, "kakao_friendtalk", {"text": ""})
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "kakao").click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_role("textbox", name="Text", exact=True).fill("{{ customer.first_name }}님, 겨울 신상품 20% 할인!")
    panel.get_by_label("Advertisement").check()
    panel.get_by_role("button", name="+ Add button").click()
    panel.get_by_label("Button 1 name").fill("지금 쇼핑하기")
    # A web link needs its URL: asked on the node until given.
    panel.get_by_label("Button 1 Mobile URL").fill("https://shop.test/sale")
    bubble = panel.get_by_test_id("kakao-bubble")
    expect(bubble).to_contain_text("(광고) Alex님, 겨울 신상품 20% 할인!")
    expect(bubble.locator(".kakao-action")).to_have_text(["지금 쇼핑하기"])
    expect(bubble).not_to_contain_text("알림톡")
    config = _saved(account, journey_id, lambda c: (c["content"].get("buttons") or [{}])[0].get("url_mobile") == "https://shop.test/sale")
    assert config["content"]["is_ad"] is True
    assert config["content"]["buttons"] == [{"type": "WL", "name": "지금 쇼핑하기", "url_mobile": "https://shop.test/sale"}]

    # The same node as a Brand Message: the default channel sends FriendTalk, so it says so.
    panel.get_by_role("radio", name="Brand Message").check()
    expect(node(page, "kakao")).to_contain_text("Kakao Brand Message")
    expect(panel.get_by_test_id("brand-channel-warning")).to_contain_text("NHN FriendTalk")
    panel.get_by_label("Send through").select_option(label="NHN Brand · nhn_bizmessage")
    expect(panel.get_by_test_id("brand-channel-warning")).to_have_count(0)
    expect(bubble).to_contain_text("(광고)")
    config = _saved(account, journey_id, lambda c: c.get("channel_id") == brand and c["content"].get("product") == "brand_message")
    assert account.post(f"/journeys/{journey_id}/validate").json()["errors"] == []


def test_the_brand_message_is_on_the_palette_beside_alimtalk_and_friendtalk(
    live_server_url, account, browser_page  # noqa: F811
):
    journey_id = _journey(account, "kakao_alimtalk", {"template_code": "", "text": ""})
    page = browser_page
    _open(page, live_server_url, journey_id)
    for key, label in (("kakao_alimtalk", "Kakao Alimtalk"), ("kakao_friendtalk", "Kakao Friendtalk"),
                       ("kakao_brand_message", "Kakao Brand Message")):
        expect(page.locator(f'[data-palette="{key}"]')).to_have_text(label)
    drop(page, "kakao_brand_message", 420, 300)
    dropped = page.locator(".react-flow__node").filter(has_text="Kakao Brand Message")
    expect(dropped).to_have_count(1)
    dropped.click()
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_role("radio", name="Brand Message")).to_be_checked()
    expect(panel.get_by_text("A Brand Message is always an ad")).to_be_visible()


@pytest.mark.parametrize("dealer_name", ["sens", "nhn"])
def test_a_kakao_dealer_is_set_up_in_channels_and_a_test_alimtalk_reaches_it(
    live_server_url, account, browser_page, dealer_name, request  # noqa: F811
):
    dealer = request.getfixturevalue(dealer_name)
    page = browser_page
    sign_in(page, live_server_url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    page.goto(f"{live_server_url}/channels")
    page.get_by_role("button", name="+ Add channel").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Channel", exact=True).select_option("kakao_alimtalk")
    label = "NAVER Cloud SENS" if dealer_name == "sens" else "NHN Cloud KakaoTalk Bizmessage"
    dialog.get_by_label("Provider").select_option(label=label)
    dialog.get_by_label("Name").fill(f"{label} AlimTalk")
    creds = SENS_CREDS if dealer_name == "sens" else NHN_CREDS
    fields = {
        "access_key": "Access key", "secret_key": "Secret key", "service_id": "Biz Message service id (AlimTalk)",
        "plus_friend_id": "Kakao channel id (plusFriendId)", "sms_service_id": "SMS service id",
        "sms_from": "Registered calling number", "appkey": "Appkey", "sender_key": "Sender key",
    }
    for key, value in creds.items():
        dialog.get_by_label(fields[key], exact=False).fill(value)
    dialog.get_by_label("API base URL (optional override)").fill(dealer.url)
    dialog.get_by_label("SMS/LMS failover when KakaoTalk cannot deliver").check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    stored = account.get("/channels").json()["results"]
    kakao = next(c for c in stored if c["channel"] == "kakao_alimtalk")
    assert kakao["provider"] == ("ncloud_sens" if dealer_name == "sens" else "nhn_bizmessage")
    assert kakao["settings"] == {"sms_failover": True}

    page.locator("tr", has_text=f"{label} AlimTalk").get_by_role("button", name="Send test").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox", name="Template").select_option("CART1")
    dialog.get_by_label("#{name}").fill("민수")
    dialog.get_by_label("#{item}").fill("운동화")
    dialog.get_by_label("To", exact=True).fill("+821011112222")
    dialog.get_by_role("button", name="Send test").click()
    expect(dialog.locator("[data-test-result]")).to_have_attribute("data-test-result", "sent")
    assert dealer.accepted[-1]["to"] == "01011112222"  # the national form the dealers want
    assert dealer.accepted[-1]["content"] == "민수님, 장바구니에 운동화이(가) 남아 있어요."


def test_sms_failovers_are_counted_on_the_alimtalk_node_and_in_the_dashboard(
    live_server_url, account, browser_page, sens  # noqa: F811
):
    from channels_app.services import dealer_results_poll

    _channel(account, "kakao_alimtalk", "ncloud_sens", "SENS AlimTalk", {**SENS_CREDS, "base_url": sens.url},
             sms_failover=True)
    customers = [{"external_id": "minsu", "phone": "+821011112222"},  # has KakaoTalk
                 {"external_id": "jiyoung", "phone": "+821055556666"}]  # has not: gets the SMS
    assert account.post("/customers", json={"customers": customers}).status_code == 200
    journey_id = _journey(account, "kakao_alimtalk", {"template_code": "CART1", "text": CART_TEMPLATE,
                                                      "variables": {"name": "고객", "item": "운동화"}})
    assert account.put(f"/journeys/{journey_id}/start").status_code == 200
    enrolled = account.post(f"/journeys/{journey_id}/enrollments", json={"customer_ids": ["minsu", "jiyoung"]})
    assert enrolled.status_code == 202, enrolled.text
    # The dealer takes both; its results are asked for as the periodic poll does.
    deadline = time.monotonic() + 30
    delivered = 0
    while delivered < 2:
        assert time.monotonic() < deadline, f"not delivered: {sens.accepted}"
        time.sleep(0.5)
        delivered += dealer_results_poll()["delivered"]
    assert [s["to"] for s in sens.sms] == ["01055556666"]

    page = browser_page
    _open(page, live_server_url, journey_id)
    counts = node(page, "kakao")
    expect(counts.locator('[data-count="failover"] b')).to_have_text("1")
    expect(counts.locator('[data-count="delivered"] b')).to_have_text("2")
    page.goto(f"{live_server_url}/analytics/journeys/{journey_id}")
    row = page.locator('table[aria-label="Channels"] tr[data-channel="kakao_alimtalk"]')
    expect(row.locator('[data-col="failover"]')).to_have_text("1")
    expect(row.locator('[data-col="delivered"]')).to_have_text("2")
