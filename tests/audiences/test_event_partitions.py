"""Events live in monthly partitions: each event lands in its month's partition (or the default one,
never refused), a repeated `id` is still stored once whatever months its copies carry, partitions
exist ahead of time, and retention drops whole months every workspace has let go of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audiences.models import Event, EventKey
from audiences.retention import events_retention_sweep
from config.celery import app as celery_app
from workspaces.partitions import (
    add_months,
    month_partitions,
    month_start,
    partition_name,
    partitions_ensure,
)

from .factories import CustomerFactory
from .unanalyzed import unanalyzed_event_batch

pytestmark = pytest.mark.django_db


def post(api, events):
    return api.post("/api/v1/events", {"events": events}, format="json")


def where(event_filter) -> dict[str, str]:
    """event name → the partition holding it."""
    ids = list(event_filter.values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tableoid::regclass::text FROM audiences_event WHERE id = ANY(%s)", [ids])
        return dict(cursor.fetchall())


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def test_each_event_lands_in_its_month_and_a_month_created_later_takes_its_rows_from_the_default(api, workspace):
    this_month = month_start(timezone.now())
    old_month = add_months(this_month, -30)  # no partition of its own yet
    events = [
        {"customer_id": "c", "name": "now"},
        {"customer_id": "c", "name": "next_month", "timestamp": (add_months(this_month, 1) + timedelta(days=3)).isoformat()},
        {"customer_id": "c", "name": "old", "timestamp": (old_month + timedelta(days=10)).isoformat()},
        {"customer_id": "c", "name": "far_future", "timestamp": "2199-05-01T00:00:00+00:00"},
    ]
    assert post(api, events).json()["accepted"] == 4
    stored = Event.objects.for_workspace(workspace)
    assert where(stored) == {
        "now": partition_name("audiences_event", this_month),
        "next_month": partition_name("audiences_event", add_months(this_month, 1)),
        "old": "audiences_event_default",
        "far_future": "audiences_event_default",
    }

    created = partitions_ensure(now=old_month, ahead=0)

    assert created == [partition_name("audiences_event", old_month), partition_name("journeys_stepevent", old_month)]
    assert where(stored)["old"] == partition_name("audiences_event", old_month)  # moved, not lost
    assert stored.count() == 4


def test_partitions_exist_for_this_month_and_the_next_two_and_beat_keeps_them(workspace):
    later = add_months(month_start(timezone.now()), 7)
    created = partitions_ensure(now=later)
    for table in ("audiences_event", "journeys_stepevent"):
        for n in range(3):
            assert partition_name(table, add_months(later, n)) in created
            assert exists(partition_name(table, add_months(later, n)))
        assert exists(f"{table}_default")
    assert partitions_ensure(now=later) == []  # idempotent
    schedule = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert "workspaces.tasks.partitions_ensure" in schedule


def test_a_repeated_id_is_refused_across_months(api, workspace):
    this_month = month_start(timezone.now())
    first = {"customer_id": "c", "name": "purchase", "id": "order-7"}
    months_ago = {**first, "timestamp": (add_months(this_month, -3) + timedelta(days=1)).isoformat()}
    next_month = {**first, "timestamp": (add_months(this_month, 1) + timedelta(days=1)).isoformat()}

    assert post(api, [first, months_ago]).json() == {"accepted": 1, "duplicates": 1, "errors": []}
    assert post(api, [next_month]).json() == {"accepted": 0, "duplicates": 1, "errors": []}
    assert post(api, [months_ago, {**first, "id": "order-8", "timestamp": months_ago["timestamp"]}]).json() == {
        "accepted": 1, "duplicates": 1, "errors": []}
    stored = Event.objects.for_workspace(workspace)
    assert stored.filter(idempotency_id="order-7").count() == 1
    assert stored.get(idempotency_id="order-7").occurred_at >= this_month  # the first copy is the one kept
    assert stored.count() == 2


def _old_events(workspace, customer, at: datetime, n: int) -> None:
    Event.objects.unscoped().bulk_create(
        [Event(workspace=workspace, customer=customer, name="view", occurred_at=at + timedelta(hours=i)) for i in range(n)]
    )


def test_retention_drops_a_month_every_workspace_let_go_and_deletes_by_batch_inside_shared_months(workspace, other_workspace):
    now = timezone.now()
    workspace.event_retention_days = 30
    workspace.save(update_fields=["event_retention_days"])
    other_workspace.event_retention_days = 60
    other_workspace.save(update_fields=["event_retention_days"])
    mine, theirs = CustomerFactory(workspace=workspace), CustomerFactory(workspace=other_workspace)
    gone_month = add_months(month_start(now), -4)  # ends more than 60 days ago: every workspace let it go
    shared = now - timedelta(days=45)  # past my 30 days, inside their 60
    partitions_ensure(now=gone_month, ahead=0)
    partitions_ensure(now=shared, ahead=0)
    _old_events(workspace, mine, gone_month + timedelta(days=2), 30)
    _old_events(other_workspace, theirs, gone_month + timedelta(days=2), 20)
    _old_events(workspace, mine, shared, 7)
    _old_events(other_workspace, theirs, shared, 5)
    _old_events(workspace, mine, now - timedelta(days=1), 3)
    gone = partition_name("audiences_event", gone_month)
    assert exists(gone)

    deleted = events_retention_sweep(now=now)

    assert deleted == 30 + 20 + 7
    assert not exists(gone)  # dropped whole, not emptied row by row
    assert partition_name("audiences_event", month_start(shared)) in {p.name for p in month_partitions("audiences_event")}
    assert Event.objects.for_workspace(workspace).count() == 3
    assert Event.objects.for_workspace(other_workspace).count() == 5  # their 60 days still hold these


def test_retention_forgets_idempotency_keys_with_their_events(api, workspace):
    workspace.event_retention_days = 30
    workspace.save(update_fields=["event_retention_days"])
    assert post(api, [{"customer_id": "c", "name": "purchase", "id": "old-order"},
                      {"customer_id": "c", "name": "purchase", "id": "new-order"}]).json()["accepted"] == 2
    EventKey.objects.for_workspace(workspace).filter(idempotency_id="old-order").update(
        received_at=timezone.now() - timedelta(days=31))
    Event.objects.for_workspace(workspace).filter(idempotency_id="old-order").update(
        occurred_at=datetime.now(UTC) - timedelta(days=31))

    events_retention_sweep()

    assert set(EventKey.objects.for_workspace(workspace).values_list("idempotency_id", flat=True)) == {"new-order"}
    assert post(api, [{"customer_id": "c", "name": "purchase", "id": "new-order"}]).json()["duplicates"] == 1


def _planned_rows(sql: str, params: list) -> float:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        return cursor.fetchone()[0][0]["Plan"]["Plan Rows"]


def test_a_batch_read_by_id_is_planned_as_one_event_an_id_before_any_statistics(workspace):
    """The engine and webhooks read a stored batch back by id. On a partition autovacuum has not
    analyzed yet (a new month, a server without autovacuum), the planner must still know an id is one
    event; with the partitions sharing a primary key (id, occurred_at) it took 100 ids for thousands
    of rows and read the workspace's every event instead (seconds a batch at 200k events)."""
    ids, _ = unanalyzed_event_batch(workspace)

    # At most every id in every partition (it cannot know which month holds which), not 60,000 rows.
    partitions = len(month_partitions("audiences_event")) + 1
    assert _planned_rows("SELECT id FROM audiences_event WHERE id = ANY(%s)", [ids]) <= len(ids) * partitions


def test_analyze_keeps_no_statistics_of_event_properties_and_idempotency_keys_in_new_months_too(api, workspace):
    """ANALYZE skips the columns no plan reads (autovacuum repeats it as a month's partition grows,
    and sorting the sampled ~0.5 KB documents was ~40% of its time) and still keeps the others'."""
    later = add_months(month_start(timezone.now()), 9)
    partitions_ensure(now=later)
    month = partition_name("audiences_event", later)
    assert post(api, [
        {"customer_id": f"c{i}", "name": "view", "properties": {"n": i}, "id": f"k{i}",
         "timestamp": (later + timedelta(days=1)).isoformat()}
        for i in range(50)
    ]).json()["accepted"] == 50
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{month}", audiences_eventkey')
        cursor.execute("SELECT tablename, attname FROM pg_stats WHERE tablename = ANY(%s)", [[month, "audiences_eventkey"]])
        analyzed = set(cursor.fetchall())
    assert (month, "name") in analyzed and (month, "customer_id") in analyzed
    assert (month, "properties") not in analyzed and (month, "idempotency_id") not in analyzed
    assert ("audiences_eventkey", "workspace_id") in analyzed
    assert ("audiences_eventkey", "idempotency_id") not in analyzed
