"""The condition language: validation messages, Python evaluation, SQL compilation, and a
property-based check that evaluate() and customers_matching() always agree."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from audiences.conditions import (
    CustomerFacts,
    customers_matching,
    evaluate,
    event_matches,
    facts_for,
    validate_condition,
)
from audiences.models import Customer

from .factories import (
    CustomerFactory,
    CustomerListFactory,
    EventFactory,
    ListMemberFactory,
    SegmentFactory,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def fields(errors):
    return {e.field: e.message for e in errors}


# ---- validation ---------------------------------------------------------------------------
def test_unknown_op_is_named_with_its_path():
    errors = fields(validate_condition({"all": [{"attribute": "plan", "op": "eq", "value": 1}, {"attribute": "plan", "op": "resembles", "value": 1}]}))
    assert list(errors) == ["all.1.op"]
    assert "resembles" in errors["all.1.op"]


def test_unknown_field_and_malformed_trees():
    assert "all.0.colour" in fields(validate_condition({"all": [{"attribute": "a", "op": "exists", "colour": 1}]}))
    assert "" in fields(validate_condition({"attribute": "a", "event": "b", "op": "exists"}))
    assert "" in fields(validate_condition([1, 2]))
    assert "any" in fields(validate_condition({"any": {"attribute": "a"}}))
    assert "frobnicate" in fields(validate_condition({"frobnicate": 1}))
    assert "not.value" in fields(validate_condition({"not": {"attribute": "age", "op": "gt", "value": "ten"}}))
    assert "within.unit" in fields(validate_condition({"event": "x", "within": {"value": 3, "unit": "fortnights"}}))
    assert "where.0.op" in fields(validate_condition({"event": "x", "where": [{"property": "p", "op": "nope", "value": 1}]}))
    assert "count.value" in fields(validate_condition({"event": "x", "count": {"op": "gte", "value": -1}}))
    assert "value" in fields(validate_condition({"attribute": "signup", "op": "before", "value": "last tuesday"}))
    assert "op" in fields(validate_condition({"attribute": "created_at", "op": "eq", "value": "x"}))


def test_nesting_and_size_are_bounded():
    deep = {"attribute": "a", "op": "exists"}
    for _ in range(40):
        deep = {"not": deep}
    assert any("nest" in e.message for e in validate_condition(deep))
    wide = {"any": [{"attribute": "a", "op": "exists"}] * 1500}
    assert any("at most" in e.message for e in validate_condition(wide))


def test_since_entry_only_inside_a_journey():
    condition = {"event": "purchase", "within": "since_entry"}
    assert fields(validate_condition(condition)) == {"within": '"since_entry" is only valid inside a journey.'}
    assert validate_condition(condition, in_journey=True) == []


def test_validate_never_raises_on_junk():
    for junk in (None, 3, "x", {"all": None}, {"event": None, "count": "x"}, {"attribute": 5}, {"list": "a"}, {"segment": True}):
        assert validate_condition(junk)


def test_references_must_exist_in_the_workspace(workspace, other_workspace):
    mine, theirs = CustomerListFactory(workspace=workspace), CustomerListFactory(workspace=other_workspace)
    foreign_segment = SegmentFactory(workspace=other_workspace)
    assert validate_condition({"list": mine.pk}, workspace=workspace) == []
    errors = fields(validate_condition({"any": [{"list": theirs.pk}, {"segment": foreign_segment.pk}]}, workspace=workspace))
    assert errors == {"any.0.list": f"List {theirs.pk} does not exist.", "any.1.segment": f"Segment {foreign_segment.pk} does not exist."}


# ---- evaluation and SQL on hand-picked cases ----------------------------------------------
def both(workspace, condition, customer):
    """(python, sql) verdicts for one customer."""
    facts = facts_for(workspace_id=workspace.pk, customers=[customer], conditions=[condition])[customer.pk]
    in_sql = customers_matching(workspace_id=workspace.pk, condition=condition, now=NOW).filter(pk=customer.pk).exists()
    return evaluate(condition, facts, now=NOW), in_sql


@pytest.mark.django_db
@pytest.mark.parametrize(
    "condition,expected",
    [
        ({"attribute": "plan", "op": "eq", "value": "pro"}, True),
        ({"attribute": "age", "op": "gte", "value": 30}, True),
        ({"attribute": "age", "op": "eq", "value": 31.0}, True),  # numbers compare as numbers
        ({"attribute": "age", "op": "eq", "value": "31"}, False),  # never across types
        ({"attribute": "plan", "op": "gt", "value": 1}, False),
        ({"attribute": "missing", "op": "neq", "value": 1}, True),
        ({"attribute": "missing", "op": "not_exists"}, True),
        ({"attribute": "address.city", "op": "starts_with", "value": "Par"}, True),
        ({"attribute": "signup", "op": "after", "value": "2025-01-01"}, True),
        ({"attribute": "signup", "op": "within_last", "value": {"value": 30, "unit": "days"}}, True),
        ({"attribute": "signup", "op": "within_last", "value": {"value": 1, "unit": "days"}}, False),
        ({"attribute": "colours", "op": "contains", "value": "red"}, True),
        ({"attribute": "email", "op": "contains", "value": "@example"}, True),
        ({"attribute": "tags", "op": "contains", "value": "vip"}, True),
        ({"attribute": "tags", "op": "not_contains", "value": "churned"}, True),
        ({"attribute": "created_at", "op": "before", "value": "2025-05-01T00:00:00Z"}, True),
        ({"attribute": "plan", "op": "in", "value": ["free", "pro"]}, True),
        ({"event": "purchase", "where": [{"property": "amount", "op": "gte", "value": 50}]}, True),
        ({"event": "purchase", "count": {"op": "gte", "value": 3}}, False),
        ({"event": "purchase", "count": {"op": "eq", "value": 2}}, True),
        ({"event": "purchase", "within": {"value": 2, "unit": "days"}}, False),
        ({"event": "refund", "count": {"op": "eq", "value": 0}}, True),
        ({"not": {"all": [{"attribute": "plan", "op": "eq", "value": "pro"}, {"attribute": "age", "op": "lt", "value": 18}]}}, True),
        ({"any": []}, False),
        ({"all": []}, True),
        # An empty text field is missing: "" neither equals, prefixes nor is contained in it.
        ({"attribute": "locale", "op": "starts_with", "value": ""}, False),
        ({"attribute": "locale", "op": "contains", "value": ""}, False),
        ({"attribute": "locale", "op": "eq", "value": ""}, False),
        ({"attribute": "locale", "op": "neq", "value": ""}, True),
    ],
)
def test_python_and_sql_agree_on_examples(workspace, condition, expected):
    customer = CustomerFactory(
        workspace=workspace,
        email="ana@example.com",
        tags=["vip"],
        created_at=datetime(2025, 1, 2, tzinfo=UTC),
        attributes={"plan": "pro", "age": 31, "address": {"city": "Paris"}, "signup": "2025-05-20T10:00:00+02:00", "colours": ["red", "blue"]},
    )
    EventFactory(customer=customer, occurred_at=NOW - timedelta(days=10), properties={"amount": 80})
    EventFactory(customer=customer, occurred_at=NOW - timedelta(days=5), properties={"amount": 20})
    assert both(workspace, condition, customer) == (expected, expected)


@pytest.mark.django_db
def test_lists_and_nested_segments(workspace):
    ana, bob = CustomerFactory(workspace=workspace, attributes={"plan": "pro"}), CustomerFactory(workspace=workspace)
    vip = CustomerListFactory(workspace=workspace)
    ListMemberFactory(customer_list=vip, customer=bob)
    pro = SegmentFactory(workspace=workspace, condition={"attribute": "plan", "op": "eq", "value": "pro"})
    outer = SegmentFactory(workspace=workspace, condition={"any": [{"segment": pro.pk}, {"list": vip.pk}]})
    condition = {"segment": outer.pk}
    assert both(workspace, condition, ana) == (True, True)
    assert both(workspace, condition, bob) == (True, True)
    assert both(workspace, {"not": {"list": vip.pk}}, bob) == (False, False)


@pytest.mark.django_db
def test_segment_cycles_match_nobody_and_do_not_hang(workspace):
    customer = CustomerFactory(workspace=workspace)
    a = SegmentFactory(workspace=workspace, condition={"all": []})
    b = SegmentFactory(workspace=workspace, condition={"segment": a.pk})
    a.condition = {"segment": b.pk}
    a.save()
    assert both(workspace, {"segment": a.pk}, customer) == (False, False)
    assert any("refers back" in e.message for e in validate_condition({"segment": a.pk}, workspace=workspace))


@pytest.mark.django_db
def test_since_entry_uses_the_entry_time(workspace):
    customer = CustomerFactory(workspace=workspace)
    EventFactory(customer=customer, occurred_at=NOW - timedelta(hours=3))
    condition = {"event": "purchase", "within": "since_entry"}
    early = facts_for(workspace_id=workspace.pk, customers=[customer], conditions=[condition], entered_at={customer.pk: NOW - timedelta(hours=5)})
    late = facts_for(workspace_id=workspace.pk, customers=[customer], conditions=[condition], entered_at={customer.pk: NOW - timedelta(hours=1)})
    assert evaluate(condition, early[customer.pk], now=NOW) is True
    assert evaluate(condition, late[customer.pk], now=NOW) is False


@pytest.mark.django_db
def test_since_entry_given_now_loads_from_the_batchs_earliest_entry(workspace):
    """Told `now`, a batch loads a since-entry clause's events from its earliest entry on; a
    customer of the batch without an entry time makes it load them all."""
    first, second, outside = (CustomerFactory(workspace=workspace) for _ in range(3))
    for c in (first, second):
        for hours in (2, 6, 30):
            EventFactory(customer=c, name="purchase", occurred_at=NOW - timedelta(hours=hours))
    condition = {"event": "purchase", "within": "since_entry", "count": {"op": "gte", "value": 2}}
    entered = {first.pk: NOW - timedelta(hours=10), second.pk: NOW - timedelta(hours=3), outside.pk: NOW - timedelta(days=9)}
    facts = facts_for(workspace_id=workspace.pk, customers=[first, second], conditions=[condition], entered_at=entered, now=NOW)
    assert [len(facts[c.pk].events) for c in (first, second)] == [2, 2]  # since 10 hours ago, not 9 days
    assert [facts[c.pk].entered_at for c in (first, second)] == [entered[first.pk], entered[second.pk]]
    assert [evaluate(condition, facts[c.pk], now=NOW) for c in (first, second)] == [True, False]
    entered.pop(second.pk)
    facts = facts_for(workspace_id=workspace.pk, customers=[first, second], conditions=[condition], entered_at=entered, now=NOW)
    assert [len(facts[c.pk].events) for c in (first, second)] == [3, 3]
    assert evaluate(condition, facts[first.pk], now=NOW) is True


@pytest.mark.django_db
def test_events_dated_ahead_of_now_count_in_a_batchs_window(workspace):
    """A window counts every event since its start, one dated ahead of now too (a client's clock):
    the batch reads those apart from the months up to now, with the same answers as the walk."""
    now = timezone.now()
    ahead, today, other = (CustomerFactory(workspace=workspace) for _ in range(3))
    EventFactory(customer=ahead, name="purchase", occurred_at=now - timedelta(days=2), properties={"amount": 5})
    EventFactory(customer=ahead, name="purchase", occurred_at=now + timedelta(days=3), properties={"amount": 70})
    EventFactory(customer=ahead, name="purchase", occurred_at=now + timedelta(days=400), properties={"amount": 80})
    EventFactory(customer=today, name="purchase", occurred_at=now - timedelta(hours=1), properties={"amount": 90})
    EventFactory(customer=other, name="purchase", occurred_at=now + timedelta(days=3))  # not in the batch
    window = {"value": 30, "unit": "days"}
    for condition, expected in (
        ({"event": "purchase", "within": window, "count": {"op": "eq", "value": 3}}, {ahead}),
        ({"event": "purchase", "within": window, "where": [{"property": "amount", "op": "gte", "value": 60}], "count": {"op": "gte", "value": 2}}, {ahead}),
        ({"event": "purchase", "within": window, "count": {"op": "eq", "value": 1}}, {today}),
    ):
        facts = facts_for(workspace_id=workspace.pk, customers=[ahead, today], conditions=[condition], now=now)
        assert [e.occurred_at for e in facts[ahead.pk].events] == sorted(e.occurred_at for e in facts[ahead.pk].events)
        assert {c for c in (ahead, today) if evaluate(condition, facts[c.pk], now=now)} == expected
        assert {c for c in (ahead, today) if evaluate(condition, _walked(facts[c.pk]), now=now)} == expected
        assert set(customers_matching(workspace_id=workspace.pk, condition=condition, now=now)) & {ahead, today} == expected


@pytest.mark.django_db
def test_facts_for_uses_a_fixed_number_of_queries(workspace):
    lst = CustomerListFactory(workspace=workspace)
    segment = SegmentFactory(workspace=workspace, condition={"event": "visit"})
    customers = [CustomerFactory(workspace=workspace) for _ in range(30)]
    for c in customers:
        EventFactory(customer=c, name="purchase")
        EventFactory(customer=c, name="ignored")
    condition = {"any": [{"event": "purchase"}, {"list": lst.pk}, {"segment": segment.pk}]}
    with CaptureQueriesContext(connection) as queries:
        facts = facts_for(workspace_id=workspace.pk, customers=customers, conditions=[condition])
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "set_config" not in q["sql"]]
    assert len(reads) == 3  # segments, events, list members — not per customer
    assert all(len(f.events) == 1 and f.events[0].name == "purchase" for f in facts.values())


@pytest.mark.django_db(transaction=True)
def test_a_batchs_events_load_without_parallel_workers_and_the_setting_comes_back(workspace):
    """The batch's events query scans a window of the workspace index; parallel workers took
    longer to start under load than the scan. The caller's own setting holds before and after."""
    customers = [CustomerFactory(workspace=workspace) for _ in range(3)]
    EventFactory(customer=customers[0], name="purchase", occurred_at=NOW - timedelta(days=1))
    condition = {"event": "purchase", "within": {"value": 30, "unit": "days"}}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL max_parallel_workers_per_gather = 3")
        with CaptureQueriesContext(connection) as queries:
            facts = facts_for(workspace_id=workspace.pk, customers=customers, conditions=[condition], now=NOW)
        cur.execute("SHOW max_parallel_workers_per_gather")
        assert cur.fetchone()[0] == "3"
    assert [len(facts[c.pk].events) for c in customers] == [1, 0, 0]
    sql = [q["sql"] for q in queries]
    events = next(i for i, q in enumerate(sql) if "audiences_event" in q)
    assert "set_config('max_parallel_workers_per_gather', '0', true)" in sql[events - 1]
    assert "set_config('max_parallel_workers_per_gather', '3', true)" in sql[events + 1]
    with connection.cursor() as cur:  # outside any transaction as well
        cur.execute("SHOW max_parallel_workers_per_gather")
        server = cur.fetchone()[0]
        facts_for(workspace_id=workspace.pk, customers=customers, conditions=[condition], now=NOW)
        cur.execute("SHOW max_parallel_workers_per_gather")
        assert cur.fetchone()[0] == server


@pytest.mark.django_db
def test_customers_matching_is_scoped_to_the_workspace(workspace, other_workspace):
    CustomerFactory(workspace=workspace, attributes={"plan": "pro"})
    CustomerFactory(workspace=other_workspace, attributes={"plan": "pro"})
    assert customers_matching(workspace_id=workspace.pk, condition={"attribute": "plan", "op": "eq", "value": "pro"}).count() == 1


def test_event_matches_filters_on_name_and_properties():
    spec = {"name": "purchase", "where": [{"property": "amount", "op": "gte", "value": 50}, {"property": "item.sku", "op": "eq", "value": "A1"}]}
    assert event_matches(spec, "purchase", {"amount": 50, "item": {"sku": "A1"}})
    assert not event_matches(spec, "purchase", {"amount": 49, "item": {"sku": "A1"}})
    assert not event_matches(spec, "refund", {"amount": 50, "item": {"sku": "A1"}})
    assert event_matches({"event": "visit"}, "visit", {})


def test_evaluate_without_the_database_on_plain_facts():
    customer = Customer(workspace_id=1, external_id="x", attributes={"plan": "pro"}, tags=[])
    assert evaluate({"attribute": "plan", "op": "eq", "value": "pro"}, CustomerFacts(customer=customer), now=NOW)


def _walked(facts: CustomerFacts) -> CustomerFacts:
    """The same facts without facts_for's compiled conditions: evaluate() walks the condition."""
    return dataclasses.replace(facts, compiled=None)


@pytest.mark.django_db
def test_a_batch_evaluates_its_conditions_compiled_with_the_walks_answers(workspace):
    """A journey branch evaluates one condition for each customer of a batch: facts_for compiles
    it once, and the compiled form answers as walking the condition does, at any time and with the
    events a goal narrows the facts to."""
    lst = CustomerListFactory(workspace=workspace)
    segment = SegmentFactory(workspace=workspace, condition={"attribute": "age", "op": "gte", "value": 30})
    people = []
    for i, (plan, age, purchases, listed) in enumerate(
        [("pro", 40, [2, 20], False), ("pro", 20, [1, 3, 45], True), ("free", 35, [], False), ("pro", 31, [5], False)]
    ):
        customer = CustomerFactory(workspace=workspace, external_id=f"b{i}", attributes={"plan": plan, "age": age})
        for days_ago in purchases:
            EventFactory(customer=customer, name="purchase", occurred_at=NOW - timedelta(days=days_ago),
                         properties={"amount": 10 * days_ago})
        if listed:
            ListMemberFactory(customer_list=lst, customer=customer)
        people.append(customer)
    condition = {"any": [
        {"all": [
            {"event": "purchase", "count": {"op": "gte", "value": 2}, "within": {"value": 30, "unit": "days"}},
            {"attribute": "plan", "op": "eq", "value": "pro"},
            {"not": {"list": lst.pk}},
        ]},
        {"all": [{"segment": segment.pk}, {"event": "purchase", "where": [{"property": "amount", "op": "gte", "value": 50}]}]},
        {"event": "purchase", "within": "since_entry", "count": {"op": "eq", "value": 1}},
    ]}
    entered = {c.pk: NOW - timedelta(days=4) for c in people}
    facts = facts_for(workspace_id=workspace.pk, customers=people, conditions=[condition], entered_at=entered)
    assert all(id(condition) in facts[c.pk].compiled for c in people)  # the batch's path
    answers = {}
    for at in (NOW, NOW - timedelta(days=3), NOW + timedelta(days=12)):
        for c in people:
            for item in (facts[c.pk], dataclasses.replace(facts[c.pk], events=facts[c.pk].events[-1:])):
                answer = evaluate(condition, item, now=at)
                assert answer == evaluate(condition, _walked(item), now=at), (c.external_id, at)
                answers[c.external_id, at, len(item.events)] = answer
    assert answers["b0", NOW, 2] and answers["b3", NOW, 1]  # two purchases in 30 days; the segment and 50
    assert not answers["b1", NOW, 3] and not answers["b2", NOW, 0]  # on the list; nothing bought
    assert answers["b1", NOW, 1]  # narrowed to its last purchase: exactly one since entry


@pytest.mark.django_db
def test_customers_without_the_clauses_events_take_the_answer_of_a_count_of_zero(workspace):
    """Most of a batch has none of a clause's events: those customers answer as a count of 0 does,
    whichever count the clause asks for, as the walk does."""
    buyer, idle = CustomerFactory(workspace=workspace), CustomerFactory(workspace=workspace)
    EventFactory(customer=buyer, name="purchase", occurred_at=NOW - timedelta(days=1))
    EventFactory(customer=idle, name="visit", occurred_at=NOW - timedelta(days=1))
    for (op, n), expected in {("lt", 1): {idle}, ("eq", 0): {idle}, ("neq", 0): {buyer}, ("gte", 1): {buyer}, ("lte", 3): {buyer, idle}}.items():
        condition = {"all": [{"event": "visit"}, {"not": {"event": "purchase", "within": {"value": 30, "unit": "days"}, "count": {"op": "gt", "value": 5}}},
                             {"event": "purchase", "within": {"value": 30, "unit": "days"}, "count": {"op": op, "value": n}}]}
        condition = {"any": [condition, {"all": [{"event": "purchase", "within": {"value": 30, "unit": "days"}, "count": {"op": op, "value": n}}]}]}
        facts = facts_for(workspace_id=workspace.pk, customers=[buyer, idle], conditions=[condition], now=NOW)
        assert {c for c in (buyer, idle) if evaluate(condition, facts[c.pk], now=NOW)} == expected, (op, n)
        assert {c for c in (buyer, idle) if evaluate(condition, _walked(facts[c.pk]), now=NOW)} == expected, (op, n)


# ---- the property: Python and SQL agree ---------------------------------------------------
KEYS = ["plan", "age", "score", "signup", "flag", "colours", "address"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 60),
    st.sampled_from([0.5, 1.0, 2.5, -1.5, 30.0]),
    st.sampled_from(["pro", "free", "Pro", "", "é-x", "30", "true", "2025-05-20", "2025-02-30", "2025-05-31T23:00:00Z", "2025-05-31 08:00"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.fixed_dictionaries({"city": SCALARS}))
DURATIONS = st.fixed_dictionaries({"value": st.integers(0, 40), "unit": st.sampled_from(["hours", "days", "weeks"])})


def _attribute_leaf():
    path = st.sampled_from([*KEYS, "address.city", "email", "tags", "created_at", "external_id", "locale"])
    op_values = st.one_of(
        st.tuples(st.sampled_from(["eq", "neq", "contains", "not_contains"]), SCALARS.filter(lambda v: v is not None)),
        st.tuples(st.sampled_from(["gt", "gte", "lt", "lte"]), st.one_of(st.integers(-5, 60), st.sampled_from([0.5, 30.0]))),
        st.tuples(st.sampled_from(["in", "not_in"]), st.lists(SCALARS.filter(lambda v: v is not None), min_size=1, max_size=3)),
        st.tuples(st.just("starts_with"), st.sampled_from(["p", "P", "", "é", "2025", "a"])),
        st.tuples(st.sampled_from(["exists", "not_exists"]), st.none()),
        st.tuples(st.sampled_from(["before", "after"]), st.sampled_from(["2025-05-20", "2025-05-31T22:00:00+01:00", "2024-12-31"])),
        st.tuples(st.just("within_last"), DURATIONS),
    )
    return st.builds(lambda p, ov: {"attribute": p, "op": ov[0], **({} if ov[1] is None else {"value": ov[1]})}, path, op_values)


def _event_leaf():
    where = st.lists(
        st.builds(lambda p, ov: {"property": p, "op": ov[0], "value": ov[1]}, st.sampled_from(["amount", "sku"]),
                  st.one_of(st.tuples(st.sampled_from(["gte", "lt"]), st.integers(0, 100)), st.tuples(st.sampled_from(["eq", "neq"]), SCALARS.filter(lambda v: v is not None)))),
        max_size=2,
    )
    count = st.one_of(st.none(), st.fixed_dictionaries({"op": st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), "value": st.integers(0, 3)}))
    within = st.one_of(st.none(), DURATIONS)

    def build(name, where, count, within):
        node = {"event": name}
        if where:
            node["where"] = where
        if count:
            node["count"] = count
        if within:
            node["within"] = within
        return node

    return st.builds(build, st.sampled_from(["purchase", "visit"]), where, count, within)


def conditions(list_id: int, segment_id: int):
    leaves = st.one_of(_attribute_leaf(), _event_leaf(), st.just({"list": list_id}), st.just({"segment": segment_id}))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda c: {"all": c}, st.lists(inner, max_size=3)),
            st.builds(lambda c: {"any": c}, st.lists(inner, max_size=3)),
            st.builds(lambda c: {"not": c}, inner),
        ),
        max_leaves=6,
    )


CUSTOMERS = st.lists(
    st.fixed_dictionaries(
        {
            "attributes": st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5),
            "email": st.sampled_from(["", "pat@example.com", "Pro@x.io"]),
            "tags": st.lists(st.sampled_from(["vip", "p", "2025"]), max_size=2, unique=True),
            "created_days_ago": st.integers(0, 60),
            "events": st.lists(
                st.tuples(st.sampled_from(["purchase", "visit"]), st.integers(0, 500), st.fixed_dictionaries({"amount": st.integers(0, 100), "sku": SCALARS})),
                max_size=4,
            ),
            "listed": st.booleans(),
        }
    ),
    min_size=1,
    max_size=6,
)


LIST_REF, SEGMENT_REF = 900001, 900002  # placeholders, swapped for the ids made in each example


def _swap_refs(node, list_id: int, segment_id: int):
    if isinstance(node, list):
        return [_swap_refs(n, list_id, segment_id) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("list") == LIST_REF:
        return {"list": list_id}
    if node.get("segment") == SEGMENT_REF:
        return {"segment": segment_id}
    return {k: _swap_refs(v, list_id, segment_id) for k, v in node.items()}


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    inner=conditions(LIST_REF, 0).filter(lambda c: "segment" not in str(c)),
    outer=conditions(LIST_REF, SEGMENT_REF),
    people=CUSTOMERS,
)
def test_evaluate_and_sql_always_agree(workspace, inner, outer, people):
    with transaction.atomic():
        lst = CustomerListFactory(workspace=workspace)
        segment = SegmentFactory(workspace=workspace, condition=_swap_refs(inner, lst.pk, 0))
        condition = _swap_refs(outer, lst.pk, segment.pk)
        # The generator does not know which ops each top-level field takes; skip those draws.
        assume(validate_condition(condition, workspace=workspace) == [])
        for i, person in enumerate(people):
            customer = CustomerFactory(
                workspace=workspace, external_id=f"p{i}", email=person["email"], tags=person["tags"],
                attributes=person["attributes"], created_at=NOW - timedelta(days=person["created_days_ago"]),
            )
            for name, hours_ago, props in person["events"]:
                EventFactory(customer=customer, name=name, occurred_at=NOW - timedelta(hours=hours_ago), properties=props)
            if person["listed"]:
                ListMemberFactory(customer_list=lst, customer=customer)
        stored = list(Customer.objects.for_workspace(workspace).filter(external_id__startswith="p"))
        facts = facts_for(workspace_id=workspace.pk, customers=stored, conditions=[condition])
        in_python = {c.external_id for c in stored if evaluate(condition, facts[c.pk], now=NOW)}
        # facts_for compiled the condition for its batch; walking the condition answers the same.
        walked = {c.external_id for c in stored if evaluate(condition, _walked(facts[c.pk]), now=NOW)}
        # Told the evaluation's time, facts_for loads only the windows' events: the same answers.
        bounded = facts_for(workspace_id=workspace.pk, customers=stored, conditions=[condition], now=NOW)
        in_bounded = {c.external_id for c in stored if evaluate(condition, bounded[c.pk], now=NOW)}
        in_sql = set(customers_matching(workspace_id=workspace.pk, condition=condition, now=NOW).values_list("external_id", flat=True))
        # The whole-audience form (segment counts) drives "did X" clauses from the event index.
        whole = customers_matching(workspace_id=workspace.pk, condition=condition, now=NOW, whole_workspace=True)
        in_whole = set(whole.values_list("external_id", flat=True))
        transaction.set_rollback(True)
    assert in_python == walked == in_bounded == in_sql == in_whole, (condition, people)
