"""Every flow node type and handle, run by the real worker and timer pump."""

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from journeys.enrollments import enrollments_create
from journeys.nodes.split import SplitNode
from journeys.nodes.wait import next_local_time
from tests.engine.helpers import (
    chain,
    customers,
    edge,
    enrollment,
    history,
    node,
    passed,
    published,
    seconds,
    send_events,
    wait_state,
)


def test_branch_takes_the_first_matching_group_else_else(workspace, engine):
    graph = {
        "nodes": [
            node("start", "start"),
            node("b", "branch", {"groups": [
                {"id": "pro", "name": "Pro", "condition": {"attribute": "plan", "op": "eq", "value": "pro"}},
                {"id": "paid", "name": "Paid", "condition": {"attribute": "plan", "op": "in", "value": ["pro", "team"]}},
            ]}),
            node("end", "exit"),
        ],
        "edges": [edge("start", "next", "b"), edge("b", "pro", "end"), edge("b", "paid", "end")],
    }
    journey = published(workspace, graph)
    pro, team, free = customers(workspace, 3)
    for c, plan in ((pro, "pro"), (team, "team"), (free, "free")):
        c.attributes = {"plan": plan}
        c.save()
    enrollments_create(journey=journey, customer_ids=[pro.id, team.id, free.id])
    for c, handle in ((pro, "pro"), (team, "paid"), (free, "else")):
        e = wait_state(journey, c, "completed")
        assert ("b", handle) in passed(e)
    # `else` is unconnected: the journey ends there (completed), never reaching the exit node.
    assert ("end", "completed", "") not in history(enrollment(journey, free))


def test_event_branch_yes_and_no(workspace, engine):
    graph = chain(node("start", "start"), node("eb", "event_branch", {"event": "purchase", "within": {"value": 1, "unit": "hours"}}))
    journey = published(workspace, graph)
    buyer, browser = customers(workspace, 2)
    send_events(workspace, {"customer_id": buyer.external_id, "name": "purchase", "properties": {"amount": 5}})
    enrollments_create(journey=journey, customer_ids=[buyer.id, browser.id])
    assert ("eb", "yes") in passed(wait_state(journey, buyer, "completed"))
    assert ("eb", "no") in passed(wait_state(journey, browser, "completed"))


def test_event_branch_since_entry_ignores_earlier_events(workspace, engine):
    graph = chain(
        node("start", "start"),
        node("w", "wait", {"mode": "duration", "duration": seconds(1)}),
        node("eb", "event_branch", {"event": "purchase", "within": "since_entry"}),
    )
    journey = published(workspace, graph)
    early, late = customers(workspace, 2)
    send_events(workspace, {"customer_id": early.external_id, "name": "purchase"})
    enrollments_create(journey=journey, customer_ids=[early.id, late.id])
    wait_state(journey, late, "waiting")
    send_events(workspace, {"customer_id": late.external_id, "name": "purchase"})
    assert ("eb", "yes") in passed(wait_state(journey, late, "completed"))
    assert ("eb", "no") in passed(wait_state(journey, early, "completed"))


def test_split_is_sticky_and_proportional():
    split = SplitNode()
    config = {"paths": [{"id": "a", "name": "A", "percent": 20}, {"id": "b", "name": "B", "percent": 80}]}

    def path_of(customer_id):
        ctx = SimpleNamespace(journey_id=7, node_id="s", customer_id=customer_id, config=config)
        return split.execute(ctx).handle

    taken = [path_of(i) for i in range(10_000)]
    # 20% of 10,000: binomial sd = 40, so ±200 is five standard deviations.
    assert abs(taken.count("a") - 2000) < 200
    assert taken[:100] == [path_of(i) for i in range(100)]  # sticky


def test_split_through_the_engine(workspace, engine):
    graph = chain(node("start", "start"), node("s", "split", {"paths": [
        {"id": "a", "name": "A", "percent": 50}, {"id": "b", "name": "B", "percent": 50}]}))
    journey = published(workspace, graph)
    people = customers(workspace, 40)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    handles = [passed(wait_state(journey, c, "completed"))[-1][1] for c in people]
    assert set(handles) == {"a", "b"}


def test_update_profile_sets_liquid_unsets_and_tags(workspace, engine):
    graph = chain(
        node("start", "start"),
        node("u", "update_profile", {
            "set": {"greeting": "Hello {{ customer.first_name | default: 'there' }} from {{ journey.name }}", "score": 10},
            "unset": ["old"],
            "add_tags": ["vip", "new"],
            "remove_tags": ["lead"],
        }),
        node("end", "exit"),
    )
    journey = published(workspace, graph, name="Welcome")
    (c,) = customers(workspace, attributes={"first_name": "Ada", "old": 1, "keep": True}, tags=["lead", "x"])
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "completed")
    c.refresh_from_db()
    assert c.attributes == {"first_name": "Ada", "keep": True, "greeting": "Hello Ada from Welcome", "score": 10}
    assert sorted(c.tags) == ["new", "vip", "x"]


def test_wait_duration_then_exit_node(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}), node("end", "exit"))
    journey = published(workspace, graph)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    waiting = wait_state(journey, c, "waiting")
    assert waiting.node_id == "w" and waiting.wake_at is not None
    done = wait_state(journey, c, "completed")
    assert done.finished_at >= waiting.wake_at
    assert [k for n, k, _ in history(done) if n == "end"] == ["arrived", "completed"]


def test_wait_for_event_takes_event_or_timeout(workspace, engine):
    graph = chain(
        node("start", "start"),
        node("w", "wait", {"mode": "event", "event": "paid", "where": [{"property": "amount", "op": "gte", "value": 10}],
                           "timeout": seconds(2)}),
    )
    journey = published(workspace, graph)
    payer, idle = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[payer.id, idle.id])
    wait_state(journey, payer, "waiting")
    send_events(workspace, {"customer_id": payer.external_id, "name": "paid", "properties": {"amount": 3}})  # filtered out
    send_events(workspace, {"customer_id": payer.external_id, "name": "paid", "properties": {"amount": 30}})
    e = wait_state(journey, payer, "completed", timeout=1.8)  # before the 2 s timeout
    assert ("w", "event") in passed(e)
    assert ("w", "timeout") in passed(wait_state(journey, idle, "completed"))


def test_wait_until_time_of_day_in_customer_timezone():
    tz = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # Friday 10:00 in New York
    assert next_local_time(now, tz, "09:00", None) == datetime(2026, 11, 21, 9, 0, tzinfo=tz)
    assert next_local_time(now, tz, "11:30", None) == datetime(2026, 11, 20, 11, 30, tzinfo=tz)
    assert next_local_time(now, tz, "09:00", ["mon"]) == datetime(2026, 11, 23, 9, 0, tzinfo=tz)


def test_wait_until_parks_until_the_local_time(workspace, engine):
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "until", "time": "09:00", "days": ["wed"]}))
    journey = published(workspace, graph)
    (c,) = customers(workspace, timezone="Asia/Tokyo")
    enrollments_create(journey=journey, customer_ids=[c.id])
    e = wait_state(journey, c, "waiting")
    local = e.wake_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute, local.weekday()) == (9, 0, 2)


def test_unknown_customer_timezone_falls_back_to_workspace(workspace, engine):
    workspace.timezone = "Europe/Paris"
    workspace.save()
    graph = chain(node("start", "start"), node("w", "wait", {"mode": "until", "time": "07:15"}))
    journey = published(workspace, graph)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    e = wait_state(journey, c, "waiting")
    local = e.wake_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (7, 15)
