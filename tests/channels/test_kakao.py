"""Kakao through two Korean dealers (NAVER Cloud SENS, NHN Cloud Bizmessage), each a local server
checking what the dealer checks: AlimTalk templates and buttons, FriendTalk ads, SMS/LMS by
EUC-KR bytes and failover, delivery results by polling, Korea's night-time ad ban."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from audiences.normalize import FieldError, phone_clean
from channels_app import kakao, rendering
from channels_app.models import DeliveryEvent, Message
from channels_app.services import (
    MessageStep,
    channel_create,
    channel_test_send,
    dealer_results_poll,
    message_prepare,
    messages_send,
)
from tests.conftest import sandbox_channels

from .conftest import make_customer
from .kakao_dealers import Dealer, nhn_server, sens_server

pytestmark = pytest.mark.django_db

KST = ZoneInfo("Asia/Seoul")
CART_TEMPLATE = "#{name}님, 장바구니에 #{item}이(가) 남아 있어요."
SENS_CREDS = {
    "access_key": "AK-test",
    "secret_key": "SK-test",
    "service_id": "ncp:kkobizmsg:kr:1:shop",
    "sms_service_id": "ncp:sms:kr:1:shop",
    "plus_friend_id": "@shop",
    "sms_from": "0212345678",
}
NHN_CREDS = {"appkey": "APPKEY1", "secret_key": "NHN-SECRET", "sender_key": "SENDER1", "sms_from": "0212345678"}
CART_BUTTON = {"type": "WL", "name": "장바구니 보기", "url_mobile": "https://shop.test/cart"}


@pytest.fixture
def sens():
    dealer = Dealer(kakao_users={"01011112222"}, templates={"CART1": CART_TEMPLATE})
    server = sens_server(dealer, **{k: v for k, v in SENS_CREDS.items()})
    yield dealer
    server.stop()


@pytest.fixture
def nhn():
    dealer = Dealer(kakao_users={"01011112222"}, templates={"CART1": CART_TEMPLATE})
    server = nhn_server(dealer, **{k: NHN_CREDS[k] for k in ("appkey", "secret_key", "sender_key", "sms_from")})
    yield dealer
    server.stop()


def _sens_channel(workspace, sens, channel="kakao_alimtalk", **settings):
    return channel_create(
        workspace=workspace, channel=channel, provider="ncloud_sens", name="SENS",
        credentials={**SENS_CREDS, "base_url": sens.url}, settings=settings,
    )


def _nhn_channel(workspace, nhn, channel="kakao_alimtalk", **settings):
    return channel_create(
        workspace=workspace, channel=channel, provider="nhn_bizmessage", name="NHN",
        credentials={**NHN_CREDS, "base_url": nhn.url}, settings=settings,
    )


def _alimtalk(**extra):
    return {
        "template_code": "CART1",
        "text": CART_TEMPLATE,
        "variables": {"name": "{{ customer.name | default: '고객' }}", "item": "운동화"},
        "buttons": [CART_BUTTON],
        **extra,
    }


FILLED = {"name": "민수", "item": "운동화"}


def _queued(workspace, config, channel="kakao_alimtalk", content=None):
    """A queued message to +821011112222 through `config`, AlimTalk with filled variables unless
    `content` says otherwise."""
    customer = make_customer(workspace, phone="+821011112222")
    return Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=customer, channel=channel, channel_config=config,
        provider=config.provider, to="+821011112222", targets=["+821011112222"],
        content=content or {**_alimtalk(), "variables": FILLED},
    )


def _send_once(message):
    """One send task's go at `message`; the message as it is afterwards."""
    messages_send(message_ids=[message.pk], workspace_id=message.workspace_id)
    message.refresh_from_db()
    return message


# ---- NAVER Cloud SENS ------------------------------------------------------------------------
def test_sens_alimtalk_is_signed_filled_from_the_template_and_sent_to_the_national_number(workspace, sens):
    config = _sens_channel(workspace, sens)
    message = channel_test_send(config=config, to="+821011112222", content=_alimtalk())
    assert message.status == "sent", message.error_detail
    assert message.provider_message_id.startswith("R-")
    assert sens.accepted == [{
        "to": "01011112222",
        "content": "고객님, 장바구니에 운동화이(가) 남아 있어요.",
        "buttons": [{"type": "WL", "name": "장바구니 보기", "linkMobile": "https://shop.test/cart"}],
    }]
    _, path, headers, _ = sens.requests[0]
    assert path == "/alimtalk/v2/services/ncp:kkobizmsg:kr:1:shop/messages"
    assert headers["x-ncp-iam-access-key"] == "AK-test"


def test_sens_refuses_a_wrong_signature(workspace, sens):
    config = channel_create(
        workspace=workspace, channel="kakao_alimtalk", provider="ncloud_sens", name="SENS",
        credentials={**SENS_CREDS, "secret_key": "wrong", "base_url": sens.url},
    )
    message = channel_test_send(config=config, to="+821011112222", content=_alimtalk())
    assert message.status == "failed" and "Signature mismatch" in message.error_detail
    assert sens.accepted == []


def test_sens_template_mismatch_and_invalid_number_fail_with_the_dealers_reason(workspace, sens):
    config = _sens_channel(workspace, sens)
    wrong = _alimtalk(text="#{name}님, 특가 세일 중!", variables={"name": "민수"})
    message = channel_test_send(config=config, to="+821011112222", content=wrong)
    assert message.status == "failed" and "does not match the template" in message.error_detail
    invalid = channel_test_send(config=config, to="+82212345678", content=_alimtalk())
    assert invalid.status == "failed" and "E001" in invalid.error_detail
    assert "Invalid recipient number" in invalid.error_detail


def test_sens_rate_limit_and_5xx_are_retried_later(workspace, sens):
    config = _sens_channel(workspace, sens)
    sens.fail_next = [(429, {"error": {"errorCode": "429", "message": "Too Many Requests"}}),
                      (503, {"error": {"errorCode": "503", "message": "Service Unavailable"}})]
    message = _queued(workspace, config)
    for expected in ("429", "503"):
        messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
        message.refresh_from_db()
        assert message.status == "queued" and expected in message.error_detail
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 3


def test_sens_sms_over_90_euc_kr_bytes_goes_as_lms(workspace, sens):
    config = _sens_channel(workspace, sens, channel="sms")
    short = channel_test_send(config=config, to="+821099998888", content={"text": "주문이 접수되었습니다."})
    long_text = "안녕하세요 고객님, 주문하신 상품이 오늘 출발합니다. " * 3  # > 90 EUC-KR bytes
    long = channel_test_send(config=config, to="+821099998888", content={"text": long_text})
    assert short.status == "sent" and long.status == "sent", long.error_detail
    assert [s["type"] for s in sens.sms] == ["SMS", "LMS"]
    assert sens.requests[1][1] == "/sms/v2/services/ncp:sms:kr:1:shop/messages"


def test_sens_failover_to_sms_is_recorded_when_the_customer_has_no_kakaotalk(workspace, sens):
    config = _sens_channel(workspace, sens, sms_failover=True)
    without = channel_test_send(config=config, to="+821055556666", content=_alimtalk())
    with_kakao = channel_test_send(config=config, to="+821011112222", content=_alimtalk())
    assert dealer_results_poll() == {"delivered": 2, "failed": 0, "pending": 0}
    without.refresh_from_db(), with_kakao.refresh_from_db()
    assert without.status == "delivered" and without.content["failover"] == "sms"
    assert with_kakao.status == "delivered" and "failover" not in with_kakao.content
    assert sens.sms == [{"to": "01055556666", "type": "SMS", "content": "고객님, 장바구니에 운동화이(가) 남아 있어요."}]
    event = DeliveryEvent.objects.for_workspace(workspace).get(message=without, source="dealer_poll")
    assert event.data == {"reason": "3019: Not a KakaoTalk user", "failover": "sms"}


def test_sens_no_failover_means_failed_with_the_dealers_reason(workspace, sens):
    config = _sens_channel(workspace, sens)
    message = channel_test_send(config=config, to="+821055556666", content=_alimtalk())
    assert dealer_results_poll()["failed"] == 1
    message.refresh_from_db()
    assert message.status == "failed" and message.error == "3019: Not a KakaoTalk user"
    assert sens.sms == []


# ---- NHN Cloud Bizmessage ---------------------------------------------------------------------
def test_nhn_alimtalk_sends_template_parameters_buttons_and_idempotency_key(workspace, nhn):
    config = _nhn_channel(workspace, nhn)
    message = channel_test_send(config=config, to="+82 10-1111-2222", content=_alimtalk())
    assert message.status == "sent", message.error_detail
    _, path, headers, _ = nhn.requests[0]
    assert path == "/alimtalk/v2.3/appkeys/APPKEY1/messages"
    assert headers["x-secret-key"] == "NHN-SECRET"
    assert headers["x-nc-api-idempotency-key"] == f"waymark-{message.pk}"
    assert nhn.accepted[0]["content"] == "고객님, 장바구니에 운동화이(가) 남아 있어요."
    assert nhn.accepted[0]["buttons"] == [
        {"ordering": 1, "type": "WL", "name": "장바구니 보기", "linkMo": "https://shop.test/cart"}
    ]
    assert dealer_results_poll()["delivered"] == 1
    message.refresh_from_db()
    assert message.status == "delivered"


def test_nhn_friendtalk_ad_carries_the_flag_and_the_dealer_marks_it(workspace, nhn):
    config = _nhn_channel(workspace, nhn, channel="kakao_friendtalk")
    content = {"text": "겨울 세일 30%!", "image_url": "https://shop.test/sale.jpg", "is_ad": True,
               "buttons": [{"type": "WL", "name": "세일 보기", "url_mobile": "https://shop.test/sale"}]}
    message = channel_test_send(config=config, to="+821011112222", content=content)
    assert message.status == "sent", message.error_detail
    assert nhn.requests[0][1] == "/friendtalk/v2.3/appkeys/APPKEY1/messages"
    assert nhn.accepted[0]["isAd"] is True and nhn.accepted[0]["content"] == "(광고) 겨울 세일 30%!"


def test_nhn_template_errors_and_invalid_numbers_fail_with_the_dealers_code(workspace, nhn):
    config = _nhn_channel(workspace, nhn)
    unknown = channel_test_send(config=config, to="+821011112222", content=_alimtalk(template_code="NOPE"))
    assert unknown.status == "failed" and "NHN -3026: Template not found" in unknown.error_detail
    invalid = channel_test_send(config=config, to="+82212345678", content=_alimtalk())
    assert invalid.status == "failed" and "-1005" in invalid.error_detail


def test_nhn_resends_sms_for_customers_without_kakaotalk(workspace, nhn):
    config = _nhn_channel(workspace, nhn, sms_failover=True)
    message = channel_test_send(config=config, to="+821055556666", content=_alimtalk())
    assert message.status == "sent", message.error_detail
    assert dealer_results_poll()["delivered"] == 1
    message.refresh_from_db()
    assert message.status == "delivered" and message.content["failover"] == "sms"
    assert nhn.sms[0]["to"] == "01055556666" and nhn.sms[0]["type"] == "SMS"


# ---- Content rules at validate time ------------------------------------------------------------
def test_kakao_limits_name_the_field_at_validate_time():
    buttons = [dict(CART_BUTTON) for _ in range(6)]
    errors = dict(rendering.content_errors("kakao_alimtalk", _alimtalk(buttons=buttons)))
    assert errors["buttons"] == "At most 5 buttons (Kakao); got 6."
    errors = dict(rendering.content_errors("kakao_alimtalk", _alimtalk(variables={"name": "x"})))
    assert errors["variables.item"] == "The template uses #{item}: give its value."
    errors = dict(rendering.content_errors(
        "kakao_friendtalk", {"text": "x", "buttons": [{"type": "WL", "name": "보기"}]}
    ))
    assert errors["buttons.0.url_mobile"] == "A WL button needs url_mobile."
    errors = dict(rendering.content_errors("kakao_friendtalk", {"text": "x", "buttons": [{"type": "AC", "name": "채널 추가"}]}))
    assert errors["buttons.0.type"] == "Must be one of WL, AL, BK, MD."
    with_image = {"text": "가" * 401, "image_url": "https://shop.test/a.jpg"}
    assert rendering.static_limit_errors("kakao_friendtalk", with_image, {}) == [
        ("text", "401 characters; Kakao allows 400 with an image.")
    ]
    assert rendering.static_limit_errors("kakao_alimtalk", {"text": "가" * 1001}, {}) == [
        ("text", "1001 characters; Kakao allows 1000.")
    ]


# ---- Korea's rules ---------------------------------------------------------------------------
def test_friendtalk_ad_at_23_kst_is_held_until_8_kst_but_alimtalk_is_not(workspace, nhn):
    _nhn_channel(workspace, nhn, channel="kakao_friendtalk")
    _nhn_channel(workspace, nhn, channel="kakao_alimtalk")
    customer = make_customer(workspace, phone="+821011112222")
    late = datetime(2026, 12, 5, 23, 0, tzinfo=KST)

    def prepare(channel, content, now):
        return message_prepare(step=MessageStep(
            workspace=workspace, customer=customer, node_id="m1", now=now,
            config={"channel": channel, "content": content},
        ))

    ad = prepare("kakao_friendtalk", {"text": "세일!", "is_ad": True}, late)
    assert ad.kind == "defer" and ad.until == datetime(2026, 12, 6, 8, 0, tzinfo=KST)
    assert prepare("kakao_friendtalk", {"text": "세일!", "is_ad": True},
                   datetime(2026, 12, 6, 8, 0, tzinfo=KST)).kind == "queued"
    assert prepare("kakao_friendtalk", {"text": "배송 안내", "is_ad": False}, late).kind == "queued"
    assert prepare("kakao_alimtalk", _alimtalk(), late).kind == "queued"


def test_korean_phones_are_stored_in_e164_and_the_national_form_is_refused():
    assert phone_clean("+82 10-1234-5678") == phone_clean("+821012345678") == "+821012345678"
    with pytest.raises(FieldError, match="E.164"):
        phone_clean("010-1234-5678")


def test_a_journey_with_kakao_content_over_the_dealers_limits_is_refused_naming_the_field(api, workspace):
    sandbox_channels(workspace, "kakao_alimtalk", "kakao_friendtalk")  # only the content is wrong
    six_buttons = [dict(CART_BUTTON) for _ in range(6)]
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "cart", "type": "message", "config": {
                "channel": "kakao_alimtalk", "content": _alimtalk(buttons=six_buttons)}},
            {"id": "sale", "type": "message", "config": {
                "channel": "kakao_friendtalk", "category": "transactional",
                "content": {"text": "가" * 401, "image_url": "https://shop.test/a.jpg", "is_ad": True}}},
            {"id": "done", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "cart"},
            {"source": "cart", "source_handle": "next", "target": "sale"},
            {"source": "sale", "source_handle": "next", "target": "done"},
        ],
    }
    response = api.post("/api/v1/journeys", {"name": "Cart", "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    problems = api.post(f"/api/v1/journeys/{response.json()['id']}/validate", {}, format="json").json()
    assert problems["valid"] is False
    assert {(e["node_id"], e["field"], e["message"]) for e in problems["errors"]} == {
        ("cart", "config.content.buttons", "At most 5 buttons (Kakao); got 6."),
        ("sale", "config.content.text", "401 characters; Kakao allows 400 with an image."),
        ("sale", "config.category", "An ad FriendTalk is marketing (Korea's ad rules)."),
    }


# ---- Templates kept by the dealers ---------------------------------------------------------
NEW_TEMPLATE = {
    "code": "SHIP1",
    "name": "배송 출발",
    "text": "#{name}님, 주문하신 상품이 출발했어요.",
    "buttons": [{"type": "WL", "name": "배송 조회", "url_mobile": "https://shop.test/track"}],
}


@pytest.mark.parametrize("dealer_name", ["sens", "nhn"])
def test_templates_are_listed_from_the_dealer_and_new_ones_wait_for_review(api, workspace, dealer_name, request):
    dealer = request.getfixturevalue(dealer_name)
    config = (_sens_channel if dealer_name == "sens" else _nhn_channel)(workspace, dealer)
    url = f"/api/v1/channels/{config.pk}/templates"
    listed = api.get(url)
    assert listed.status_code == 200, listed.content
    assert listed.json()["results"] == [{
        "code": "CART1", "name": "approved", "text": CART_TEMPLATE, "emphasize_type": "NONE",
        "variables": ["name", "item"], "buttons": [], "status": "approved", "dealer_status": "APR" if dealer_name == "sens" else "TSC03",
    }]
    created = api.post(url, NEW_TEMPLATE, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending" and created.json()["variables"] == ["name"]
    shown = {t["code"]: t for t in api.get(url).json()["results"]}
    assert shown["SHIP1"]["status"] == "pending" and shown["SHIP1"]["buttons"] == NEW_TEMPLATE["buttons"]
    # Kakao has not approved it yet: the dealer refuses to send it.
    content = {"template_code": "SHIP1", "text": NEW_TEMPLATE["text"], "variables": {"name": "민수"}}
    message = channel_test_send(config=config, to="+821011112222", content=content)
    assert message.status == "failed" and "not approved" in message.error_detail
    again = api.post(url, NEW_TEMPLATE, format="json")
    assert again.status_code == 502 and "SHIP1 already exists" in again.json()["error"]["message"]


def test_a_bad_template_is_refused_by_field_before_it_reaches_the_dealer(api, workspace, sens):
    config = _sens_channel(workspace, sens)
    bad = {"code": "no spaces!", "name": "", "text": "가" * 1001, "buttons": [{"type": "WL", "name": "x"}]}
    response = api.post(f"/api/v1/channels/{config.pk}/templates", bad, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"code", "name", "text", "buttons.0.url_mobile"}
    assert sens.requests == []
    sms = channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    refused = api.get(f"/api/v1/channels/{sms.pk}/templates")
    assert refused.status_code == 400 and "channel" in refused.json()["error"]["details"]


def test_a_result_not_in_yet_is_asked_again_on_the_next_poll(workspace, sens):
    config = _sens_channel(workspace, sens)
    sens.in_flight.add("01011112222")
    message = channel_test_send(config=config, to="+821011112222", content=_alimtalk())
    assert dealer_results_poll() == {"delivered": 0, "failed": 0, "pending": 1}
    message.refresh_from_db()
    assert message.status == "sent"
    for results in sens.results.values():  # KakaoTalk delivered it since
        for result in results:
            result.update(messageStatusCode="0000", messageStatusName="success")
    assert dealer_results_poll() == {"delivered": 1, "failed": 0, "pending": 0}
    message.refresh_from_db()
    assert message.status == "delivered"


def test_nhn_rate_limit_is_retried_and_a_lost_answer_is_not_sent_twice(workspace, nhn):
    config = _nhn_channel(workspace, nhn)
    nhn.fail_next = [(429, {"header": {"resultCode": -429, "resultMessage": "Too many requests",
                                       "isSuccessful": False}})]
    message = _queued(workspace, config)
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "queued" and "Too many requests" in message.error_detail
    nhn.lose_answers = 1  # the dealer takes the message, but its answer never arrives
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "queued" and "504" in message.error_detail
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 3
    assert len(nhn.accepted) == 1  # the retry carried the same X-NC-API-IDEMPOTENCY-KEY
    keys = [headers["x-nc-api-idempotency-key"] for _, _, headers, _ in nhn.requests]
    assert keys == [f"waymark-{message.pk}"] * 3


def test_nhn_brand_message_is_sent_free_form_and_held_at_night_as_an_ad(workspace, nhn):
    config = _nhn_channel(workspace, nhn, channel="kakao_friendtalk", product="brand_message")
    content = {"text": "신상품 입고 안내", "image_url": "https://shop.test/new.jpg",
               "buttons": [{"type": "WL", "name": "구경하기", "url_mobile": "https://shop.test/new"}]}
    message = channel_test_send(config=config, to="+821011112222", content=content)
    assert message.status == "sent", message.error_detail
    assert nhn.requests[0][1] == "/brand-message/v1.0/appkeys/APPKEY1/messages"
    assert nhn.accepted == [{
        "product": "brand-message", "to": "01011112222", "content": "신상품 입고 안내",
        "image": {"imageUrl": "https://shop.test/new.jpg"}, "targeting": "I",
        "buttons": [{"type": "WL", "name": "구경하기", "linkMo": "https://shop.test/new"}],
    }]
    assert dealer_results_poll()["delivered"] == 1
    # A Brand Message is advertising even without is_ad: held from 20:00 KST like a FriendTalk ad.
    customer = make_customer(workspace, phone="+821011112222")
    outcome = message_prepare(step=MessageStep(
        workspace=workspace, customer=customer, node_id="m1",
        now=datetime(2026, 12, 5, 20, 30, tzinfo=KST),
        config={"channel": "kakao_friendtalk", "content": {"text": "신상품 입고 안내"}},
    ))
    assert outcome.kind == "defer" and outcome.until == datetime(2026, 12, 6, 8, 0, tzinfo=KST)


def test_the_preview_shows_the_filled_alimtalk_and_its_failover_type(api):
    response = api.post("/api/v1/messages/preview", {
        "channel": "kakao_alimtalk", "content": _alimtalk(), "attributes": {"name": "수진"},
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["content"]["filled_text"] == "수진님, 장바구니에 운동화이(가) 남아 있어요."
    assert body["content"]["failover_type"] == "SMS"
    long_failover = _alimtalk(failover_text="장바구니에 담긴 상품이 곧 품절될 수 있어요. " * 3)
    response = api.post("/api/v1/messages/preview", {"channel": "kakao_alimtalk", "content": long_failover},
                        format="json")
    assert response.json()["content"]["failover_type"] == "LMS"


@pytest.mark.parametrize("channel", ["kakao_alimtalk", "sms"])
def test_sens_a_lost_answer_is_found_at_the_dealer_and_not_sent_again(workspace, sens, channel):
    """SENS takes no idempotency key: a retry after an answer that never came looks the message
    up in SENS's list (by number and request time) and adopts the request it finds."""
    config = _sens_channel(workspace, sens, channel=channel)
    sms = {"text": "주문하신 상품이 발송되었습니다."}
    message = _queued(workspace, config, channel, sms if channel == "sms" else None)
    sens.lose_answers = 1  # SENS takes the message, but its answer is lost on the way back
    _send_once(message)
    assert message.status == "queued" and "504" in message.error_detail
    _send_once(message)
    assert message.status == "sent" and message.attempts == 2
    taken = sens.accepted if channel == "kakao_alimtalk" else sens.sms
    assert len(taken) == 1  # found at the dealer, not sent twice
    assert message.provider_message_id == sens.listed[0]["requestId"]
    assert [m for m, *_ in sens.requests] == ["POST", "GET"]
    # The adopted request is the one whose result the poll reads.
    if channel == "kakao_alimtalk":
        assert dealer_results_poll()["delivered"] == 1


def test_sens_a_retry_after_a_refusal_sends_when_the_dealer_took_nothing(workspace, sens):
    config = _sens_channel(workspace, sens)
    sens.fail_next = [(503, {"error": {"errorCode": "503", "message": "Service Unavailable"}})]
    message = _queued(workspace, config)
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk)
    _send_once(message)
    assert message.status == "sent" and len(sens.accepted) == 1
    assert [m for m, *_ in sens.requests] == ["POST", "GET", "POST"]


def test_a_brand_message_node_must_send_through_a_brand_message_channel(api, workspace, nhn):
    plain = _nhn_channel(workspace, nhn, channel="kakao_friendtalk")  # the default: FriendTalk
    brand = channel_create(
        workspace=workspace, channel="kakao_friendtalk", provider="nhn_bizmessage", name="Brand",
        credentials={**NHN_CREDS, "base_url": nhn.url}, settings={"product": "brand_message"},
    )
    content = {"text": "겨울 신상품 20% 할인", "product": "brand_message"}
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "ad", "type": "message", "config": {"channel": "kakao_friendtalk", "content": content}},
            {"id": "done", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "ad"},
            {"source": "ad", "source_handle": "next", "target": "done"},
        ],
    }
    created = api.post("/api/v1/journeys", {"name": "Sale", "graph": graph}, format="json")
    journey_url = f"/api/v1/journeys/{created.json()['id']}"
    problems = api.post(f"{journey_url}/validate", {}, format="json").json()["errors"]
    assert [(e["node_id"], e["field"]) for e in problems] == [("ad", "config.channel_id")]
    assert plain.name in problems[0]["message"] and "Brand Message" in problems[0]["message"]
    graph["nodes"][1]["config"]["channel_id"] = brand.pk
    assert api.patch(journey_url, {"graph": graph}, format="json").status_code == 200
    assert api.post(f"{journey_url}/validate", {}, format="json").json()["errors"] == []
    # An ad by its kind alone (held 20:00–08:00 KST), and only the two kinds are known.
    assert kakao.is_ad("kakao_friendtalk", content) and not kakao.is_ad("kakao_friendtalk", {"text": "안내"})
    assert rendering.content_errors("kakao_friendtalk", {**content, "product": "bizboard"}) == [
        ("product", "Must be one of friendtalk, brand_message.")
    ]
