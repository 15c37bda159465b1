"""The bulk enrollment INSERT (journeys.enrollments._insert) and the Enrollment table it writes:
defaults when no customer carries a context, holdout or parking time, those values when they do,
tenant isolation of the ids, and deletes that still cascade although the table keeps only the
customer's database constraint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from audiences.models import Customer
from journeys.engine import stable_bucket
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from tests.engine.helpers import chain, customers, node, published

PARKED = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}))


def _rows(journey) -> dict[int, Enrollment]:
    return {e.customer_id: e for e in Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey)}


@pytest.mark.django_db(transaction=True)
def test_a_plain_bulk_enrollment_gets_the_defaults_and_an_entered_step(workspace):
    journey = published(workspace, PARKED)
    people = customers(workspace, 30)
    result = enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    assert (result.enrolled, result.skipped) == (30, 0)
    rows = _rows(journey)
    assert set(rows) == {c.id for c in people}
    for e in rows.values():
        assert (e.state, e.node_id, e.step_seq, e.holdout, e.context, e.wait, e.goals) == (
            "active", "start", 0, False, {}, {}, []
        )
    entered = StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id, kind="entered")
    assert sorted(entered.values_list("customer_id", flat=True)) == sorted(c.id for c in people)


@pytest.mark.django_db(transaction=True)
def test_holdout_context_and_parking_are_stored_per_customer(workspace):
    journey = published(workspace, PARKED, {"holdout": {"percent": 50}})
    people = customers(workspace, 40)
    first, second = people[0], people[1]
    later = datetime.now(UTC) + timedelta(hours=3)
    enrollments_create(
        journey=journey,
        customer_ids=[c.id for c in people],
        contexts={first.id: {"event": {"name": "signup", "properties": {"plan": "pro"}}}},
        start_at={second.id: later},
    )
    rows = _rows(journey)
    # Sticky holdout: the same stable bucket the engine documents, about half of 40 either way.
    expected = {c.id for c in people if stable_bucket("holdout", journey.id, c.id) < 50 * 100}
    assert {cid for cid, e in rows.items() if e.holdout} == expected
    assert 0 < len(expected) < 40
    assert rows[first.id].context == {"event": {"name": "signup", "properties": {"plan": "pro"}}}
    assert rows[people[2].id].context == {}
    assert (rows[second.id].state, rows[second.id].wake_at, rows[second.id].wait) == ("waiting", later, {"entry": True})
    assert rows[first.id].state == "active"


@pytest.mark.django_db(transaction=True)
def test_ids_of_another_workspace_or_unknown_ids_are_skipped(workspace, other_workspace):
    journey = published(workspace, PARKED)
    (mine,) = customers(workspace)
    (theirs,) = customers(other_workspace, prefix="x")
    missing = theirs.id + 10_000
    result = enrollments_create(journey=journey, customer_ids=[mine.id, theirs.id, missing])
    assert (result.enrolled, result.skipped) == (1, 2)
    assert set(_rows(journey)) == {mine.id}


@pytest.mark.django_db(transaction=True)
def test_deletes_cascade_and_the_customer_constraint_holds(workspace):
    journey = published(workspace, PARKED)
    kept, erased = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[kept.id, erased.id])
    # Customers are deleted while enrollments are created: the database still refuses an
    # enrollment for a customer that does not exist.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO journeys_enrollment (workspace_id, journey_id, version_id, customer_id, state, node_id,"
            " step_seq, entered_at, exit_reason, holdout, context, goals, wait)"
            " VALUES (%s, %s, %s, %s, 'active', 'start', 0, now(), '', false, '{}', '[]', '{}')",
            [workspace.id, journey.id, journey.live_version_id, erased.id + 10_000],
        )
    Customer.objects.for_workspace(workspace).filter(id=erased.id).delete()
    assert set(_rows(journey)) == {kept.id}
    # Journey and version rows have no database constraint on enrollments; the ORM cascades.
    journey.delete()
    assert not Enrollment.objects.for_workspace(workspace).exists()
