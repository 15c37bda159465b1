"""Every entry type, the audience filter, the entry window, re-entry policies and holdout."""

from datetime import UTC, datetime, timedelta

from audiences.models import CustomerList, ListMember, Segment
from journeys.engine import stable_bucket
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from journeys.triggers import date_attribute_entries, segment_entries_recurring
from tests.conftest import wait_for
from tests.engine.helpers import (
    chain,
    customers,
    enrollment,
    node,
    published,
    seconds,
    send_events,
    wait_state,
)

SHORT = chain(node("start", "start"), node("end", "exit"))


def live_count(journey) -> int:
    return Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey).count()


def test_event_trigger_with_property_filter_carries_the_event(workspace, engine):
    graph = chain(node("start", "start"), node("u", "update_profile", {"set": {"last_item": "{{ event.item }}"}}))
    journey = published(workspace, graph, {"entry": {"type": "event", "events": [
        {"name": "cart_abandoned", "where": [{"property": "value", "op": "gte", "value": 50}]},
        {"name": "wishlist"},
    ]}})
    send_events(
        workspace,
        {"customer_id": "small", "name": "cart_abandoned", "properties": {"value": 5, "item": "pen"}},
        {"customer_id": "big", "name": "cart_abandoned", "properties": {"value": 500, "item": "sofa"}},
        {"customer_id": "wish", "name": "wishlist", "properties": {"item": "lamp"}},
        {"customer_id": "other", "name": "page_view"},
    )
    from audiences.models import Customer

    people = {c.external_id: c for c in Customer.objects.for_workspace(workspace)}
    for ext, item in (("big", "sofa"), ("wish", "lamp")):
        e = wait_state(journey, people[ext], "completed")
        assert e.context["event"]["item"] == item
        people[ext].refresh_from_db()
        assert people[ext].attributes["last_item"] == item
    assert enrollment(journey, people["small"]) is None
    assert enrollment(journey, people["other"]) is None


def test_segment_entry_once_at_start_and_recurring(workspace, engine):
    vip, plain = customers(workspace, 2)
    vip.attributes = {"vip": True}
    vip.save()
    segment = Segment.objects.unscoped().create(
        workspace=workspace, name="VIPs", condition={"attribute": "vip", "op": "eq", "value": True}
    )
    journey = published(workspace, SHORT, {"entry": {"type": "segment", "segment_id": segment.id, "recurring": True},
                                           "re_entry": {"policy": "always"}})
    wait_state(journey, vip, "completed")
    assert enrollment(journey, plain) is None
    plain.attributes = {"vip": True}
    plain.save()
    segment_entries_recurring()  # the beat task's body
    wait_state(journey, plain, "completed")
    assert live_count(journey) == 3  # vip re-entered too: policy always


def test_list_and_all_entries(workspace, engine):
    a, b, c = customers(workspace, 3)
    vip_list = CustomerList.objects.unscoped().create(workspace=workspace, name="L")
    ListMember.objects.unscoped().create(workspace=workspace, customer_list=vip_list, customer=a)
    by_list = published(workspace, SHORT, {"entry": {"type": "list", "list_id": vip_list.id}}, name="by list")
    everyone = published(workspace, SHORT, {"entry": {"type": "all"}}, name="everyone")
    wait_state(by_list, a, "completed")
    for person in (a, b, c):
        wait_state(everyone, person, "completed")
    assert live_count(by_list) == 1


def test_api_only_journey_ignores_events(workspace, engine):
    journey = published(workspace, SHORT, {"entry": {"type": "api"}})
    (c,) = customers(workspace)
    send_events(workspace, {"customer_id": c.external_id, "name": "anything"})
    assert enrollments_create(journey=journey, customer_ids=[c.id]).enrolled == 1
    wait_state(journey, c, "completed")
    assert live_count(journey) == 1


def test_audience_filter_and_window(workspace, db):
    journey = published(workspace, SHORT, {"audience": {"attribute": "country", "op": "eq", "value": "NZ"}})
    kiwi, other = customers(workspace, 2)
    kiwi.attributes = {"country": "NZ"}
    kiwi.save()
    result = enrollments_create(journey=journey, customer_ids=[kiwi.id, other.id])
    assert (result.enrolled, result.skipped) == (1, 1)

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    closed = published(workspace, SHORT, {"window": {"start_at": future}}, name="later")
    assert enrollments_create(journey=closed, customer_ids=[kiwi.id]).enrolled == 0


def test_re_entry_policies(workspace, db):
    (c,) = customers(workspace)
    never = published(workspace, SHORT, {"re_entry": {"policy": "never"}}, name="never")
    always = published(workspace, SHORT, {"re_entry": {"policy": "always"}}, name="always")
    after = published(workspace, SHORT, {"re_entry": {"policy": "after", "cooldown": seconds(1)}}, name="after")
    for journey in (never, always, after):
        assert enrollments_create(journey=journey, customer_ids=[c.id]).enrolled == 1
        # one live enrollment per customer and journey, whatever the policy
        assert enrollments_create(journey=journey, customer_ids=[c.id]).enrolled == 0
        Enrollment.objects.for_workspace(workspace).filter(journey=journey).update(state="completed")
    assert enrollments_create(journey=never, customer_ids=[c.id]).enrolled == 0
    assert enrollments_create(journey=always, customer_ids=[c.id]).enrolled == 1
    assert enrollments_create(journey=after, customer_ids=[c.id]).enrolled == 0  # inside the cooldown
    later = datetime.now(UTC) + timedelta(seconds=2)
    assert enrollments_create(journey=after, customer_ids=[c.id], now=later).enrolled == 1


def test_holdout_is_sticky_and_near_its_percent(workspace, db):
    journey = published(workspace, SHORT, {"holdout": {"percent": 10}})
    people = customers(workspace, 2000)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    held = set(
        Enrollment.objects.for_workspace(workspace).filter(journey=journey, holdout=True).values_list("customer_id", flat=True)
    )
    assert 120 < len(held) < 280  # 10% of 2,000 = 200, sd ≈ 13
    assert held == {c.id for c in people if stable_bucket("holdout", journey.id, c.id) < 1000}


def test_date_attribute_entry_parks_until_local_time_once_a_year(workspace, engine):
    journey = published(workspace, SHORT, {"entry": {"type": "date_attribute", "attribute": "birthday",
                                                     "offset_days": -1, "time": "09:00"}})
    (c,) = customers(workspace, timezone="Pacific/Auckland", attributes={"birthday": "1990-06-16"})
    (other,) = customers(workspace, prefix="o", attributes={"birthday": "1990-01-01"})
    now = datetime(2026, 6, 14, 12, 0, tzinfo=UTC)  # 15 June 00:00 in Auckland; the day before the birthday
    assert date_attribute_entries(now=now).enrolled == 1
    e = enrollment(journey, c)
    assert e.state == "waiting" and e.wait == {"entry": True}
    assert e.wake_at == datetime(2026, 6, 14, 21, 0, tzinfo=UTC)  # 15 June 09:00 NZST
    assert enrollment(journey, other) is None
    assert date_attribute_entries(now=now + timedelta(hours=1)).enrolled == 0  # once per occurrence


def test_parked_date_entry_starts_when_its_timer_fires(workspace, engine):
    journey = published(workspace, SHORT, {"entry": {"type": "date_attribute", "attribute": "birthday", "time": "09:00"}})
    (c,) = customers(workspace, attributes={"birthday": "2000-03-04"})
    start = datetime.now(UTC) + timedelta(seconds=1)
    enrollments_create(journey=journey, customer_ids=[c.id], start_at={c.id: start})
    assert enrollment(journey, c).state == "waiting"
    done = wait_state(journey, c, "completed")
    assert done.finished_at >= start
    wait_for(lambda: done.finished_at is not None)
