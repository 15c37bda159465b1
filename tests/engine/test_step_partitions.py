"""Step events live in monthly partitions: the engine's COPY lands each row in the month of its
time (or the default partition, never refused); step retention (per workspace) deletes old history
and drops months every workspace has let go of, while the analytics totals stay as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from analytics.selectors import journey_analytics
from analytics.services import rollups_refresh
from journeys.engine import advance
from journeys.enrollments import enrollments_create
from journeys.models import StepEvent
from journeys.retention import steps_retention_sweep
from journeys.tasks import steps_retention_task
from tests.engine.helpers import chain, customers, node, published
from workspaces.partitions import add_months, month_start, partition_name, partitions_ensure

pytestmark = pytest.mark.django_db


def run_through(workspace, n: int, prefix: str, at=None):
    """A 3-node journey, n customers enrolled and advanced to the end (at `at`)."""
    journey = published(workspace, chain(node("start", "start"),
                                         node("tag", "update_profile", {"add_tags": ["x"]}),
                                         node("end", "exit")))
    people = customers(workspace, n, prefix=prefix)
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in people]).ids
    advance(items=[[i, None, None] for i in ids], now=at)
    return journey, people, ids


def partitions_of(journey) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM journeys_stepevent WHERE journey_id = %s"
                       " AND kind <> 'entered' GROUP BY 1", [journey.id])
        return dict(cursor.fetchall())


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def shift(ids: list[int], days: int) -> None:
    """Moves these enrollments' history `days` back (PostgreSQL moves the rows across partitions)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE journeys_stepevent SET at = at - make_interval(days => %s) WHERE enrollment_id = ANY(%s)",
                       [days, ids])


def test_the_engine_copy_lands_each_step_in_its_month_and_a_late_month_takes_its_rows(workspace):
    this_month = month_start(timezone.now())
    journey, _, _ = run_through(workspace, 3, "now")
    assert partitions_of(journey) == {partition_name("journeys_stepevent", this_month): 9}  # 2 moves and the end, × 3

    past = add_months(this_month, -20) + timedelta(days=4, hours=5)  # no partition for that month yet
    old_journey, _, _ = run_through(workspace, 2, "past", at=past)
    assert partitions_of(old_journey) == {"journeys_stepevent_default": 6}
    assert StepEvent.objects.for_workspace(workspace).filter(journey_id=old_journey.id, at=past).count() == 6

    partitions_ensure(now=past, ahead=0)
    assert partitions_of(old_journey) == {partition_name("journeys_stepevent", month_start(past)): 6}


def test_step_retention_is_a_workspace_setting(api):
    assert api.get("/api/v1/workspace").json()["step_retention_days"] == 400
    response = api.patch("/api/v1/workspace", {"step_retention_days": 90}, format="json")
    assert response.status_code == 200 and response.json()["step_retention_days"] == 90
    for bad in (0, -3, "later", 4000):
        response = api.patch("/api/v1/workspace", {"step_retention_days": bad}, format="json")
        assert response.status_code == 400 and "step_retention_days" in response.json()["error"]["details"]
    assert api.get("/api/v1/workspace").json()["step_retention_days"] == 90


def test_old_steps_vanish_per_workspace_and_the_analytics_totals_stay(api, workspace, other_workspace):
    api.patch("/api/v1/workspace", {"step_retention_days": 30}, format="json")
    journey, _, ids = run_through(workspace, 5, "mine")
    theirs, _, their_ids = run_through(other_workspace, 2, "theirs")
    rollups_refresh()
    before = journey_analytics(journey=journey)
    partitions_ensure(now=timezone.now() - timedelta(days=45), ahead=0)
    shift(ids[:3], 45)  # past my 30 days
    shift(their_ids, 45)  # inside their default 400

    deleted = steps_retention_task()

    assert deleted == 3 * 4  # entered, 2 moves and the end each
    mine = StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id)
    assert set(mine.values_list("enrollment_id", flat=True)) == set(ids[3:])
    assert StepEvent.objects.for_workspace(other_workspace).filter(journey_id=theirs.id).count() == 2 * 4
    rollups_refresh()
    after = journey_analytics(journey=journey)
    assert after["summary"] == before["summary"] and after["summary"]["started"] == 5
    assert after["nodes"] == before["nodes"]


def test_a_month_every_workspace_let_go_is_dropped_whole(workspace, other_workspace):
    for ws in (workspace, other_workspace):
        ws.step_retention_days = 60
        ws.save(update_fields=["step_retention_days"])
    old = add_months(month_start(timezone.now()), -4) + timedelta(days=3)
    partitions_ensure(now=old, ahead=0)
    _, _, ids = run_through(workspace, 4, "mine")
    _, _, their_ids = run_through(other_workspace, 2, "theirs")
    _, _, recent = run_through(workspace, 1, "recent")
    shift(ids + their_ids, (timezone.now() - old).days)
    gone = partition_name("journeys_stepevent", month_start(old))
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{gone}"')
        assert cursor.fetchone()[0] == 6 * 4

    assert steps_retention_sweep() == 6 * 4

    assert not exists(gone)
    assert StepEvent.objects.for_workspace(workspace).count() == 4  # the recent customer's
    assert StepEvent.objects.for_workspace(other_workspace).count() == 0
