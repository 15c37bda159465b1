"""Goal conversions: when a goal converts (the first time its condition holds within its window
after entry, at most once per enrollment), what it is worth, and the conversions of enrollments
that already completed or exited (found by one set-based query over their open windows)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audiences.conditions import (
    SQL,
    CustomerFacts,
    duration_timedelta,
    evaluate,
    event_clauses,
    facts_for,
)
from audiences.models import Customer, Event

from ..keys import key_of
from ..models import Enrollment, StepEvent
from .rows import raw_cursor, write_steps
from .versions import compiled_version

DEFAULT_WINDOW = timedelta(days=7)  # API.md: a goal's window defaults to 7 days
DURATION_SECONDS_SQL = (
    "CASE {d}->>'unit' WHEN 'seconds' THEN 1 WHEN 'minutes' THEN 60 WHEN 'hours' THEN 3600"
    " WHEN 'days' THEN 86400 WHEN 'weeks' THEN 604800 END * ({d}->>'value')::float8"
)


def goal_window(goal: dict) -> timedelta:
    window = goal.get("window")
    return duration_timedelta(window) if isinstance(window, dict) else DEFAULT_WINDOW


def _event_names(condition: Any) -> set[str]:
    """The event names a condition counts."""
    return {node["event"] for node in event_clauses(condition)}


def value_clauses(goals: list[dict]) -> list[dict]:
    """Extra clauses for facts_for, so the events a goal takes its value from load with their
    properties (facts_for loads properties only for names some clause filters on)."""
    return [
        {"event": name, "where": [{"property": goal["value"]["property"], "op": "exists"}]}
        for goal in goals
        if isinstance(goal.get("value"), dict) and isinstance(goal["value"].get("property"), str)
        for name in sorted(_event_names(goal.get("condition")))
    ]


def event_value(goal: dict, properties: dict | None) -> float:
    """The converting event's `value.property` as a number; missing or non-numeric → 0."""
    spec = goal.get("value")
    if not isinstance(spec, dict) or not isinstance(properties, dict):
        return 0.0
    raw: Any = properties
    for part in str(spec.get("property") or "").split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    if isinstance(raw, bool):
        return 0.0
    try:
        number = float(raw) if isinstance(raw, int | float | str) else 0.0
    except ValueError:
        return 0.0
    return number if math.isfinite(number) else 0.0


def keyed_facts(facts: CustomerFacts, prop: str, key: str) -> CustomerFacts:
    """The facts with only the events whose key property is this pass's key (same_key)."""
    return dataclasses.replace(facts, events=[ev for ev in facts.events if key_of(ev.properties, prop) == key])


def goal_facts(goal: dict, facts: CustomerFacts, version, key: str) -> CustomerFacts:
    """The facts a goal reads: a same_key goal of a keyed journey sees only its pass's events."""
    if goal.get("same_key") is True and version.key_property:
        return keyed_facts(facts, version.key_property, key)
    return facts


def first_conversion(goal: dict, facts: CustomerFacts, *, entered_at: datetime,
                     now: datetime) -> tuple[datetime, float] | None:
    """When the goal first converted for an enrollment that entered at `entered_at`, as of `now`,
    and its value: the earliest event (since entry, before the window's end) with which its
    condition holds, else `now` if the condition holds without one while the window is open.
    None when it has not converted. Events before entry never count."""
    condition = goal.get("condition")
    if not isinstance(condition, dict):
        return None
    end = entered_at + goal_window(goal)
    horizon = min(now, end)
    every = facts.events
    inside = [ev for ev in every if entered_at <= ev.occurred_at < end and ev.occurred_at <= now]
    saved_entry = facts.entered_at
    facts.entered_at = entered_at

    def holds(events: list, at: datetime) -> bool:
        facts.events = events
        return evaluate(condition, facts, now=at)

    try:
        if not holds(inside, horizon):
            return None
        names = _event_names(condition)
        for i, ev in enumerate(inside):
            if ev.name in names and holds(inside[: i + 1], ev.occurred_at):
                return ev.occurred_at, event_value(goal, ev.properties)
        return (now, 0.0) if now < end else None
    finally:
        facts.events = every
        facts.entered_at = saved_entry


# ---- Conversions after the journey --------------------------------------------------------------
# Finished enrollments of the batch's customers whose goal window is still open at one of their
# events (entered_at + the version's widest goal window > the customer's first event of the batch),
# with a goal still to convert; through enrollment_customer_journey (customer first), locked in id
# order. A window that closed is never read again: nothing is scheduled for it.
# The customers to look at, each with the earliest and latest moment something happened to them:
# a batch of stored events, or customers whose profile changed now.
# A batch is read back by one primary-key probe per id (a partition's key is id): with the ids in
# a plain `id = ANY(...)` beside the workspace, the planner of a partition without statistics yet (a
# new month, a fresh database) combined them with the workspace's index and read every event the
# workspace has there (seconds a batch). Ids come from one sequence, so the first partition that has
# an id is the only one (LIMIT 1).
_EVENT_BATCH = f"""
    SELECT ev.customer_id, min(ev.occurred_at) AS first_at, max(ev.occurred_at) AS last_at
    FROM unnest(%(ids)s::bigint[]) AS i(id)
    CROSS JOIN LATERAL (SELECT customer_id, occurred_at FROM {Event._meta.db_table}
                        WHERE id = i.id AND workspace_id = %(ws)s LIMIT 1) AS ev
    GROUP BY ev.customer_id
"""
_CUSTOMER_BATCH = """
    SELECT DISTINCT unnest(%(customers)s::bigint[]) AS customer_id, %(now)s::timestamptz AS first_at,
           %(now)s::timestamptz AS last_at
"""
# A batch already read (finished_goals_convert reads it once for its two statements).
_READ_BATCH = """
    SELECT * FROM unnest(%(customers)s::bigint[], %(firsts)s::timestamptz[], %(lasts)s::timestamptz[])
        AS b(customer_id, first_at, last_at)
"""
_OPEN_WINDOWS_FROM = f"""
WITH batch AS ({{batch}})
SELECT {{columns}}
FROM batch b
JOIN journeys_enrollment e ON e.customer_id = b.customer_id
JOIN journeys_journeyversion v ON v.id = e.version_id
WHERE e.workspace_id = %(ws)s AND e.state IN ('completed', 'exited', 'failed')
  AND e.entered_at <= b.last_at
  AND jsonb_array_length(e.goals) < jsonb_array_length(coalesce(v.settings -> 'goals', '[]'::jsonb))
  AND e.entered_at + make_interval(secs => (
        SELECT max(coalesce({DURATION_SECONDS_SQL.format(d="g -> 'window'")}, {DEFAULT_WINDOW.total_seconds()}))
        FROM jsonb_array_elements(v.settings -> 'goals') g)) > b.first_at
"""


def _open_windows(*, exists: bool, workspace_id: int, event_ids: list[int] | None,
                  customer_ids: list[int] | None, now: datetime,
                  batch: list[tuple[int, str, str]] | None = None) -> tuple[str, dict]:
    params = {"ws": workspace_id, "ids": list(event_ids or []), "customers": list(customer_ids or []), "now": now}
    if batch is not None:
        sql = _READ_BATCH
        params.update(customers=[row[0] for row in batch], firsts=[row[1] for row in batch],
                      lasts=[row[2] for row in batch])
    else:
        sql = _EVENT_BATCH if event_ids is not None else _CUSTOMER_BATCH
    sql = _OPEN_WINDOWS_FROM.format(batch=sql, columns="1" if exists else "e.id, e.version_id, e.customer_id")
    sql = f"SELECT EXISTS ({sql})" if exists else sql + "ORDER BY e.id FOR UPDATE OF e"
    return sql, params


def event_batch_customers(*, workspace_id: int, event_ids: list[int]) -> list[tuple[int, str, str]]:
    """(customer, first occurred_at, last occurred_at) of a stored batch's customers, the moments as
    PostgreSQL's text: they only go back into the next statement, and parsing 2,000 timestamps into
    datetimes cost more than the statement (profiled)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id, first_at::text, last_at::text FROM ({_EVENT_BATCH}) AS b",
                       {"ws": workspace_id, "ids": list(event_ids)})
        return cursor.fetchall()


def _id_in(ids) -> SQL:
    """`id = ANY('{…}'::bigint[])` as one array literal: `id__in` makes each of a batch's ~1,000 ids a
    parameter of its own, whose conversion cost more than the whole rest of the check (profiled)."""
    return SQL("{0} = ANY(%s::bigint[])", [F("id")], ["{" + ",".join(str(int(pk)) for pk in ids) + "}"])


def finished_windows_open(*, workspace_id: int, event_ids: list[int] | None = None,
                          customer_ids: list[int] | None = None, now: datetime | None = None) -> bool:
    """Whether any of these events' (or changed customers') customers has a finished enrollment
    with a goal window open: the hooks' check when nothing in the workspace is live (a stopped
    journey's goals)."""
    sql, params = _open_windows(exists=True, workspace_id=workspace_id, event_ids=event_ids,
                                customer_ids=customer_ids, now=now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def finished_goals_convert(*, workspace_id: int, now: datetime, event_ids: list[int] | None = None,
                           customer_ids: list[int] | None = None) -> int:
    """Converts goals of enrollments that completed or exited before these events or profile
    changes (holdout ones included): one query finds the open windows, facts load once per
    version. Returns how many conversions were recorded. Exits nothing: those already left."""
    converted = 0
    # The usual answer is no: one statement (the batch read inside it), no transaction.
    if not finished_windows_open(workspace_id=workspace_id, event_ids=event_ids, customer_ids=customer_ids,
                                 now=now):
        return 0
    # Some window is open: the batch is read once more, as text, for the locking statement below.
    batch = None if event_ids is None else event_batch_customers(workspace_id=workspace_id, event_ids=event_ids)
    if batch == []:
        return 0
    sql, params = _open_windows(exists=False, workspace_id=workspace_id, event_ids=event_ids,
                                customer_ids=customer_ids, now=now, batch=batch)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        if not found:
            return 0
        enrollments = {e.id: e for e in Enrollment.objects.unscoped().filter(_id_in(row[0] for row in found))}
        customers = {c.pk: c for c in Customer.objects.unscoped().filter(_id_in({row[2] for row in found}))}
        by_version: dict[int, list[Enrollment]] = {}
        for row in found:
            by_version.setdefault(row[1], []).append(enrollments[row[0]])
        steps, changed = [], []
        for version_id, members in by_version.items():
            version = compiled_version(version_id)
            if version is None:
                continue
            facts = facts_for(
                workspace_id=workspace_id,
                customers=[customers[c] for c in {e.customer_id for e in members}],
                conditions=[g["condition"] for g in version.goals if isinstance(g.get("condition"), dict)]
                + value_clauses(version.goals) + version.key_loaders(),
            )
            for e in members:
                reached = {g.get("id") for g in e.goals or []}
                for goal in version.goals:
                    if goal.get("id") in reached:
                        continue
                    hit = first_conversion(goal, goal_facts(goal, facts[e.customer_id], version, e.key),
                                           entered_at=e.entered_at, now=now)
                    if hit is None:
                        continue
                    at, value = hit
                    e.goals = [*(e.goals or []), {"id": goal["id"], "at": at.isoformat(), "value": value}]
                    steps.append((e.workspace_id, e.id, e.journey_id, e.version_id, e.customer_id, e.node_id,
                                  StepEvent.Kind.GOAL.value, "", "", e.step_seq, now,
                                  {"goal_id": goal["id"], "value": value}))
                    changed.append(e)
                    converted += 1
        write_steps(steps)
        if changed:
            with raw_cursor() as cursor:
                cursor.execute(
                    "UPDATE journeys_enrollment e SET goals = v.goals::jsonb"
                    " FROM json_to_recordset(%s::json) AS v(id bigint, goals text) WHERE e.id = v.id",
                    [json.dumps([{"id": e.id, "goals": json.dumps(e.goals)} for e in {x.id: x for x in changed}.values()])],
                )
    return converted
