"""The engine's row I/O: the lock-and-load statements, the plain enrollment rows it carries, and
the bulk writes of a batch (positions, StepEvent COPY, profile patches, held wakes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models.base import ModelState

from audiences.models import Customer

from ..models import Enrollment


def raw_cursor() -> psycopg.Cursor:
    """A psycopg cursor with server-side binding on the ORM's connection and transaction: the
    bulk statements' arrays travel as parameters instead of being quoted in Python. The engine's
    hot statements also pass `prepare=True`: parsed and planned once per connection (Django
    leaves psycopg's automatic preparing off)."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


ENROLLMENT_FIELDS = (
    "id", "workspace_id", "journey_id", "version_id", "customer_id", "state", "node_id", "step_seq",
    "wake_at", "entered_at", "finished_at", "exit_reason", "holdout", "context", "goals", "wait", "key",
)


class EnrollmentRow:
    """An enrollment as the engine carries it: the Enrollment model's attribute names on a plain
    slotted object (an ORM instance costs more to build than the node executions it feeds)."""

    __slots__ = ENROLLMENT_FIELDS

    def __init__(self, values: Iterable) -> None:
        for name, value in zip(ENROLLMENT_FIELDS, values, strict=True):
            setattr(self, name, value)


AnyEnrollment = EnrollmentRow | Enrollment  # simulation runs an unsaved Enrollment


# The texts most rows hold, as PostgreSQL prints them, built without the decoder: the empty ones,
# and the `wait` of a timed wait (Run.apply), which every timer wake of a batch reads.
_EMPTY_JSON = {
    "{}": dict,
    "[]": list,
    '{"data": {}, "event": null, "where": null}': lambda: {"data": {}, "event": None, "where": None},
}


def _json(value: Any) -> Any:
    """jsonb read as text (see _LOCK_AND_LOAD): the empty values most rows hold skip the decoder."""
    if not isinstance(value, str):
        return value
    empty = _EMPTY_JSON.get(value)
    return empty() if empty is not None else json.loads(value)


_CUSTOMER_FIELDS = Customer._meta.concrete_fields
_CUSTOMER_NAMES = [f.attname for f in _CUSTOMER_FIELDS]
_CUSTOMER_JSON = [i for i, f in enumerate(_CUSTOMER_FIELDS) if f.get_internal_type() == "JSONField"]
_CUSTOMER_ID_AT = _CUSTOMER_NAMES.index("id")
_JSON_AT = [ENROLLMENT_FIELDS.index(name) for name in ("context", "goals", "wait")]

# One round trip locks and loads a batch: enrollments (SKIP LOCKED) joined with their customers.
# "Not finished" rather than "state IN ('active', 'waiting')": the latter matches the predicate of
# enrollment_one_active_per_customer_key, and the generic plan of the prepared statement then ANDs a
# scan of that whole index (every live row) with the primary key (measured: 4 ms per batch).
# jsonb columns come as text: psycopg's jsonb loader would decode every one of them, while most
# enrollments hold empty ones and a customer's are only decoded if a node builds the customer.
_LOCK_AND_LOAD = (
    "SELECT " + ", ".join(f"e.{name}::text" if i in _JSON_AT else f"e.{name}" for i, name in enumerate(ENROLLMENT_FIELDS))
    + ", " + ", ".join(f"c.{f.column}::text" if i in _CUSTOMER_JSON else f"c.{f.column}" for i, f in enumerate(_CUSTOMER_FIELDS))
    + " FROM journeys_enrollment e JOIN audiences_customer c ON c.id = e.customer_id"
    " WHERE e.id = ANY(%b) AND e.state NOT IN ('completed', 'exited', 'failed')"
    " ORDER BY e.id FOR UPDATE OF e SKIP LOCKED"
)
# Timer wakes (the pump's batches) lock the enrollments alone and load customers for the batch on
# first use (Run.customer): a wait that passes on to a message-free path never builds one, and at
# the pump's 1,000 ids the planner hashed the join over a seq scan of every customer (EXPLAIN
# ANALYZE: 14 of 24 ms per batch at 100k customers).
_LOCK_WAKES = (
    "SELECT " + ", ".join(f"e.{name}::text" if i in _JSON_AT else f"e.{name}" for i, name in enumerate(ENROLLMENT_FIELDS))
    + " FROM journeys_enrollment e"
    " WHERE e.id = ANY(%b) AND e.state NOT IN ('completed', 'exited', 'failed')"
    " ORDER BY e.id FOR UPDATE SKIP LOCKED"
)
_LOAD_CUSTOMERS = (
    "SELECT " + ", ".join(f"c.{f.column}::text" if i in _CUSTOMER_JSON else f"c.{f.column}" for i, f in enumerate(_CUSTOMER_FIELDS))
    + " FROM audiences_customer c WHERE c.id = ANY(%b)"
)


def customer_from_row(values: list) -> Customer:
    """What Customer.from_db builds, without Model.__init__'s per-field descriptor and signal work
    (Customer defines no __init__ of its own): a branch node builds one per customer of a batch."""
    for i in _CUSTOMER_JSON:
        values[i] = _json(values[i])
    customer = Customer.__new__(Customer)
    customer.__dict__.update(zip(_CUSTOMER_NAMES, values, strict=True))
    customer._state = ModelState()
    customer._state.adding = False
    customer._state.db = DEFAULT_DB_ALIAS
    return customer


def journeys_lock(enrollment_ids: list[int]) -> list[tuple[int, str, str]]:
    """(id, status, name) of the journeys of these enrollments, FOR KEY SHARE: a stop/pause (FOR
    UPDATE on the journey, then its enrollments) waits for running batches and later batches see
    it, in one lock order."""
    with raw_cursor() as cursor:
        cursor.execute(
            "SELECT id, status, name FROM journeys_journey WHERE id IN"
            " (SELECT DISTINCT journey_id FROM journeys_enrollment WHERE id = ANY(%b))"
            " ORDER BY id FOR KEY SHARE",
            [enrollment_ids],
            prepare=True,
        )
        return cursor.fetchall()


def lock_and_load(ids: list[int], *, customers: bool, customer_rows: dict[int, list],
                  deferred_customers: set[int]) -> list[EnrollmentRow]:
    """Locks the live enrollments among `ids` (SKIP LOCKED) and loads them with their customers,
    in one prepared statement, as plain rows; the customers' rows go to `customer_rows` (they
    become model instances on first use). Without `customers` (timer wakes, see _LOCK_WAKES) their
    ids go to `deferred_customers`, to load on first use."""
    locked = []
    width = len(ENROLLMENT_FIELDS)
    with raw_cursor() as cursor:
        # Binary results: timestamps and arrays decode without parsing text.
        cursor.execute(_LOCK_AND_LOAD if customers else _LOCK_WAKES, [ids], prepare=True, binary=True)
        for row in cursor.fetchall():
            values = list(row[:width])
            for i in _JSON_AT:
                values[i] = _json(values[i])
            e = EnrollmentRow(values)
            locked.append(e)
            if customers:
                customer_rows[row[width + _CUSTOMER_ID_AT]] = list(row[width:])
            else:
                deferred_customers.add(e.customer_id)
    return locked


def load_customers(ids: list[int], customer_rows: dict[int, list]) -> None:
    """Loads these customers' rows into `customer_rows` in one statement."""
    with raw_cursor() as cursor:
        cursor.execute(_LOAD_CUSTOMERS, [ids], prepare=True, binary=True)
        for row in cursor.fetchall():
            customer_rows[row[_CUSTOMER_ID_AT]] = list(row)


# Binary COPY: no text formatting of timestamps and integers on either side.
_COPY_STEPS = (
    "COPY journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id, customer_id,"
    " node_id, kind, handle, to_node_id, step_seq, at, data) FROM STDIN (FORMAT BINARY)"
)
# `data` goes as bytea: binary COPY sends each field's bytes as given and the server reads them
# with the column's type, so jsonb's binary form (version byte 1, then the JSON text) encoded here
# by orjson reaches jsonb_recv unchanged, without psycopg's Python jsonb dumper on every row.
_STEP_TYPES = [
    "int8", "int8", "int8", "int8", "int8", "varchar", "varchar", "varchar", "varchar", "int4", "timestamptz", "bytea",
]
_EMPTY_JSONB = b"\x01{}"  # most steps carry no data: skip the encoder
# Datetimes and dataclasses go through `default` like every type orjson does not know, so they
# read as json.dumps(default=str) writes them ("2026-01-01 10:00:00+00:00", not orjson's "T").
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_bytes(data: Any) -> bytes:
    """`data` as JSON, as json.dumps(data, default=str) writes it but for whitespace (jsonb does
    not keep it), several times faster: the engine encodes every step's data and every batch's
    positions. What orjson refuses (keys that are not strings, integers past 64 bits) goes
    through json.dumps."""
    try:
        return orjson.dumps(data, default=str, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, default=str).encode()


def write_steps(rows: list[tuple]) -> None:
    """Appends StepEvent rows (tuples in _COPY_STEPS's column order) with one binary COPY."""
    if not rows:
        return
    with raw_cursor() as cursor, cursor.copy(_COPY_STEPS) as copy:
        copy.set_types(_STEP_TYPES)
        for row in rows:
            data = row[11]
            copy.write_row((*row[:11], b"\x01" + json_bytes(data) if data else _EMPTY_JSONB))


# The batch's rows travel as one JSON document: one C-speed json.dumps, where ten parameter
# arrays cost psycopg a Python call per element (measured: the largest part of writing a batch).
# Timestamps and jsonb are read as text and cast: json_to_recordset's own conversion of those
# columns cost twice as much (measured: ~4 µs of PostgreSQL CPU per row).
_UPDATE_ENROLLMENTS = """
    UPDATE journeys_enrollment AS e SET
        state = v.state, node_id = v.node_id, step_seq = v.step_seq, wake_at = v.wake_at::timestamptz,
        finished_at = v.finished_at::timestamptz, exit_reason = v.exit_reason,
        goals = v.goals::jsonb, wait = v.wait::jsonb, version_id = v.version_id
    FROM json_to_recordset(%s::json)
         AS v(id bigint, state text, node_id text, step_seq int, wake_at text, finished_at text,
              exit_reason text, goals text, wait text, version_id bigint)
    WHERE e.id = v.id
"""


def write_enrollments(enrollments: Iterable[AnyEnrollment]) -> None:
    """Writes the moved enrollments' positions in one statement."""
    rows = [
        {"id": e.id, "state": e.state, "node_id": e.node_id, "step_seq": e.step_seq, "wake_at": e.wake_at,
         "finished_at": e.finished_at, "exit_reason": e.exit_reason, "goals": e.goals or [], "wait": e.wait or {},
         "version_id": e.version_id}
        for e in enrollments
    ]
    if not rows:
        return
    with raw_cursor() as cursor:
        # Datetimes are written as "2026-01-01 10:00:00.5+00:00" (json_bytes), which timestamptz reads.
        cursor.execute(_UPDATE_ENROLLMENTS, [json_bytes(rows).decode()], prepare=True)


@dataclass
class CustomerPatch:
    """Profile changes of one customer, applied as a JSONB patch (not a rewrite), so concurrent
    API updates of other attributes are not lost."""

    attributes: dict = field(default_factory=dict)
    unset: set = field(default_factory=set)
    add_tags: set = field(default_factory=set)
    remove_tags: set = field(default_factory=set)


def write_customers(patches: dict[int, CustomerPatch], now: datetime) -> None:
    if not patches:
        return
    # jsonb values are read as text and cast, as in _UPDATE_ENROLLMENTS (measured: 2 against 5 ms
    # of PostgreSQL time per 250 customers for json_to_recordset's own jsonb columns).
    ids = sorted(patches)
    with raw_cursor() as cursor:
        # Lock in id order first, so two batches touching the same customers cannot deadlock.
        cursor.execute(
            "SELECT id FROM audiences_customer WHERE id = ANY(%b) ORDER BY id FOR NO KEY UPDATE", [ids], prepare=True
        )
        rows = [
            {"id": i, "set_attrs": patches[i].attributes, "unset": sorted(patches[i].unset),
             "add_tags": sorted(patches[i].add_tags), "remove_tags": sorted(patches[i].remove_tags),
             "touch_tags": bool(patches[i].add_tags or patches[i].remove_tags)}
            for i in ids
        ]
        cursor.execute(
            """
            UPDATE audiences_customer AS c SET
                attributes = (c.attributes || v.set_attrs::jsonb) - ARRAY(SELECT jsonb_array_elements_text(v.unset::jsonb)),
                tags = CASE WHEN v.touch_tags THEN ARRAY(
                    SELECT DISTINCT t FROM unnest(c.tags || ARRAY(SELECT jsonb_array_elements_text(v.add_tags::jsonb))) AS t
                    WHERE t <> ALL(ARRAY(SELECT jsonb_array_elements_text(v.remove_tags::jsonb)))
                ) ELSE c.tags END,
                updated_at = %s
            FROM json_to_recordset(%s::json)
                 AS v(id bigint, set_attrs text, unset text, add_tags text, remove_tags text, touch_tags bool)
            WHERE c.id = v.id
            """,
            [now, json.dumps(rows, default=str)],
            prepare=True,
        )


def hold_wakes(held: list[tuple[int, dict]]) -> None:
    """Appends wakes that arrived while the journey was paused to wait["held"]."""
    if not held:
        return
    with raw_cursor() as cursor:
        cursor.execute(
            """
            UPDATE journeys_enrollment AS e
            SET wait = e.wait || jsonb_build_object('held', COALESCE(e.wait->'held', '[]'::jsonb) || v.wake::jsonb)
            FROM unnest(%s::bigint[], %s::text[]) AS v(id, wake) WHERE e.id = v.id
            """,
            [[i for i, _ in held], [json.dumps([w], default=str) for _, w in held]],
        )
