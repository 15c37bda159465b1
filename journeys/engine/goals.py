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
    event_matches,
    facts_for,
)
from audiences.models import Customer, Event
from audiences.sql_arrays import id_array

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
    return dataclasses.replace(
        facts, events=[ev for ev in facts.events if key_of(ev.properties, prop) == key]
    )


def goal_facts(goal: dict, facts: CustomerFacts, version, key: str) -> CustomerFacts:
    """The facts a goal reads: a same_key goal of a keyed journey sees only its pass's events."""
    if goal.get("same_key") is True and version.key_property:
        return keyed_facts(facts, version.key_property, key)
    return facts


def first_conversion(
    goal: dict, facts: CustomerFacts, *, entered_at: datetime, now: datetime
) -> tuple[datetime, float] | None:
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
# Most goals are one event (a purchase, maybe with property filters): such a goal converts with the
# first of its events after entry inside the window, so a stored batch converts it by matching the
# batch's events of those names against the open windows of their customers in one statement
# (_MATCH_EVENTS), the rest of the batch never meeting an enrollment. Versions with a goal that needs
# more (counts, attributes, several clauses, `within` a duration, a property compared with the
# moment) keep the full evaluation below (facts loaded per version, first_conversion per enrollment).
# Known gap: the fast path sees only the current batch. A goal's event stored while its enrollment
# was live is converted by the engine's wake (run.py check_exit_and_goals reads every event since
# entry); if a timer or another wake finished the enrollment from facts read before that event
# committed, and events_process saw the enrollment still live (so matched nothing here), the wake
# then lands on a finished row and is dropped, and no later batch holds that event: the goal stays
# unconverted (the full evaluation reads all the customer's events, so it would convert with the
# customer's next batch). Closing it belongs where the wake is dropped: an event wake that finds
# its enrollment finished can hand that one event to _fast_goals_convert.
_FAST_KEYS = {"event", "where", "within", "count"}
_FAST_COUNTS = ({"op": "gte", "value": 1}, {"op": "gt", "value": 0})
_MOMENT_OPS = {"within_last", "not_within_last"}


def one_event_goal(goal: dict) -> str | None:
    """The event name a goal converts on when one such event (with its property filters) inside
    the window converts it, else None (the full evaluation decides)."""
    condition = goal.get("condition")
    if (
        not isinstance(condition, dict)
        or not isinstance(condition.get("event"), str)
        or set(condition) - _FAST_KEYS
    ):
        return None
    if (
        condition.get("within", "since_entry") != "since_entry"
        or condition.get("count", _FAST_COUNTS[0]) not in _FAST_COUNTS
    ):
        return None
    where = condition.get("where") or []
    if not isinstance(where, list) or any(
        not isinstance(w, dict) or w.get("op") in _MOMENT_OPS for w in where
    ):
        return None
    return condition["event"]


@dataclasses.dataclass(frozen=True)
class WorkspaceGoals:
    """A workspace's versions with goals, split by how their windows are matched."""

    fast: dict[int, list[tuple[dict, str]]]  # version → its goals with the event each converts on
    full: list[int]  # versions with a goal only the full evaluation decides

    def matters_to(self, names: frozenset[str]) -> bool:
        """Whether a batch with these event names can convert one of these goals."""
        return bool(self.full) or any(
            name in names for goals in self.fast.values() for _, name in goals
        )

    def matchers(self) -> dict[str, list]:
        """The fast goals as parallel arrays for _MATCH_EVENTS."""
        rows = [
            (v, g["id"], name, goal_window(g).total_seconds())
            for v, goals in self.fast.items()
            for g, name in goals
        ]
        return {
            "m_versions": [r[0] for r in rows],
            "m_goals": [r[1] for r in rows],
            "m_names": [r[2] for r in rows],
            "m_secs": [r[3] for r in rows],
            "names": sorted({r[2] for r in rows}),
        }


_workspace_goals: dict[int, tuple[list[int], WorkspaceGoals]] = {}
_GOAL_VERSIONS = """
    SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM journeys_journeyversion
    WHERE workspace_id = %s AND jsonb_typeof(settings -> 'goals') = 'array' AND settings -> 'goals' <> '[]'::jsonb
"""


def workspace_goals(workspace_id: int) -> WorkspaceGoals:
    """The workspace's goal-bearing versions (one small query), sorted once per process and set of
    versions: versions are immutable."""
    with connection.cursor() as cursor:
        cursor.execute(_GOAL_VERSIONS, [workspace_id])
        ids = list(cursor.fetchone()[0])
    cached = _workspace_goals.get(workspace_id)
    if cached is not None and cached[0] == ids:
        return cached[1]
    fast, full = {}, []
    for version_id in ids:
        version = compiled_version(version_id)
        if version is None:
            continue
        goals = [
            (g, one_event_goal(g)) for g in version.goals if isinstance(g, dict) and g.get("id")
        ]
        if all(name is not None for _, name in goals):
            fast[version_id] = goals
        else:
            full.append(version_id)
    found = WorkspaceGoals(fast=fast, full=full)
    if len(_workspace_goals) > 1000:
        _workspace_goals.clear()
    _workspace_goals[workspace_id] = (ids, found)
    return found


def cached_workspace_goals(workspace_id: int) -> WorkspaceGoals | None:
    """The workspace's goals as this process last read them (no query), None if it never did: a
    hint for deciding to queue work whose worker reads them again, never for skipping it."""
    cached = _workspace_goals.get(workspace_id)
    return None if cached is None else cached[1]


# A stored batch's events of the fast goals' names, each with the finished enrollments of its
# customer (through enrollment_customer_journey) whose window for a goal on that name is open at
# the event and that have not converted it. The batch is read by one primary-key probe per id (a
# partition's key is id, see _EVENT_BATCH); its other events (most of a batch) stop there. Locked
# in id order when converting: the goals re-checked against the row as locked.
_MATCH_EVENTS = f"""
WITH m AS (SELECT * FROM unnest(%(m_versions)s::bigint[], %(m_goals)s::text[], %(m_names)s::text[],
                                %(m_secs)s::float8[]) AS m(version_id, goal_id, name, secs)),
b AS (SELECT ev.* FROM unnest(%(ids)s::bigint[]) AS i(id)
      CROSS JOIN LATERAL (SELECT id, customer_id, name, occurred_at, properties FROM {Event._meta.db_table}
                          WHERE id = i.id AND workspace_id = %(ws)s LIMIT 1) AS ev
      WHERE ev.name = ANY(%(names)s::text[]) AND ev.occurred_at <= %(now)s)
SELECT {{columns}}
FROM b JOIN journeys_enrollment e ON e.customer_id = b.customer_id
WHERE e.workspace_id = %(ws)s AND e.state IN ('completed', 'exited', 'failed') AND e.entered_at <= b.occurred_at
  AND e.version_id = ANY(%(m_versions)s::bigint[])
  AND EXISTS (SELECT 1 FROM m WHERE m.version_id = e.version_id AND m.name = b.name
              AND b.occurred_at < e.entered_at + make_interval(secs => m.secs)
              AND NOT e.goals @> jsonb_build_array(jsonb_build_object('id', m.goal_id)))
"""
_MATCH_COLUMNS = (
    "e.id, e.version_id, e.journey_id, e.customer_id, e.node_id, e.step_seq, e.key, e.entered_at,"
    " e.goals, b.name, b.properties, b.occurred_at"
)

_MATCH_EXISTS = f"SELECT EXISTS ({_MATCH_EVENTS.format(columns='1')})"
_MATCH_ROWS = _MATCH_EVENTS.format(columns=_MATCH_COLUMNS) + " ORDER BY e.id, b.occurred_at, b.id"


def _match_params(
    found: WorkspaceGoals, *, workspace_id: int, event_ids: list[int], now: datetime
) -> dict:
    return {**found.matchers(), "ws": workspace_id, "ids": id_array(event_ids), "now": now}


def _fast_windows_open(
    found: WorkspaceGoals, *, workspace_id: int, event_ids: list[int], now: datetime
) -> bool:
    if not found.fast:
        return False
    # Server-side binding, prepared: the batch's ids travel as one parameter, an array literal
    # (Django's cursor quoted the 1,000 ids in Python, the largest part of the worker's time here,
    # profiled; a list of ints costs psycopg as much, see audiences.sql_arrays).
    with raw_cursor() as cursor:
        cursor.execute(
            _MATCH_EXISTS,
            _match_params(found, workspace_id=workspace_id, event_ids=event_ids, now=now),
            prepare=True,
        )
        return cursor.fetchone()[0]


def _fast_goals_convert(
    found: WorkspaceGoals, *, workspace_id: int, event_ids: list[int], now: datetime
) -> int:
    """Converts the fast goals a stored batch meets: one statement finds the enrollments with a
    window open at one of the batch's events of a goal's name (usually none: then that is all);
    those are locked in id order and each converts with its first such event that passes the goal's
    filters (and key), unless it converted meanwhile."""
    if not found.fast:
        return 0
    params = _match_params(found, workspace_id=workspace_id, event_ids=event_ids, now=now)
    with raw_cursor() as cursor:
        cursor.execute(_MATCH_ROWS, params, prepare=True)
        rows = cursor.fetchall()
    if not rows:
        return 0
    converted = 0
    with transaction.atomic():
        # The candidates' goals as locked (another batch may have converted one meanwhile).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, goals FROM journeys_enrollment WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
                [sorted({row[0] for row in rows})],
            )
            locked = dict(cursor.fetchall())
        steps, changed = [], {}
        for (
            enrollment_id,
            version_id,
            journey_id,
            customer_id,
            node_id,
            step_seq,
            key,
            entered_at,
            goals,
            name,
            properties,
            occurred_at,
        ) in rows:
            goals = changed.get(enrollment_id, locked.get(enrollment_id, goals))
            goals = goals if isinstance(goals, list) else json.loads(goals or "[]")
            properties = (
                properties if isinstance(properties, dict | None) else json.loads(properties)
            )
            reached = {g.get("id") for g in goals}
            key_property = compiled_version(version_id).key_property
            for goal, goal_event in found.fast.get(version_id, ()):
                if (
                    goal["id"] in reached
                    or goal_event != name
                    or occurred_at >= entered_at + goal_window(goal)
                ):
                    continue
                if not event_matches(goal["condition"], name, properties or {}, now=occurred_at):
                    continue
                if (
                    goal.get("same_key") is True
                    and key_property
                    and key_of(properties, key_property) != key
                ):
                    continue
                value = event_value(goal, properties)
                goals = [*goals, {"id": goal["id"], "at": occurred_at.isoformat(), "value": value}]
                reached.add(goal["id"])
                changed[enrollment_id] = goals
                steps.append(
                    (
                        workspace_id,
                        enrollment_id,
                        journey_id,
                        version_id,
                        customer_id,
                        node_id,
                        StepEvent.Kind.GOAL.value,
                        "",
                        "",
                        step_seq,
                        now,
                        {"goal_id": goal["id"], "value": value},
                    )
                )
                converted += 1
        write_steps(steps)
        _goals_write(changed)
    return converted


def _goals_write(goals: dict[int, list]) -> None:
    """Stores enrollments' goals (id → the whole list) in one statement."""
    if goals:
        with raw_cursor() as cursor:
            cursor.execute(
                "UPDATE journeys_enrollment e SET goals = v.goals::jsonb"
                " FROM json_to_recordset(%s::json) AS v(id bigint, goals text) WHERE e.id = v.id",
                [
                    json.dumps(
                        [{"id": pk, "goals": json.dumps(value)} for pk, value in goals.items()]
                    )
                ],
            )


# The full evaluation: finished enrollments (of the versions it decides) of the batch's customers
# whose goal window is still open at one of their events (entered_at + the version's widest goal
# window > the customer's first event of the batch), with a goal still to convert; through
# enrollment_customer_journey (customer first), locked in id order. A window that closed is never
# read again: nothing is scheduled for it.
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
  AND e.version_id = ANY(%(versions)s::bigint[]) AND e.entered_at <= b.last_at
  AND jsonb_array_length(e.goals) < jsonb_array_length(coalesce(v.settings -> 'goals', '[]'::jsonb))
  AND e.entered_at + make_interval(secs => (
        SELECT max(coalesce({DURATION_SECONDS_SQL.format(d="g -> 'window'")}, {DEFAULT_WINDOW.total_seconds()}))
        FROM jsonb_array_elements(v.settings -> 'goals') g)) > b.first_at
"""


def _open_windows(
    *,
    exists: bool,
    workspace_id: int,
    event_ids: list[int] | None,
    customer_ids: list[int] | None,
    now: datetime,
    versions: list[int],
    batch: list[tuple[int, str, str]] | None = None,
) -> tuple[str, dict]:
    params = {
        "ws": workspace_id,
        "ids": id_array(event_ids or []),
        "customers": list(customer_ids or []),
        "now": now,
        "versions": list(versions),
    }
    if batch is not None:
        sql = _READ_BATCH
        params.update(
            customers=[row[0] for row in batch],
            firsts=[row[1] for row in batch],
            lasts=[row[2] for row in batch],
        )
    else:
        sql = _EVENT_BATCH if event_ids is not None else _CUSTOMER_BATCH
    sql = _OPEN_WINDOWS_FROM.format(
        batch=sql, columns="1" if exists else "e.id, e.version_id, e.customer_id"
    )
    sql = f"SELECT EXISTS ({sql})" if exists else sql + "ORDER BY e.id FOR UPDATE OF e"
    return sql, params


def event_batch_customers(*, workspace_id: int, event_ids: list[int]) -> list[tuple[int, str, str]]:
    """(customer, first occurred_at, last occurred_at) of a stored batch's customers, the moments as
    PostgreSQL's text: they only go back into the next statement, and parsing 2,000 timestamps into
    datetimes cost more than the statement (profiled)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id, first_at::text, last_at::text FROM ({_EVENT_BATCH}) AS b",
            {"ws": workspace_id, "ids": id_array(event_ids)},
        )
        return cursor.fetchall()


def _id_in(ids) -> SQL:
    """`id = ANY('{…}'::bigint[])` as one array literal: `id__in` makes each of a batch's ~1,000 ids a
    parameter of its own, whose conversion cost more than the whole rest of the check (profiled)."""
    return SQL("{0} = ANY(%s::bigint[])", [F("id")], [id_array(ids)])


def finished_windows_open(
    *,
    workspace_id: int,
    event_ids: list[int] | None = None,
    customer_ids: list[int] | None = None,
    now: datetime | None = None,
    names: frozenset[str] | None = None,
) -> bool:
    """Whether any of these events' (or changed customers') customers has a finished enrollment
    with a goal window open that they may convert: the hooks' check when nothing in the workspace
    is live (a stopped journey's goals). Nothing to read when the workspace has no goal, nor for
    the one-event goals when the batch's event names (if given) hold none of theirs; a profile
    change never converts a goal that is one event."""
    now = now or timezone.now()
    found = workspace_goals(workspace_id)
    if (
        event_ids is not None
        and (names is None or found.matters_to(names))
        and _fast_windows_open(found, workspace_id=workspace_id, event_ids=event_ids, now=now)
    ):
        return True
    return _full_windows_open(
        found, workspace_id=workspace_id, event_ids=event_ids, customer_ids=customer_ids, now=now
    )


def _full_windows_open(found: WorkspaceGoals, **batch) -> bool:
    """The full evaluation's EXISTS; `batch` is _open_windows' workspace_id, event_ids,
    customer_ids and now."""
    if not found.full:
        return False
    sql, params = _open_windows(exists=True, versions=found.full, **batch)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def finished_goals_convert(
    *,
    workspace_id: int,
    now: datetime,
    event_ids: list[int] | None = None,
    customer_ids: list[int] | None = None,
) -> int:
    """Converts goals of enrollments that completed or exited before these events or profile
    changes (holdout ones included): one-event goals by one statement over the batch's events of
    their names (_fast_goals_convert), the others by the full evaluation (one query finds the open
    windows, facts load once per version). Returns how many conversions were recorded. Exits
    nothing: those already left."""
    found = workspace_goals(workspace_id)
    converted = 0
    if event_ids is not None:
        converted += _fast_goals_convert(
            found, workspace_id=workspace_id, event_ids=event_ids, now=now
        )
    # The usual answer is no: one statement (the batch read inside it), no transaction.
    where = {
        "workspace_id": workspace_id,
        "event_ids": event_ids,
        "customer_ids": customer_ids,
        "now": now,
    }
    if not _full_windows_open(found, **where):
        return converted
    # Some window is open: the batch is read once more, as text, for the locking statement below.
    batch = (
        None
        if event_ids is None
        else event_batch_customers(workspace_id=workspace_id, event_ids=event_ids)
    )
    if batch == []:
        return converted
    sql, params = _open_windows(exists=False, versions=found.full, batch=batch, **where)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            windows = cursor.fetchall()
        if not windows:
            return converted
        enrollments = {
            e.id: e for e in Enrollment.objects.unscoped().filter(_id_in(row[0] for row in windows))
        }
        customers = {
            c.pk: c for c in Customer.objects.unscoped().filter(_id_in({row[2] for row in windows}))
        }
        by_version: dict[int, list[Enrollment]] = {}
        for row in windows:
            by_version.setdefault(row[1], []).append(enrollments[row[0]])
        steps, changed = [], []
        for version_id, members in by_version.items():
            version = compiled_version(version_id)
            if version is None:
                continue
            facts = facts_for(
                workspace_id=workspace_id,
                customers=[customers[c] for c in {e.customer_id for e in members}],
                conditions=[
                    g["condition"] for g in version.goals if isinstance(g.get("condition"), dict)
                ]
                + value_clauses(version.goals)
                + version.key_loaders(),
            )
            for e in members:
                reached = {g.get("id") for g in e.goals or []}
                for goal in version.goals:
                    if goal.get("id") in reached:
                        continue
                    hit = first_conversion(
                        goal,
                        goal_facts(goal, facts[e.customer_id], version, e.key),
                        entered_at=e.entered_at,
                        now=now,
                    )
                    if hit is None:
                        continue
                    at, value = hit
                    e.goals = [
                        *(e.goals or []),
                        {"id": goal["id"], "at": at.isoformat(), "value": value},
                    ]
                    steps.append(
                        (
                            e.workspace_id,
                            e.id,
                            e.journey_id,
                            e.version_id,
                            e.customer_id,
                            e.node_id,
                            StepEvent.Kind.GOAL.value,
                            "",
                            "",
                            e.step_seq,
                            now,
                            {"goal_id": goal["id"], "value": value},
                        )
                    )
                    changed.append(e)
                    converted += 1
        write_steps(steps)
        _goals_write({e.id: e.goals for e in changed})
    return converted
