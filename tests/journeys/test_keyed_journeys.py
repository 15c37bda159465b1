"""Keyed journeys (API.md "Keyed journeys, date waits, hand-offs, tags") through a real worker:
an event entry with a key runs one pass per key value per customer, concurrently; a `same_key`
exit condition ends only the pass whose key the event carries; the enrollments API filters by
customer and key."""

from __future__ import annotations

import pytest

from journeys.models import Enrollment
from journeys.settings_schema import settings_validate
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, edge, node, published, send_events

pytestmark = pytest.mark.django_db(transaction=True)
LONG_WAIT = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}))
CART_SETTINGS = {
    "entry": {"type": "event", "events": [{"name": "cart_updated"}], "key": {"property": "cart_id"}},
    "re_entry": {"policy": "never"},
    "exit_conditions": [{"event": "purchase", "same_key": True}],
}


def passes(journey) -> dict[str, str]:
    rows = Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey)
    return dict(rows.values_list("key", "state"))


def open_carts(workspace, journey, shopper, *keys: str) -> None:
    send_events(
        workspace,
        *({"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": k}} for k in keys),
    )
    wait_for(lambda: passes(journey) == dict.fromkeys(keys, "waiting"), timeout=20)


def test_two_carts_run_apart_and_a_purchase_exits_only_its_own(api, workspace, celery_worker):
    journey = published(workspace, LONG_WAIT, CART_SETTINGS, name="Cart recovery")
    shopper, other = customers(workspace, 2)
    send_events(
        workspace,
        {"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": "A"}},
        {"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": 7}},
        {"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": "A"}},
        {"customer_id": shopper.external_id, "name": "cart_updated", "properties": {}},  # no key: no pass
        {"customer_id": other.external_id, "name": "cart_updated", "properties": {"cart_id": "A"}},
    )
    wait_for(lambda: passes(journey) == {"A": "waiting", "7": "waiting"}, timeout=20)
    assert Enrollment.objects.for_workspace(workspace).filter(journey=journey, customer=other).count() == 1

    send_events(workspace, {"customer_id": shopper.external_id, "name": "purchase", "properties": {"cart_id": 7}})
    wait_for(lambda: passes(journey) == {"A": "waiting", "7": "exited"}, timeout=20)
    assert Enrollment.objects.for_workspace(workspace).get(journey=journey, customer=other).state == "waiting"

    url = f"/api/v1/journeys/{journey.pk}/enrollments"
    listed = api.get(f"{url}?customer_id={shopper.external_id}").json()["results"]
    assert sorted((e["key"], e["state"]) for e in listed) == [("7", "exited"), ("A", "waiting")]
    only = api.get(f"{url}?customer_id={shopper.external_id}&key=A").json()["results"]
    assert [(e["key"], e["state"], e["customer_id"]) for e in only] == [("A", "waiting", shopper.external_id)]
    one = api.get(f"{url}/{shopper.external_id}?key=7").json()
    assert (one["key"], one["state"], one["exit_reason"]) == ("7", "exited", "exit_condition")
    assert api.get(f"{url}/{shopper.external_id}?key=nope").status_code == 404

    # never re-enter applies per key: cart 7 does not start again, a new cart does
    send_events(
        workspace,
        {"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": 7}},
        {"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": "B"}},
    )
    wait_for(lambda: passes(journey) == {"A": "waiting", "7": "exited", "B": "waiting"}, timeout=20)
    assert Enrollment.objects.for_workspace(workspace).filter(journey=journey, customer=shopper).count() == 3


def test_a_purchase_without_same_key_exits_every_cart(workspace, celery_worker):
    settings = {**CART_SETTINGS, "exit_conditions": [{"event": "purchase"}]}
    journey = published(workspace, LONG_WAIT, settings, name="Cart recovery")
    (shopper,) = customers(workspace, 1)
    open_carts(workspace, journey, shopper, "A", "B")
    send_events(workspace, {"customer_id": shopper.external_id, "name": "purchase", "properties": {"cart_id": "A"}})
    wait_for(lambda: passes(journey) == {"A": "exited", "B": "exited"}, timeout=20)


@pytest.mark.parametrize(
    "journey_settings,field",
    [
        ({"entry": {"type": "event", "events": [{"name": "x"}], "key": "cart_id"}}, "settings.entry.key"),
        ({"entry": {"type": "event", "events": [{"name": "x"}], "key": {"property": ""}}}, "settings.entry.key.property"),
        (
            {"entry": {"type": "api"}, "exit_conditions": [{"event": "purchase", "same_key": True}]},
            "settings.exit_conditions.0.same_key",
        ),
        ({**CART_SETTINGS, "exit_conditions": [{"event": "purchase", "same_key": "yes"}]}, "settings.exit_conditions.0.same_key"),
    ],
)
def test_bad_keys_are_named(workspace, journey_settings, field):
    assert field in {e.field for e in settings_validate(settings=journey_settings, workspace=workspace)}


def test_a_good_keyed_setting_is_valid(workspace):
    assert settings_validate(settings=CART_SETTINGS, workspace=workspace) == []


def test_messages_record_the_key_and_liquid_reads_it(workspace, celery_worker):
    from channels_app.models import Message

    graph = chain(
        node("start", "start"),
        node("msg", "message", {"channel": "in_app", "content": {"title": "Your cart", "body": "Cart {{ enrollment.key }}"}}),
        node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}),
    )
    journey = published(workspace, graph, CART_SETTINGS, name="Cart recovery")
    (shopper,) = customers(workspace, 1)
    open_carts(workspace, journey, shopper, "A", "B")
    sent = Message.objects.for_workspace(workspace).filter(journey_id=journey.pk)
    assert sorted((m.key, m.content["body"]) for m in sent) == [("A", "Cart A"), ("B", "Cart B")]


def test_same_key_event_waits_and_branches_read_only_their_own_cart(workspace, celery_worker):
    graph = {
        "nodes": [
            node("start", "start"),
            node("viewed", "event_branch", {"event": "viewed_cart", "within": {"value": 1, "unit": "days"}, "same_key": True}),
            node("w", "wait", {"mode": "event", "event": "purchase", "timeout": {"value": 1, "unit": "days"}, "same_key": True}),
            node("bought", "exit"),
            node("never_viewed", "exit"),
        ],
        "edges": [
            edge("start", "next", "viewed"),
            edge("viewed", "yes", "w"),
            edge("viewed", "no", "never_viewed"),
            edge("w", "event", "bought"),
        ],
    }
    journey = published(workspace, graph, {**CART_SETTINGS, "exit_conditions": []}, name="Cart recovery")
    (shopper,) = customers(workspace, 1)
    send_events(workspace, *({"customer_id": shopper.external_id, "name": "viewed_cart", "properties": {"cart_id": k}} for k in (1, "B")))
    send_events(
        workspace,
        *({"customer_id": shopper.external_id, "name": "cart_updated", "properties": {"cart_id": k}} for k in ("1", "B", "C")),
    )
    rows = Enrollment.objects.for_workspace(workspace).filter(journey=journey)
    wait_for(lambda: dict(rows.values_list("key", "node_id")) == {"1": "w", "B": "w", "C": "never_viewed"}, timeout=20)

    send_events(workspace, {"customer_id": shopper.external_id, "name": "purchase", "properties": {"cart_id": 1}})
    wait_for(lambda: dict(rows.values_list("key", "state")) == {"1": "completed", "B": "waiting", "C": "completed"}, timeout=20)
    assert rows.get(key="1").node_id == "bought"


def test_a_same_key_goal_converts_only_the_pass_of_its_cart(workspace, celery_worker):
    goal = {"id": "bought", "name": "Bought", "condition": {"event": "purchase"}, "same_key": True}
    journey = published(workspace, LONG_WAIT, {**CART_SETTINGS, "exit_conditions": [], "goals": [goal]}, name="Cart recovery")
    (shopper,) = customers(workspace, 1)
    open_carts(workspace, journey, shopper, "A", "B")
    send_events(workspace, {"customer_id": shopper.external_id, "name": "purchase", "properties": {"cart_id": "B"}})
    rows = Enrollment.objects.for_workspace(workspace).filter(journey=journey)
    wait_for(lambda: [g["id"] for g in rows.get(key="B").goals] == ["bought"], timeout=20)
    assert rows.get(key="A").goals == []


def test_a_batch_of_carts_enters_in_one_write_per_cart_of_a_shopper(workspace, celery_worker, monkeypatch):
    # Forty carts of twenty shoppers in one batch: two INSERTs of twenty passes (each shopper's first
    # cart, then their second), not one per cart, which held a keyed journey to a few hundred runs/s.
    from journeys import enrollments

    journey = published(workspace, LONG_WAIT, CART_SETTINGS, name="Cart recovery")
    shoppers = customers(workspace, 20)
    writes: list[int] = []
    real_insert = enrollments._insert

    def counted(**kwargs):
        if kwargs["journey"].pk == journey.pk:
            writes.append(len(kwargs["customer_ids"]))
        return real_insert(**kwargs)

    monkeypatch.setattr(enrollments, "_insert", counted)
    send_events(
        workspace,
        *(
            {"customer_id": s.external_id, "name": "cart_updated", "properties": {"cart_id": f"{s.external_id}-{n}"}}
            for n in (1, 2)
            for s in shoppers
        ),
    )
    expected = {f"{s.external_id}-{n}": "waiting" for n in (1, 2) for s in shoppers}
    wait_for(lambda: passes(journey) == expected, timeout=20)
    assert writes == [20, 20]


def test_the_purchase_that_exits_a_cart_also_converts_that_carts_goal(workspace, celery_worker):
    goal = {"id": "bought", "name": "Bought", "condition": {"event": "purchase", "within": "since_entry"}, "same_key": True}
    journey = published(workspace, LONG_WAIT, {**CART_SETTINGS, "goals": [goal]}, name="Cart recovery")
    (shopper,) = customers(workspace, 1)
    open_carts(workspace, journey, shopper, "A", "B")
    send_events(workspace, {"customer_id": shopper.external_id, "name": "purchase", "properties": {"cart_id": "B"}})
    wait_for(lambda: passes(journey) == {"A": "waiting", "B": "exited"}, timeout=20)
    rows = Enrollment.objects.for_workspace(workspace).filter(journey=journey)
    bought = rows.get(key="B")
    assert (bought.exit_reason, [g["id"] for g in bought.goals]) == ("exit_condition", ["bought"])
    assert rows.get(key="A").goals == []
