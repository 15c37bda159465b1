"""Event retention: PATCH /workspace sets event_retention_days; the sweep deletes each workspace's
older events in bounded batches, keeps the rest, and leaves customers and counts over the kept
window as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.models import Customer, Event
from audiences.retention import events_retention_apply, events_retention_sweep
from audiences.selectors import segment_count
from audiences.tasks import events_retention

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _events(workspace, customers, *, days_ago: float, count: int, names=("view", "purchase", "signup")) -> None:
    at = timezone.now() - timedelta(days=days_ago)
    Event.objects.unscoped().bulk_create([
        Event(workspace=workspace, customer=customers[i % len(customers)], name=names[i % len(names)],
              occurred_at=at - timedelta(seconds=i % 7), properties={"i": i})
        for i in range(count)
    ])


def test_workspace_retention_defaults_to_400_days_and_is_patched(api):
    assert api.get("/api/v1/workspace").json()["event_retention_days"] == 400
    response = api.patch("/api/v1/workspace", {"event_retention_days": 30}, format="json")
    assert response.status_code == 200 and response.json()["event_retention_days"] == 30
    for bad in (0, -1, "soon", 10_000):
        response = api.patch("/api/v1/workspace", {"event_retention_days": bad}, format="json")
        assert response.status_code == 400 and "event_retention_days" in response.json()["error"]["details"]
    assert api.get("/api/v1/workspace").json()["event_retention_days"] == 30


def test_old_events_vanish_in_bounded_batches_and_counts_stay(api, workspace, other_workspace):
    api.patch("/api/v1/workspace", {"event_retention_days": 30}, format="json")
    workspace.refresh_from_db()
    customers = [CustomerFactory(workspace=workspace, external_id=f"c{i}", attributes={"plan": "pro"}) for i in range(40)]
    theirs = [CustomerFactory(workspace=other_workspace, external_id=f"t{i}") for i in range(5)]
    _events(workspace, customers, days_ago=45, count=2_500)  # past retention
    _events(workspace, customers, days_ago=31, count=500, names=("purchase",))
    _events(workspace, customers, days_ago=10, count=300)  # kept
    _events(other_workspace, theirs, days_ago=45, count=200)  # the other workspace keeps 400 days
    recent = {"event": "purchase", "within": {"value": 20, "unit": "days"}, "count": {"op": "gte", "value": 2}}
    counted_before = segment_count(workspace=workspace, condition=recent)

    with CaptureQueriesContext(connection) as queries:
        result = events_retention_apply(workspace=workspace, batch_size=400)

    assert result.deleted == 3_000
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("WITH doomed")]
    assert len(deletes) >= 3_000 / 400 and all("LIMIT 400" in sql for sql in deletes)  # never one big DELETE
    kept = Event.objects.for_workspace(workspace)
    assert kept.count() == 300
    assert not kept.filter(occurred_at__lt=timezone.now() - timedelta(days=30)).exists()
    assert Event.objects.for_workspace(other_workspace).count() == 200
    assert Customer.objects.for_workspace(workspace).count() == 40  # customers stay, only their old events go
    assert segment_count(workspace=workspace, condition=recent) == counted_before > 0


def test_the_daily_task_sweeps_every_workspace(workspace, other_workspace):
    other_workspace.event_retention_days = 7
    other_workspace.save(update_fields=["event_retention_days"])
    mine, theirs = CustomerFactory(workspace=workspace), CustomerFactory(workspace=other_workspace)
    _events(workspace, [mine], days_ago=100, count=10)
    _events(other_workspace, [theirs], days_ago=8, count=10)
    _events(other_workspace, [theirs], days_ago=1, count=3)
    assert events_retention() == 10
    assert Event.objects.for_workspace(workspace).count() == 10  # 100 days < 400
    assert Event.objects.for_workspace(other_workspace).count() == 3
    assert events_retention_sweep() == 0  # nothing left to do
