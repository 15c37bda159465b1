"""AlimTalk templates beyond a plain body: an emphasized title (TEXT) and an item list (ITEM_LIST:
header, highlight, 2–10 items, summary). The registry reads and submits them at both dealers, the
sends carry them as each dealer wants (SENS: filled in each message; NHN: every #{name} in
templateParameter), the validator names Kakao's limits per field, and the local dealers refuse what
does not fit the approved template."""

from __future__ import annotations

import json

import pytest

from channels_app.services import channel_test_send
from tests.conftest import sandbox_channels
from workspaces.errors import ServiceValidationError

from .kakao_dealers import Dealer, nhn_server, sens_server
from .test_kakao import NHN_CREDS, SENS_CREDS, _nhn_channel, _sens_channel

pytestmark = pytest.mark.django_db

ORDER_TEXT = "#{name}님, 주문이 접수되었습니다."
ORDER = {  # an order receipt as an item list, in Kakao's terms
    "type": "ITEM_LIST",
    "header": "주문 접수",
    "highlight": {"title": "#{product}", "description": "주문번호 #{order}"},
    "items": [{"title": "수량", "description": "#{qty}개"}, {"title": "배송", "description": "#{ship}"}],
    "summary": {"title": "합계", "description": "#{total}원"},
}
SHIP_TEXT = "#{name}님, 상품이 출발했어요."
SHIP = {"type": "TEXT", "title": "#{eta} 도착 예정", "subtitle": "배송 안내"}
VARIABLES = {"name": "민수", "product": "겨울 운동화", "order": "A-1001", "qty": "2", "ship": "CJ대한통운",
             "total": "128,000", "eta": "12월 7일"}


def _dealer() -> Dealer:
    return Dealer(kakao_users={"01011112222"}, templates={"ORDER1": ORDER_TEXT, "SHIP1": SHIP_TEXT},
                  emphasized={"ORDER1": ORDER, "SHIP1": SHIP})


@pytest.fixture
def sens():
    dealer = _dealer()
    server = sens_server(dealer, **SENS_CREDS)
    yield dealer
    server.stop()


@pytest.fixture
def nhn():
    dealer = _dealer()
    server = nhn_server(dealer, **{k: NHN_CREDS[k] for k in ("appkey", "secret_key", "sender_key", "sms_from")})
    yield dealer
    server.stop()


def _picked(template: dict, **variables) -> dict:
    """A node's content as the canvas makes it from a listed template (kakao.tsx withTemplate)."""
    keep = ("template_code", "text", "emphasize_type", "title", "subtitle", "header", "item_highlight", "items",
            "item_summary")
    content = {k: template[k] for k in keep if k in template} | {"template_code": template["code"]}
    return content | {"variables": {v: variables.get(v, VARIABLES[v]) for v in template["variables"]}}


@pytest.mark.parametrize("dealer_name", ["sens", "nhn"])
def test_the_registry_lists_item_list_and_emphasized_templates_with_their_parts(api, workspace, dealer_name, request):
    dealer = request.getfixturevalue(dealer_name)
    config = (_sens_channel if dealer_name == "sens" else _nhn_channel)(workspace, dealer)
    listed = {t["code"]: t for t in api.get(f"/api/v1/channels/{config.pk}/templates").json()["results"]}
    order, ship = listed["ORDER1"], listed["SHIP1"]
    assert order["emphasize_type"] == "ITEM_LIST"
    assert (order["header"], order["item_highlight"], order["items"], order["item_summary"]) == (
        ORDER["header"], ORDER["highlight"], ORDER["items"], ORDER["summary"])
    assert order["variables"] == ["name", "product", "order", "qty", "ship", "total"]  # every part's #{name}s
    assert (ship["emphasize_type"], ship["title"], ship["subtitle"], ship["variables"]) == (
        "TEXT", "#{eta} 도착 예정", "배송 안내", ["name", "eta"])


@pytest.mark.parametrize("dealer_name", ["sens", "nhn"])
def test_an_item_list_alimtalk_reaches_the_dealer_filled(api, workspace, dealer_name, request):
    dealer = request.getfixturevalue(dealer_name)
    config = (_sens_channel if dealer_name == "sens" else _nhn_channel)(workspace, dealer)
    listed = {t["code"]: t for t in api.get(f"/api/v1/channels/{config.pk}/templates").json()["results"]}
    message = channel_test_send(config=config, to="+821011112222", content=_picked(listed["ORDER1"]))
    assert message.status == "sent", message.error_detail
    accepted = dealer.accepted[-1]
    assert accepted["content"] == "민수님, 주문이 접수되었습니다."
    assert accepted["header"] == "주문 접수"
    assert accepted["highlight"] == {"title": "겨울 운동화", "description": "주문번호 A-1001"}
    assert accepted["items"] == [{"title": "수량", "description": "2개"}, {"title": "배송", "description": "CJ대한통운"}]
    assert accepted["summary"] == {"title": "합계", "description": "128,000원"}
    if dealer_name == "sens":  # SENS takes the filled parts in each message, under its own names
        sent = json.loads(dealer.requests[-1][3])["messages"][0]
        assert set(sent) >= {"headerContent", "itemHighlight", "item"} and "title" not in sent
    shipped = channel_test_send(config=config, to="+821011112222", content=_picked(listed["SHIP1"]))
    assert shipped.status == "sent", shipped.error_detail
    assert dealer.accepted[-1]["title"] == "12월 7일 도착 예정"


def test_the_dealers_refuse_parts_that_do_not_fit_the_approved_template(api, workspace, sens, nhn):
    """What the validator cannot know (the dealer's copy of the template) the dealer still checks."""
    for config, dealer in ((_sens_channel(workspace, sens), sens), (_nhn_channel(workspace, nhn), nhn)):
        listed = {t["code"]: t for t in api.get(f"/api/v1/channels/{config.pk}/templates").json()["results"]}
        stale = _picked(listed["ORDER1"])
        stale["items"] = stale["items"][:1] + [{"title": "포장", "description": "#{ship}"}]  # an older version
        message = channel_test_send(config=config, to="+821011112222", content=stale)
        if dealer is sens:
            assert message.status == "failed" and "item.title does not match the template" in message.error_detail
        else:  # NHN fills its own copy: the reader gets the approved template, whatever we hold
            assert message.status == "sent" and dealer.accepted[-1]["items"][1]["title"] == "배송"
        # Over Kakao's lengths once filled: refused before the dealer is called, naming the part.
        with pytest.raises(ServiceValidationError, match="items.0.description"):
            channel_test_send(config=config, to="+821011112222", content=_picked(listed["ORDER1"], qty="1" * 25))
    assert len(sens.accepted) == 0


def test_the_validator_names_kakaos_limits_and_the_template_type_per_field(api, workspace):
    sandbox_channels(workspace, "kakao_alimtalk")
    base = {"template_code": "ORDER1", "text": ORDER_TEXT, "emphasize_type": "ITEM_LIST", "header": ORDER["header"],
            "item_highlight": ORDER["highlight"], "items": ORDER["items"], "item_summary": ORDER["summary"],
            "variables": {k: VARIABLES[k] for k in ("name", "product", "order", "qty", "ship", "total")}}
    cases = {
        "items": {**base, "items": ORDER["items"][:1]},  # one item: Kakao wants 2 to 10
        "items.1.description": {**base, "variables": {**base["variables"], "ship": "가" * 30}},
        "item_summary.description": {**base, "variables": {**base["variables"], "total": "1" * 20}},
        "header": {**base, "header": "가" * 17},
        "title": {"template_code": "SHIP1", "text": SHIP_TEXT, "emphasize_type": "TEXT", "variables": {"name": "민수"}},
        "item_highlight": {**base, "emphasize_type": "TEXT", "title": "제목"},  # item-list parts on a TEXT template
        "variables.qty": {**base, "variables": {k: v for k, v in base["variables"].items() if k != "qty"}},
    }
    nodes = [{"id": "start", "type": "start", "config": {}}]
    nodes += [{"id": f"n{i}", "type": "message", "config": {"channel": "kakao_alimtalk", "content": c}}
              for i, c in enumerate([base, *cases.values()])]
    edges = [{"source": a["id"], "source_handle": "next", "target": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    journey = api.post("/api/v1/journeys", {"name": "Orders", "graph": {"nodes": nodes, "edges": edges},
                                            "settings": {"entry": {"type": "api"}}}, format="json").json()
    errors = api.post(f"/api/v1/journeys/{journey['id']}/validate").json()["errors"]
    by_node = {}
    for e in errors:
        by_node.setdefault(e["node_id"], []).append((e["field"], e["message"]))
    assert "n0" not in by_node, by_node["n0"]  # the template as approved is fine
    for i, field in enumerate(cases, start=1):
        fields = [f for f, _ in by_node.get(f"n{i}", [])]
        assert f"config.content.{field}" in fields, (field, by_node.get(f"n{i}"))
    messages = dict(by_node["n2"])
    assert "Kakao allows 23" in messages["config.content.items.1.description"]


@pytest.mark.parametrize("dealer_name", ["sens", "nhn"])
def test_an_item_list_template_is_submitted_to_the_dealer_with_its_parts(api, workspace, dealer_name, request):
    dealer = request.getfixturevalue(dealer_name)
    config = (_sens_channel if dealer_name == "sens" else _nhn_channel)(workspace, dealer)
    body = {"code": "RECEIPT1", "name": "영수증", "text": "#{name}님, 결제가 완료되었습니다.", "emphasize_type": "ITEM_LIST",
            "header": "결제 완료", "items": [{"title": "상품", "description": "#{product}"},
                                          {"title": "금액", "description": "#{total}원"}],
            "item_summary": {"title": "합계", "description": "#{total}원"}}
    created = api.post(f"/api/v1/channels/{config.pk}/templates", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["variables"] == ["name", "product", "total"]
    assert dealer.emphasized["RECEIPT1"]["type"] == "ITEM_LIST"
    assert dealer.emphasized["RECEIPT1"]["items"] == body["items"]
    one_item = api.post(f"/api/v1/channels/{config.pk}/templates", {**body, "code": "RECEIPT2", "items": body["items"][:1]},
                        format="json")
    assert one_item.status_code == 400 and "items" in one_item.json()["error"]["details"]
    assert "RECEIPT2" not in dealer.pending  # refused before any dealer call
