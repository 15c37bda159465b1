"""Enrollment services: who may enter (audience, window, re-entry, holdout) and the one bulk
insert every entry path uses; removal from a journey."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audiences.conditions import customers_matching, duration_timedelta
from audiences.models import Customer, CustomerList, ListMember, Segment
from workspaces.errors import Conflict, ServiceValidationError

from .dispatch import BATCH_SIZE, advance_enqueue, after_commit
from .engine import advance, compiled_version, raw_cursor, stable_bucket
from .models import Enrollment, Journey, StepEvent
from .timers import timers_update

logger = logging.getLogger(__name__)

# Customers per INSERT statement: large enough for set-based speed, small enough for short locks.
INSERT_CHUNK = 5000
# Customers per transaction when enrolling a whole audience (segment, list, all, an upload).
AUDIENCE_CHUNK = 5000


@dataclass
class EnrollResult:
    enrolled: int = 0
    skipped: int = 0
    ids: list[int] = field(default_factory=list)

    def add(self, other: EnrollResult) -> None:
        self.enrolled += other.enrolled
        self.skipped += other.skipped
        self.ids += other.ids


def _in_window(settings: dict, now: datetime) -> bool:
    window = settings.get("window") or {}
    start = parse_datetime(window["start_at"]) if window.get("start_at") else None
    end = parse_datetime(window["end_at"]) if window.get("end_at") else None
    return (start is None or now >= start) and (end is None or now < end)


def _audience_filter(*, workspace_id: int, condition: dict | None, customer_ids: list[int], now: datetime) -> list[int]:
    if not condition:
        return customer_ids
    allowed = set(
        customers_matching(workspace_id=workspace_id, condition=condition, now=now)
        .filter(id__in=customer_ids)
        .values_list("id", flat=True)
    )
    return [c for c in customer_ids if c in allowed]


def _re_entry_sql(settings: dict, journey_id: int, now: datetime) -> tuple[str, list]:
    """The SQL guard for the re-entry policy, per customer and key; the partial unique index
    already keeps one live enrollment per customer and key, whatever the policy."""
    re_entry = settings.get("re_entry") or {"policy": "never"}
    policy = re_entry.get("policy", "never")
    if policy == "always":
        return "TRUE", []
    previous = (
        "SELECT 1 FROM journeys_enrollment p"
        " WHERE p.journey_id = %s AND p.customer_id = t.customer_id AND p.key = COALESCE(t.key, '')"
    )
    if policy == "after":
        # The cooldown counts from the previous entry (Braze's "re-eligibility" window).
        cutoff = now - duration_timedelta(re_entry["cooldown"])
        return f"NOT EXISTS ({previous} AND p.entered_at > %s)", [journey_id, cutoff]
    return f"NOT EXISTS ({previous})", [journey_id]


def enrollments_create(
    *,
    journey: Journey,
    customer_ids: Iterable[int],
    contexts: dict[int, dict] | None = None,
    start_at: dict[int, datetime] | None = None,
    now: datetime | None = None,
    re_entry: dict | None = None,
    run_now: bool = False,
    key: str = "",
    keys: dict[int, str] | None = None,
) -> EnrollResult:
    """Enrolls customers (ids of the journey's workspace) into its live version: audience filter,
    entry window and re-entry policy applied, at most one live enrollment per customer (INSERT …
    ON CONFLICT DO NOTHING), holdout chosen stickily. `contexts` gives per-customer context (the
    trigger event); `start_at` parks a customer before the start node until that time (date
    entries); `re_entry` overrides the journey's policy; `key` is the pass's key in a keyed
    journey (one live pass per customer and key), `keys` a key per customer (event entries: a
    batch of carts enters in one INSERT, not one per cart). The engine runs the new enrollments
    after commit: queued, or with `run_now` (callers already in a worker, like event entries)
    right there, saving a queue hop. A journey that is not active takes nobody."""
    now = now or timezone.now()
    wanted = list(dict.fromkeys(customer_ids))
    result = EnrollResult(skipped=len(wanted))
    if journey.status != Journey.Status.ACTIVE or journey.live_version_id is None or not wanted:
        return result
    version = compiled_version(journey.live_version_id)
    settings = version.settings
    if version.start_id is None or not _in_window(settings, now):
        return result
    holdout_percent = float((settings.get("holdout") or {}).get("percent") or 0)
    if re_entry is not None:
        settings = {**settings, "re_entry": re_entry}
    guard, guard_params = _re_entry_sql(settings, journey.id, now)
    contexts = contexts or {}
    start_at = start_at or {}
    result = EnrollResult()
    for i in range(0, len(wanted), INSERT_CHUNK):
        chunk = wanted[i : i + INSERT_CHUNK]
        allowed = _audience_filter(
            workspace_id=journey.workspace_id, condition=settings.get("audience"), customer_ids=chunk, now=now
        )
        rows = _insert(
            journey=journey,
            version_id=version.id,
            start_id=version.start_id,
            customer_ids=allowed,
            # Empty lists where every customer has the default (no context, no holdout, no parking):
            # unnest pads them with NULLs, the INSERT reads those as the defaults, and the API's
            # bulk enrollments skip a hash and an encoded value per customer.
            contexts=[json.dumps(contexts.get(c) or {}, default=str) for c in allowed] if contexts else [],
            holdouts=(
                [stable_bucket("holdout", journey.id, c) < holdout_percent * 100 for c in allowed]
                if holdout_percent > 0 else []
            ),
            wakes=[start_at.get(c) for c in allowed] if start_at else [],
            keys=[keys.get(c, key) for c in allowed] if keys else [key] * len(allowed) if key else [],
            guard=guard,
            guard_params=guard_params,
            now=now,
        )
        result.add(EnrollResult(enrolled=len(rows), skipped=len(chunk) - len(rows), ids=[r[0] for r in rows]))
        _after_insert(rows, run_now=run_now)
    return result


def _insert(*, journey, version_id, start_id, customer_ids, contexts, holdouts, wakes, keys, guard, guard_params, now):
    if not customer_ids:
        return []
    # `known` looks up exactly these ids by primary key: joined with the customer table itself, the
    # planner hashed every customer of the workspace for each chunk whenever the table's statistics
    # were missing or stale (measured: 30 ms per 5,000 ids at 100,000 customers).
    # The arrays go as binary parameters and the rows come back binary: as text, psycopg quoted
    # and escaped every context's JSON with a regular expression and parsed every returned
    # timestamp in Python (an event entry's largest cost in the worker, profiled).
    with raw_cursor() as cursor:
        cursor.execute(
            f"""
            WITH t AS (
                SELECT * FROM unnest(%b::bigint[], %b::text[], %b::bool[], %b::timestamptz[], %b::text[])
                    AS t(customer_id, context, holdout, wake_at, key)
            ), known AS (
                SELECT id FROM audiences_customer WHERE id = ANY(%b::bigint[]) AND workspace_id = %s
            ), ins AS (
                INSERT INTO journeys_enrollment (workspace_id, journey_id, version_id, customer_id, state,
                    node_id, step_seq, wake_at, entered_at, exit_reason, holdout, context, goals, wait, key)
                SELECT %s, %s, %s, t.customer_id,
                       CASE WHEN t.wake_at IS NULL THEN 'active' ELSE 'waiting' END,
                       %s, 0, COALESCE(t.wake_at, %s), %s, '', COALESCE(t.holdout, false),
                       COALESCE(t.context, '{{}}')::jsonb, '[]'::jsonb,
                       CASE WHEN t.wake_at IS NULL THEN '{{}}'::jsonb ELSE '{{"entry": true}}'::jsonb END,
                       COALESCE(t.key, '')
                FROM t JOIN known c ON c.id = t.customer_id
                WHERE {guard}
                  AND EXISTS (SELECT 1 FROM journeys_journey j WHERE j.id = %s AND j.status = 'active')
                ON CONFLICT DO NOTHING
                RETURNING id, customer_id, state, wake_at
            ), steps AS (
                INSERT INTO journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id,
                    customer_id, node_id, kind, handle, step_seq, at, data)
                SELECT %s, ins.id, %s, %s, ins.customer_id, %s, %s, '', 0, %s, '{{}}'::jsonb FROM ins
            )
            SELECT id, customer_id, state, wake_at FROM ins
            """,
            [
                customer_ids, contexts, holdouts, wakes, keys,
                customer_ids, journey.workspace_id,
                journey.workspace_id, journey.id, version_id, start_id, now, now,
                *guard_params,
                journey.id,
                journey.workspace_id, journey.id, version_id, start_id, StepEvent.Kind.ENTERED, now,
            ],
            binary=True,
        )
        return cursor.fetchall()


def _after_insert(rows: list[tuple], *, run_now: bool = False) -> None:
    """Active ones run (queued, or in this process with `run_now` for up to a batch); parked
    ones get their timer (all after commit)."""
    items = [[r[0], 0, None] for r in rows if r[2] == Enrollment.State.ACTIVE]
    if run_now and 0 < len(items) <= BATCH_SIZE:
        after_commit(lambda: _advance_or_enqueue(items))
    else:
        advance_enqueue(items)
    parked = {r[0]: r[3] for r in rows if r[2] == Enrollment.State.WAITING}
    if parked:
        after_commit(lambda: timers_update(add=parked))


def _advance_or_enqueue(items: list[list]) -> None:
    try:
        advance(items=items)
    except Exception:  # whatever failed here, a worker retries it like any queued batch
        logger.exception("advancing new enrollments in place failed; queueing them")
        advance_enqueue(items)


def enroll_in_chunks(*, journey: Journey, customer_ids, now: datetime | None = None) -> EnrollResult:
    """Enrolls an iterable of customer ids, AUDIENCE_CHUNK per transaction."""
    result, chunk = EnrollResult(), []
    for customer_id in customer_ids.iterator(chunk_size=AUDIENCE_CHUNK) if hasattr(customer_ids, "iterator") else customer_ids:
        chunk.append(customer_id)
        if len(chunk) >= AUDIENCE_CHUNK:
            with transaction.atomic():
                result.add(enrollments_create(journey=journey, customer_ids=chunk, now=now))
            chunk = []
    if chunk:
        with transaction.atomic():
            result.add(enrollments_create(journey=journey, customer_ids=chunk, now=now))
    return result


def enrollments_exit(*, enrollment_ids: Sequence[int] | None = None, journey: Journey | None = None,
                     reason: str, version_ids_not: Sequence[int] | None = None,
                     node_ids_not: Sequence[str] | None = None) -> int:
    """Exits live enrollments set-based (by ids, or every live one of `journey` optionally
    limited to those whose node is not in `node_ids_not`), with StepEvents, and clears their
    timers after commit. Returns how many exited."""
    conditions, params = ["e.state IN ('active', 'waiting')"], []
    if enrollment_ids is not None:
        conditions.append("e.id = ANY(%s)")
        params.append(list(enrollment_ids))
    if journey is not None:
        conditions.append("e.journey_id = %s")
        params.append(journey.id)
    if version_ids_not is not None:
        conditions.append("NOT (e.version_id = ANY(%s))")
        params.append(list(version_ids_not))
    if node_ids_not is not None:
        conditions.append("NOT (e.node_id = ANY(%s))")
        params.append(list(node_ids_not))
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH gone AS (
                UPDATE journeys_enrollment e SET state = 'exited', exit_reason = %s, finished_at = %s,
                    wake_at = NULL, wait = '{{}}'::jsonb, step_seq = e.step_seq + 1
                WHERE {" AND ".join(conditions)}
                RETURNING e.id, e.workspace_id, e.journey_id, e.version_id, e.customer_id, e.node_id, e.step_seq
            ), steps AS (
                INSERT INTO journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id,
                    customer_id, node_id, kind, handle, step_seq, at, data)
                SELECT workspace_id, id, journey_id, version_id, customer_id, node_id, 'exited', '',
                       step_seq - 1, %s, jsonb_build_object('reason', %s::text) FROM gone
            )
            SELECT id FROM gone
            """,
            [reason, now, *params, now, reason],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if ids:
        after_commit(lambda: timers_update(remove=ids))
    return len(ids)


def enrollment_remove(*, journey: Journey, customer: Customer) -> bool:
    """DELETE /journeys/{id}/enrollments/{customer_id}: the live enrollment exits (`removed`)."""
    live = Enrollment.objects.for_workspace(journey.workspace_id).filter(
        journey=journey, customer=customer, state__in=(Enrollment.State.ACTIVE, Enrollment.State.WAITING)
    ).values_list("id", flat=True)
    ids = list(live)
    return bool(ids) and enrollments_exit(enrollment_ids=ids, reason="removed") > 0


# ---- POST /journeys/{id}/enrollments ---------------------------------------------------------
MAX_API_CUSTOMER_IDS = 100_000
CSV_ID_COLUMNS = ("external_id", "customerId")


def _customer_ids_for(*, workspace_id: int, external_ids: list[str]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM audiences_customer WHERE workspace_id = %s AND external_id = ANY(%s)",
            [workspace_id, external_ids],
        )
        return [row[0] for row in cursor.fetchall()]


def _csv_external_ids(upload) -> list[str]:
    try:
        text = io.TextIOWrapper(upload.file if hasattr(upload, "file") else upload, encoding="utf-8-sig")
        reader = csv.DictReader(text)
        column = next((c for c in CSV_ID_COLUMNS if c in (reader.fieldnames or [])), None)
        if column is None:
            raise ServiceValidationError({"file": ["The CSV needs an external_id (or customerId) column."]})
        ids = [row[column].strip() for row in reader if (row.get(column) or "").strip()]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ServiceValidationError({"file": [f"Not a readable UTF-8 CSV file: {exc}"]}) from exc
    if len(ids) > MAX_API_CUSTOMER_IDS:
        raise ServiceValidationError({"file": [f"At most {MAX_API_CUSTOMER_IDS} customers per upload."]})
    if any("\x00" in x for x in ids):  # PostgreSQL text cannot hold it (a 500 otherwise)
        raise ServiceValidationError({"file": ["An external_id contains a NUL character."]})
    return ids


def enrollments_request(
    *, journey: Journey, customer_ids: list[str] | None = None, list_id: int | None = None,
    segment_id: int | None = None, all_customers: bool = False, file=None,
) -> EnrollResult:
    """The API's manual enrollment: external ids, a list, a segment, everyone or a CSV of ids.
    409 unless the journey is active; a list or segment of another workspace is a 400."""
    if journey.status != Journey.Status.ACTIVE:
        raise Conflict(f"The journey is {journey.status}; customers can only enter an active journey.")
    workspace_id = journey.workspace_id
    if file is not None:
        customer_ids = _csv_external_ids(file)
    if customer_ids is not None:
        internal = _customer_ids_for(workspace_id=workspace_id, external_ids=list(dict.fromkeys(customer_ids)))
        result = enroll_in_chunks(journey=journey, customer_ids=internal)
        result.skipped += len(set(customer_ids)) - len(internal)  # unknown ids
        return result
    if list_id is not None:
        if not CustomerList.objects.for_workspace(workspace_id).filter(pk=list_id).exists():
            raise ServiceValidationError({"list_id": [f"No list with id {list_id} in this workspace."]})
        ids = ListMember.objects.for_workspace(workspace_id).filter(customer_list_id=list_id)
        return enroll_in_chunks(journey=journey, customer_ids=list(ids.values_list("customer_id", flat=True)))
    if segment_id is not None:
        if not Segment.objects.for_workspace(workspace_id).filter(pk=segment_id).exists():
            raise ServiceValidationError({"segment_id": [f"No segment with id {segment_id} in this workspace."]})
        ids = customers_matching(workspace_id=workspace_id, condition={"segment": segment_id})
        return enroll_in_chunks(journey=journey, customer_ids=list(ids.values_list("id", flat=True)))
    if all_customers:
        ids = Customer.objects.for_workspace(workspace_id).values_list("id", flat=True)
        return enroll_in_chunks(journey=journey, customer_ids=list(ids))
    raise ServiceValidationError({"customer_ids": ['Give one of "customer_ids", "list_id", "segment_id", "all": true or a CSV file.']})


# ---- Reads ------------------------------------------------------------------------------------
def enrollments_list(
    *, journey: Journey, state: str | None = None, customer_external_id: str | None = None, key: str | None = None
):
    queryset = Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey).select_related(
        "customer", "version"
    )
    if state:
        queryset = queryset.filter(state=state)
    if customer_external_id:
        queryset = queryset.filter(customer__external_id=customer_external_id)
    if key is not None:
        queryset = queryset.filter(key=key)
    return queryset


def enrollment_latest(*, journey: Journey, external_id: str, key: str | None = None) -> Enrollment | None:
    """The customer's most recent pass through the journey (with `key`: through that key's)."""
    queryset = Enrollment.objects.for_workspace(journey.workspace_id)
    if key is not None:
        queryset = queryset.filter(key=key)
    return (
        queryset
        .filter(journey=journey, customer__external_id=external_id)
        .select_related("customer", "version")
        .order_by("-id")
        .first()
    )


def enrollment_history(*, enrollment: Enrollment) -> list[dict]:
    """Every move in order; a "passed" row that carries its arrival (StepEvent.to_node_id) reads
    as the passed step followed by the "arrived" one."""
    history = []
    for step in (
        StepEvent.objects.for_workspace(enrollment.workspace_id)
        .filter(enrollment=enrollment)
        .order_by("id")
        .values("node_id", "kind", "handle", "at", "step_seq", "data", "to_node_id")
    ):
        to_node_id = step.pop("to_node_id")
        history.append(step)
        if to_node_id:
            history.append({"node_id": to_node_id, "kind": StepEvent.Kind.ARRIVED, "handle": "", "at": step["at"],
                            "step_seq": step["step_seq"] + 1, "data": {}})
    return history
