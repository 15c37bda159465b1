"""A run evaluates event windows at its own time, and loads events only as far back as those
windows reach from it; a goal, evaluated at each event since entry, still sees every event its
windows reach from there."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.models import Event
from journeys.engine import advance
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from tests.engine.helpers import chain, customers, edge, enrollment, node, passed, published

pytestmark = pytest.mark.django_db

ONE_DAY = {"value": 1, "unit": "days"}


def purchases(customer, *times):
    Event.objects.unscoped().bulk_create([
        Event(workspace_id=customer.workspace_id, customer=customer, name="purchase", occurred_at=at) for at in times
    ])


def test_a_branch_run_at_a_fixed_time_counts_and_loads_the_window_at_that_time(workspace):
    graph = {
        "nodes": [node("start", "start"), node("b", "branch", {"groups": [
            {"id": "twice", "name": "Twice", "condition": {"event": "purchase", "within": ONE_DAY,
                                                          "count": {"op": "gte", "value": 2}}}]}),
                  node("end", "exit")],
        "edges": [edge("start", "next", "b"), edge("b", "twice", "end")],
    }
    journey = published(workspace, graph)
    then = timezone.now() - timedelta(days=20)
    twice, once = customers(workspace, 2)
    purchases(twice, then - timedelta(hours=2), then - timedelta(hours=5))
    purchases(once, then - timedelta(hours=3), then - timedelta(days=3))  # one inside the day
    ids = enrollments_create(journey=journey, customer_ids=[twice.id, once.id]).ids

    with CaptureQueriesContext(connection) as queries:
        advance(items=[[i, None, None] for i in ids], now=then)

    assert ("b", "twice") in passed(enrollment(journey, twice))
    assert ("b", "else") in passed(enrollment(journey, once))
    loads = [q["sql"] for q in queries.captured_queries if 'FROM "audiences_event"' in q["sql"]]
    assert len(loads) == 1
    bound = re.search(r'"occurred_at" >= \'?(\d{4}-\d{2}-\d{2})', loads[0])
    assert bound and bound[1] == (then - timedelta(days=1)).date().isoformat()  # not all history


def test_a_goal_still_converts_at_its_first_qualifying_event_before_the_runs_window(workspace):
    goal = {"id": "repeat", "name": "Repeat buyer",
            "condition": {"event": "purchase", "within": ONE_DAY, "count": {"op": "gte", "value": 2}}}
    journey = published(workspace, chain(node("start", "start"),
                                         node("w", "wait", {"mode": "duration", "duration": {"value": 7, "unit": "days"}})),
                        {"goals": [goal]})
    (buyer,) = customers(workspace)
    (eid,) = enrollments_create(journey=journey, customer_ids=[buyer.id]).ids
    now = timezone.now()
    Enrollment.objects.for_workspace(workspace).filter(id=eid).update(entered_at=now - timedelta(days=3))
    # Twice within a day first at now − 0.9 d (with the purchase of now − 1.5 d), which is before
    # the run's own window (now − 1 d): loading from there would date it at now − 0.5 d instead.
    purchases(buyer, now - timedelta(days=1.5), now - timedelta(days=0.9), now - timedelta(days=0.5))

    advance(items=[[eid, None, None]], now=now)

    (reached,) = enrollment(journey, buyer).goals
    assert reached["id"] == "repeat"
    assert reached["at"] == (now - timedelta(days=0.9)).isoformat()
