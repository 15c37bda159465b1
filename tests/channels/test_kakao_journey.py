"""A Korean shop's abandoned-cart journey end to end, through a real Celery worker and local
dealer servers: an AlimTalk by template with a button, SMS failover for a customer without
KakaoTalk (seen by polling the dealer), and a FriendTalk ad reached at 23:00 KST that is held
until 08:00 KST and then sent with the ad flag."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.services import rollups_refresh
from channels_app.models import Message
from channels_app.tasks import dealer_results_poll_task
from journeys.engine import advance
from journeys.models import Enrollment
from tests.conftest import wait_for

from .kakao_dealers import Dealer, nhn_server, sens_server
from .test_kakao import CART_BUTTON, CART_TEMPLATE, NHN_CREDS, SENS_CREDS

KST = ZoneInfo("Asia/Seoul")


@pytest.fixture
def dealers():
    sens = Dealer(kakao_users={"01011112222"}, templates={"CART1": CART_TEMPLATE})
    nhn = Dealer(kakao_users={"01011112222"})
    servers = [
        sens_server(sens, **SENS_CREDS),
        nhn_server(nhn, **{k: NHN_CREDS[k] for k in ("appkey", "secret_key", "sender_key", "sms_from")}),
    ]
    yield sens, nhn
    for server in servers:
        server.stop()


def _next_23_kst(after: datetime) -> datetime:
    local = after.astimezone(KST)
    at = local.replace(hour=23, minute=0, second=0, microsecond=0)
    return at if at >= local else at + timedelta(days=1)


def _by_phone(journey_id: int, channel: str, statuses: set) -> dict | None:
    """The journey's two messages on `channel` by phone, once each has one of `statuses`."""
    rows = Message.objects.unscoped().filter(journey_id=journey_id, channel=channel)
    messages = {m.to: m for m in rows}
    return messages if len(messages) == 2 and all(m.status in statuses for m in rows) else None


def test_abandoned_cart_alimtalk_failover_and_a_night_ad_held_until_8_kst(celery_worker, api, dealers):
    sens, nhn = dealers
    for body in (
        {"channel": "kakao_alimtalk", "provider": "ncloud_sens", "name": "SENS AlimTalk",
         "credentials": {**SENS_CREDS, "base_url": sens.url}, "settings": {"sms_failover": True}},
        {"channel": "kakao_friendtalk", "provider": "nhn_bizmessage", "name": "NHN FriendTalk",
         "credentials": {**NHN_CREDS, "base_url": nhn.url}},
    ):
        response = api.post("/api/v1/channels", body, format="json")
        assert response.status_code == 201, response.content
    customers = [
        {"external_id": "minsu", "phone": "+82 10-1111-2222", "attributes": {"first_name": "민수"}},
        {"external_id": "jiyoung", "phone": "+821055556666", "attributes": {"first_name": "지영"}},
    ]
    assert api.post("/api/v1/customers", {"customers": customers}, format="json").json()["created"] == 2

    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "cart", "type": "message", "config": {"channel": "kakao_alimtalk", "content": {
                "template_code": "CART1", "text": CART_TEMPLATE,
                "variables": {"name": "{{ customer.first_name }}", "item": "운동화"},
                "buttons": [CART_BUTTON]}}},
            {"id": "later", "type": "wait", "config": {"mode": "duration", "duration": {"value": 1, "unit": "days"}}},
            {"id": "sale", "type": "message", "config": {"channel": "kakao_friendtalk", "content": {
                "text": "{{ customer.first_name }}님만을 위한 쿠폰 10%", "is_ad": True,
                "image_url": "https://shop.test/coupon.jpg",
                "buttons": [{"type": "WL", "name": "쿠폰 받기", "url_mobile": "https://shop.test/coupon"}]}}},
            {"id": "done", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "cart"},
            {"source": "cart", "source_handle": "next", "target": "later"},
            {"source": "later", "source_handle": "next", "target": "sale"},
            {"source": "sale", "source_handle": "next", "target": "done"},
        ],
    }
    created = api.post("/api/v1/journeys", {"name": "장바구니", "graph": graph,
                                            "settings": {"entry": {"type": "api"}}}, format="json")
    assert created.status_code == 201, created.content
    journey = created.json()
    assert api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json").status_code == 200
    enrolled = api.post(f"/api/v1/journeys/{journey['id']}/enrollments",
                        {"customer_ids": ["minsu", "jiyoung"]}, format="json")
    assert enrolled.status_code == 202, enrolled.content

    def waiting():
        rows = list(Enrollment.objects.unscoped().filter(journey_id=journey["id"], node_id="later",
                                                         state="waiting"))
        return rows if len(rows) == 2 else None

    wait_for(waiting, timeout=60)
    assert sorted(a["to"] for a in sens.accepted) == ["01011112222", "01055556666"]
    assert {a["content"] for a in sens.accepted} == {"민수님, 장바구니에 운동화이(가) 남아 있어요.",
                                                     "지영님, 장바구니에 운동화이(가) 남아 있어요."}
    assert sens.accepted[0]["buttons"] == [
        {"type": "WL", "name": "장바구니 보기", "linkMobile": "https://shop.test/cart"}
    ]

    # The dealers report when asked: the periodic poll, run by the worker.
    dealer_results_poll_task.delay()
    alimtalk = wait_for(lambda: _by_phone(journey["id"], "kakao_alimtalk", {"delivered"}))
    assert alimtalk["+821011112222"].status == "delivered" and "failover" not in alimtalk["+821011112222"].content
    assert alimtalk["+821055556666"].status == "delivered" and alimtalk["+821055556666"].content["failover"] == "sms"
    assert sens.sms == [{"to": "01055556666", "type": "SMS", "content": "지영님, 장바구니에 운동화이(가) 남아 있어요."}]
    # Counted on the node: both delivered, one of them by SMS failover.
    rollups_refresh()
    analytics = api.get(f"/api/v1/journeys/{journey['id']}/analytics").json()
    cart = next(n for n in analytics["nodes"] if n["node_id"] == "cart")["messages"]
    assert (cart["sent"], cart["delivered"], cart["failover"]) == (2, 2, 1)

    # The day's wait ends at 23:00 KST: the ad is held until 08:00 KST, nothing reaches the dealer.
    enrollments = waiting()
    night = _next_23_kst(max(e.wake_at for e in enrollments))
    advance(items=[[e.id, e.step_seq, {"kind": "timer"}] for e in enrollments], now=night)
    held = list(Enrollment.objects.unscoped().filter(journey_id=journey["id"]))
    morning = (night + timedelta(hours=9)).astimezone(KST)
    assert {(e.node_id, e.state, e.wake_at) for e in held} == {("sale", "waiting", morning)}
    assert morning.hour == 8 and nhn.accepted == []

    # At 08:00 KST it goes out, flagged as an ad (the dealer prefixes "(광고)").
    advance(items=[[e.id, e.step_seq, {"kind": "timer"}] for e in held], now=morning)
    wait_for(lambda: len(nhn.accepted) == 2, timeout=30)
    assert sorted((a["to"], a["isAd"], a["content"]) for a in nhn.accepted) == [
        ("01011112222", True, "(광고) 민수님만을 위한 쿠폰 10%"),
        ("01055556666", True, "(광고) 지영님만을 위한 쿠폰 10%"),
    ]
    ads = wait_for(lambda: _by_phone(journey["id"], "kakao_friendtalk", {"sent"}))
    assert ads["+821011112222"].status == "sent" and ads["+821055556666"].status == "sent"
    # The next poll: delivered to Minsu; Jiyoung has no KakaoTalk and this channel no failover.
    dealer_results_poll_task.delay()
    ads = wait_for(lambda: _by_phone(journey["id"], "kakao_friendtalk", {"delivered", "failed"}))
    assert ads["+821011112222"].status == "delivered"
    assert ads["+821055556666"].error == "3018: Not a KakaoTalk user"
