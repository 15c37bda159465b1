"""Writes of the audiences app: customer upserts and erasure, event ingest, segments, lists, and
CSV imports. Every function takes the workspace and touches only its rows; hooks fire on commit."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, NamedTuple

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from workspaces.errors import ServiceValidationError
from workspaces.models import Workspace
from workspaces.parsers import MAX_DEPTH, json_problem, text_problem

from . import hooks, topics
from .conditions import ConditionError, segment_cycle, validate_condition
from .models import Customer, CustomerList, ImportJob, ListMember, Segment
from .normalize import (
    CHANNELS,
    MAX_EXTERNAL_ID,
    PUSH_PLATFORMS,
    FieldError,
    email_clean,
    external_id_clean,
    locale_clean,
    phone_clean,
    tags_clean,
    timezone_clean,
)
from .sql_arrays import id_array, text_array
from .upload_text import Utf8Lines

logger = logging.getLogger(__name__)

MAX_BATCH = 10_000  # API.md: ≤ 10,000 customers or events per call
MAX_ATTRIBUTES_BYTES = 64 * 1024
MAX_EVENT_NAME = 200  # Event.name's column width
MAX_PROPERTIES_BYTES = 32 * 1024
MAX_IDEMPOTENCY_ID = 255
CUSTOMER_FIELDS = {
    "external_id", "email", "phone", "timezone", "locale", "attributes", "tags", "push_tokens", "unsubscribed",
    "subscriptions",
}


def _on_commit_customers_changed(workspace_id: int, ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: hooks.customers_changed(workspace_id=workspace_id, customer_ids=ids))


# ---- Customers ----------------------------------------------------------------------------
def _merge_attributes(current: dict, patch: dict) -> dict:
    """JSON merge patch (RFC 7396) at the top level: a null value removes the attribute."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _clean_push_tokens(value) -> list[dict]:
    if not isinstance(value, list) or len(value) > 50:
        raise FieldError("push_tokens must be a list of at most 50 {platform, token}")
    tokens = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"platform", "token", "valid"}:
            raise FieldError("each push token must be {platform, token}")
        if item.get("platform") not in PUSH_PLATFORMS:
            raise FieldError(f"push token platform must be one of {', '.join(PUSH_PLATFORMS)}")
        token = item.get("token")
        if not isinstance(token, str) or not token.strip() or len(token) > 4096:
            raise FieldError("push token must be a non-empty string of at most 4096 characters")
        valid = item.get("valid", True)
        if not isinstance(valid, bool):
            raise FieldError("push token valid must be a boolean")
        tokens.append({"platform": item["platform"], "token": token.strip(), "valid": valid})
    return tokens


def _merge_push_tokens(current: list[dict], new: list[dict], now: datetime) -> list[dict]:
    """A token given again replaces the stored one (revalidating it); others are kept."""
    given = {t["token"] for t in new}
    stamp = now.isoformat()
    return [t for t in current if t.get("token") not in given] + [{**t, "updated_at": stamp} for t in new]


def _clean_customer_fields(data: dict, *, partial: bool, region: str = "") -> dict[str, Any]:
    """The given fields of one customer, cleaned; raises FieldError naming the first bad one. A
    phone without "+" is read in `region` (the workspace's default country)."""
    unknown = set(data) - CUSTOMER_FIELDS
    if unknown:
        raise FieldError(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    cleaners = {
        "email": email_clean,
        "phone": lambda v: phone_clean(v, region),
        "timezone": timezone_clean,
        "locale": locale_clean,
        "attributes": _clean_attributes,
        "tags": tags_clean,
        "push_tokens": lambda v: _clean_push_tokens(v or []),
        "unsubscribed": _clean_unsubscribed,
        "subscriptions": topics.subscriptions_clean,
    }
    cleaned: dict[str, Any] = {}
    if not partial:
        cleaned["external_id"] = external_id_clean(data.get("external_id"))
    for name, clean in cleaners.items():
        if name in data:
            try:
                cleaned[name] = clean(data[name])
            except FieldError as exc:
                exc.field = name
                raise
    return cleaned


def _clean_attributes(value) -> dict:
    attributes = {} if value is None else value
    if not isinstance(attributes, dict):
        raise FieldError("attributes must be an object")
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise FieldError(f"attributes must be at most {MAX_ATTRIBUTES_BYTES // 1024} KiB as JSON")
    return attributes


def _clean_unsubscribed(value) -> list[str]:
    value = value or []
    if not isinstance(value, list) or any(c not in CHANNELS for c in value):
        raise FieldError(f"unsubscribed must be a list of channels ({', '.join(CHANNELS)})")
    return sorted(set(value))


def _apply(customer: Customer, cleaned: dict[str, Any], now: datetime) -> None:
    for name in ("email", "phone", "timezone", "locale", "tags", "unsubscribed"):
        if name in cleaned:
            setattr(customer, name, cleaned[name])
    if "attributes" in cleaned:
        customer.attributes = _merge_attributes(customer.attributes, cleaned["attributes"])
    if "push_tokens" in cleaned:
        customer.push_tokens = _merge_push_tokens(customer.push_tokens, cleaned["push_tokens"], now)
    if "subscriptions" in cleaned:
        customer.subscriptions = topics.subscriptions_merge(customer.subscriptions, cleaned["subscriptions"])
    customer.updated_at = now


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)  # [{"index", "error"}]
    customer_ids: list[int] = field(default_factory=list)


def customers_upsert(*, workspace: Workspace, customers: list[Any]) -> UpsertResult:
    """Creates or updates customers by external_id. Bad rows are reported by index and skipped;
    good ones are stored in one statement. A repeated external_id merges into the earlier row."""
    if not isinstance(customers, list) or len(customers) > MAX_BATCH:
        raise ServiceValidationError({"customers": [f"Must be a list of at most {MAX_BATCH} customers."]})
    result = UpsertResult()
    by_id: dict[str, list[dict]] = {}
    known_topics: set[str] | None = None  # read once, when a row names topics
    for index, row in enumerate(customers):
        try:
            if not isinstance(row, dict):
                raise FieldError("must be an object")
            problem = storable_problem(row, "")
            if problem:
                raise FieldError(problem)
            cleaned = _clean_customer_fields(row, partial=False, region=workspace.default_country)
            if cleaned.get("subscriptions"):
                known_topics = known_topics if known_topics is not None else topics.topic_keys(workspace=workspace)
                if unknown := set(cleaned["subscriptions"]) - known_topics:
                    raise FieldError(f"subscriptions: no topic {sorted(unknown)[0]!r} in this workspace")
        except FieldError as exc:
            result.errors.append({"index": index, "error": str(exc)})
            continue
        by_id.setdefault(cleaned["external_id"], []).append(cleaned)
    if not by_id:
        return result
    now = timezone.now()
    with transaction.atomic():
        # Lock the existing rows so a concurrent upsert cannot lose this one's attribute merge.
        existing = {
            c.external_id: c
            for c in Customer.objects.for_workspace(workspace)
            .filter(external_id__in=list(by_id))
            .order_by("id")
            .select_for_update(no_key=True)  # an update, not a delete: event ingest may share it
        }
        rows = []
        for external_id, changes in by_id.items():
            customer = existing.get(external_id) or Customer(
                workspace=workspace, external_id=external_id, created_at=now
            )
            for cleaned in changes:
                _apply(customer, cleaned, now)
            rows.append(customer)
        stored = Customer.objects.for_workspace(workspace).bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["workspace", "external_id"],
            update_fields=["email", "phone", "timezone", "locale", "attributes", "tags", "push_tokens", "unsubscribed", "subscriptions", "updated_at"],
        )
        result.updated = sum(1 for c in rows if c.external_id in existing)
        result.created = len(rows) - result.updated
        result.customer_ids = [c.pk for c in stored]
        _on_commit_customers_changed(workspace.pk, result.customer_ids)
    return result


def customer_update(*, workspace: Workspace, customer: Customer, data: Any) -> Customer:
    """PATCH: changes the given fields; attributes merge (null removes one)."""
    if not isinstance(data, dict):
        raise ServiceValidationError({"non_field_errors": ["Must be an object."]})
    if "external_id" in data and data["external_id"] != customer.external_id:
        raise ServiceValidationError({"external_id": ["Cannot be changed."]})
    data = {k: v for k, v in data.items() if k != "external_id"}
    try:
        cleaned = _clean_customer_fields(data, partial=True, region=workspace.default_country)
    except FieldError as exc:
        raise ServiceValidationError({exc.field or "non_field_errors": [str(exc)]}) from exc
    if unknown := set(cleaned.get("subscriptions") or ()) - topics.topic_keys(workspace=workspace):
        raise ServiceValidationError({"subscriptions": [f"No topic {sorted(unknown)[0]!r} in this workspace."]})
    with transaction.atomic():
        customer = Customer.objects.for_workspace(workspace).select_for_update(no_key=True).get(pk=customer.pk)
        _apply(customer, cleaned, timezone.now())
        customer.save(update_fields=[*(n for n in cleaned if n != "external_id"), "updated_at"])
        _on_commit_customers_changed(workspace.pk, [customer.pk])
    return customer


def customer_erase(*, workspace: Workspace, customer: Customer) -> None:
    """Erases the customer and everything about them: events, list memberships, enrollments and
    messages go with the row through their ON DELETE CASCADE foreign keys."""
    with transaction.atomic():
        # Locked first: an event batch for this customer either commits before we collect its
        # events, or waits and then finds the customer gone (see customers_delete_lock).
        customers_delete_lock(workspace_id=workspace.pk, exclusive=True)
        customers = Customer.objects.for_workspace(workspace).filter(pk=customer.pk)
        list(customers.select_for_update().values_list("pk", flat=True))
        customers.delete()


# ---- Events -------------------------------------------------------------------------------
@dataclass
class IngestResult:
    accepted: int = 0  # stored now
    duplicates: int = 0  # repeated idempotency ids, accepted before
    errors: list[dict] = field(default_factory=list)  # [{"index", "error"}]
    event_ids: list[int] = field(default_factory=list)


def _parse_timestamp(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        raise FieldError("timestamp must be an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(f"timestamp {value!r} is not ISO-8601") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def json_loads(data: bytes | str) -> Any:
    """JSON text → Python, with orjson (C; ~1 µs an event less than json on the ingest path).
    What orjson refuses but json accepts (NaN, Infinity, 1e400, lone surrogates, integers beyond
    64 bits) still parses, so the batch services can refuse just the item holding it; nesting too
    deep for either parser is a ValueError for the whole body."""
    return json_loads_finite(data)[0]


def json_loads_finite(data: bytes | str) -> tuple[Any, bool]:
    """json_loads' value, and whether orjson read it: then it holds no NaN or infinity (orjson
    refuses them and numbers beyond a float's range), which events_ingest(finite=True) relies on."""
    try:
        return orjson.loads(data), True
    except orjson.JSONDecodeError:
        try:
            return json.loads(data), False
        except RecursionError:
            raise ValueError("nested too deeply") from None


def storable_problem(value: Any, where: str) -> str | None:
    """Why PostgreSQL cannot store `value` (a NUL, a lone surrogate, a non-finite number, nesting
    deeper than the parser's limit), as "<field path> <reason>", or None. Batch services call it
    per item, so one such item is reported and the others are stored."""
    found = json_problem(value, where)
    return f"{found[0]} {found[1]}" if found else None


def _jsonb_text(value: dict, where: str) -> bytes:
    """`value` as UTF-8 JSON text for a jsonb column, or FieldError naming what PostgreSQL cannot
    store. The full walk (storable_problem, ~3 µs an event) runs only when orjson's text cannot
    vouch for the value: it escapes NUL as \\u0000, writes non-finite floats as null, refuses lone
    surrogates and big integers, and nesting cannot pass MAX_DEPTH with fewer brackets than that.
    Kept as bytes (scanned, sent as text by _Utf8Text) rather than decoded to str for psycopg to
    encode again."""
    try:
        data = orjson.dumps(value)
        suspect = b"\\u0000" in data or b"null" in data or data.count(b"{") + data.count(b"[") > MAX_DEPTH
    except TypeError:
        data, suspect = None, True
    if suspect:
        problem = storable_problem(value, where)
        if problem:
            raise FieldError(problem, field=where)
    return data if data is not None else json.dumps(value, separators=(",", ":")).encode()


class _Utf8Text(psycopg.adapt.Dumper):
    """Sends bytes holding UTF-8 text (orjson's output) as a text parameter, as they are."""

    format = psycopg.pq.Format.BINARY
    oid = psycopg.postgres.types["text"].oid

    def dump(self, obj: bytes) -> bytes:
        return obj


_EVENT_FIELDS = frozenset({"customer_id", "name", "properties", "timestamp", "id"})
_EVENT_TEXT_FIELDS = ("customer_id", "name", "id", "timestamp")


def _clean_event(item: Any, now: datetime) -> tuple[str, str, bytes, datetime, str | None]:
    if not isinstance(item, dict):
        raise FieldError("must be an object")
    if not item.keys() <= _EVENT_FIELDS:
        raise FieldError(f"unknown field {sorted(item.keys() - _EVENT_FIELDS)[0]!r}")
    for name in _EVENT_TEXT_FIELDS:
        value = item.get(name)
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise FieldError(f"{name} {problem}", field=name)
    try:
        external_id = external_id_clean(item.get("customer_id"))
    except FieldError as exc:
        raise FieldError(str(exc).replace("external_id", "customer_id")) from exc
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise FieldError("name is required")
    if len(name) > MAX_EVENT_NAME:
        raise FieldError(f"name must be at most {MAX_EVENT_NAME} characters")
    properties = item.get("properties")
    if properties is None:
        properties_json = b"{}"
    elif not isinstance(properties, dict):
        raise FieldError("properties must be an object")
    else:
        properties_json = _jsonb_text(properties, "properties")
        # The limit counts characters, as it did on the decoded text.
        if len(properties_json) > MAX_PROPERTIES_BYTES and len(properties_json.decode()) > MAX_PROPERTIES_BYTES:
            raise FieldError(f"properties must be at most {MAX_PROPERTIES_BYTES // 1024} KiB as JSON")
    idempotency_id = item.get("id")
    if idempotency_id is not None:
        if isinstance(idempotency_id, int) and not isinstance(idempotency_id, bool):
            idempotency_id = str(idempotency_id)
        if not isinstance(idempotency_id, str) or not idempotency_id or len(idempotency_id) > MAX_IDEMPOTENCY_ID:
            raise FieldError(f"id must be a non-empty string of at most {MAX_IDEMPOTENCY_ID} characters")
    return external_id, name, properties_json, _parse_timestamp(item.get("timestamp"), now), idempotency_id


_NONE = type(None)
_TEXT_OR_NONE = frozenset({str, _NONE})


class _Columns(NamedTuple):
    """A batch's stored events, column by column (customer external id, name, properties as JSON
    texts a line each, occurred_at, idempotency id), as the insert takes them."""

    customer_ids: list[str]
    names: list[str]
    properties: bytes
    occurred: list[datetime]
    keys: list[str | None]


def _event_columns(events: list, now: datetime, *, finite: bool) -> _Columns | None:
    """_clean_event's answer for every event of the usual batch at once (string fields of ASCII
    text, properties objects whose text leaves nothing to walk), or None when any event needs a
    look of its own (then _clean_event checks every event alone, with its error). Each check is a
    sufficient condition for _clean_event's, over a whole column in C (map, join, one search of
    the joined text), instead of ~40 Python operations an event: ~4 µs an event less."""
    if not events or set(map(type, events)) != {dict} or not all(map(_EVENT_FIELDS.issuperset, events)):
        return None
    customer_ids = [event.get("customer_id") for event in events]
    names = [event.get("name") for event in events]
    keys = [event.get("id") for event in events]
    moments = [event.get("timestamp") for event in events]
    if (set(map(type, customer_ids)) != {str} or set(map(type, names)) != {str}
            or not set(map(type, keys)) <= _TEXT_OR_NONE or not set(map(type, moments)) <= _TEXT_OR_NONE):
        return None
    text = "".join([*customer_ids, *names, *filter(None, keys), *filter(None, moments)])
    if not text.isascii() or "\x00" in text:
        return None
    external_ids = list(map(str.strip, customer_ids))
    if ("" in external_ids or max(map(len, external_ids)) > MAX_EXTERNAL_ID or max(map(len, names)) > MAX_EVENT_NAME
            or not all(map(str.strip, names)) or "" in keys
            or max(map(len, filter(None, keys)), default=0) > MAX_IDEMPOTENCY_ID):
        return None
    properties = [event.get("properties") for event in events]
    types = set(map(type, properties))
    if not types <= _PROPERTIES_TYPES:
        return None
    try:
        if _NONE in types:
            data = [b"{}" if value is None else orjson.dumps(value) for value in properties]
        else:
            data = list(map(orjson.dumps, properties))
    except TypeError:
        return None
    joined = b"\n".join(data)
    # orjson writes a non-finite float as null; parsed by orjson, the batch holds none (the search
    # of the batch's text for "null" costs ~0.4 µs an event). A line's brackets, those in strings
    # too, bound its nesting (_jsonb_text counts them the same way).
    if ((not finite and b"null" in joined) or (b"\\" in joined and b"\\u0000" in joined)
            or max(map(len, data)) > MAX_PROPERTIES_BYTES
            or max(map(len, joined.translate(None, _ALL_BUT_OPENERS).split(b"\n"))) > MAX_DEPTH):
        return None
    try:
        if _NONE in set(map(type, moments)):
            occurred = [now if moment is None else datetime.fromisoformat(moment) for moment in moments]
        else:
            occurred = list(map(datetime.fromisoformat, moments))
    except ValueError:
        return None
    if None in set(map(_tzinfo, occurred)):
        occurred = [moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in occurred]
    return _Columns(external_ids, names, joined, occurred, keys)


_ALL_BUT_OPENERS = bytes(set(range(256)) - set(b"{[\n"))
_tzinfo = attrgetter("tzinfo")
_PROPERTIES_TYPES = frozenset({dict, _NONE})


_INSERT_BARE_CUSTOMERS_SQL = """
INSERT INTO audiences_customer (workspace_id, external_id, email, phone, timezone, locale,
                                attributes, tags, push_tokens, unsubscribed, created_at, updated_at)
SELECT %(ws)b, external_id, '', '', '', '', '{}'::jsonb, '{}', '[]'::jsonb, '{}', %(now)b, %(now)b
FROM unnest(%(ids)b::text[]) AS external_id
ON CONFLICT (workspace_id, external_id) DO NOTHING
RETURNING id, external_id
"""
_SELECT_CUSTOMER_IDS_SQL = (
    # varchar[] (the column's type), so the (workspace_id, external_id) index applies directly.
    "SELECT id, external_id FROM audiences_customer WHERE workspace_id = %(ws)b AND external_id = ANY(%(ids)s::varchar[])"
)


# The events table is partitioned by month (workspaces/partitions.py), so the idempotency keys
# live in audiences_eventkey, whose primary key (workspace_id, idempotency_id) refuses a repeat
# whatever month either copy is in. For batches whose ids are new, the keys are inserted plainly,
# then the events: a repeat raises UniqueViolation, as the unique index on the events did. The
# fallback, one statement, claims the keys
# (ON CONFLICT DO NOTHING) and stores an event with a key only when its key was new there (the
# first of the batch's copies), one without a key always; a concurrent batch with the same key
# waits on its row, as on the unique index before.
_INSERT_NEW_KEYS_SQL = """
INSERT INTO audiences_eventkey (workspace_id, idempotency_id, received_at)
SELECT %(ws)b, k, %(now)b FROM unnest(%(idem)s::text[]) AS k WHERE k IS NOT NULL
"""
# The keys go first, in a statement of their own (a repeat fails there, before any event is
# written), so the events' INSERT reads unnest directly instead of a CTE, which copied every
# 0.5 KB row into one more tuplestore: with both prepared at once (below), ~5 µs an event of
# PostgreSQL's CPU less in paired runs of bench.bench_audiences (events).
_INSERT_NEW_EVENTS_SQL = """
INSERT INTO audiences_event (workspace_id, customer_id, name, properties, occurred_at, received_at, idempotency_id)
SELECT %(ws)b, c, n, p::jsonb, o, %(now)b, k
FROM unnest(%(customer_ids)s::bigint[], %(names)s::text[], string_to_array(%(properties)b, E'\\n'),
            %(occurred)b::timestamptz[], %(idem)s::text[]) AS t(c, n, p, o, k)
RETURNING id
"""
_INSERT_EVENTS_SQL = """
WITH t AS (
    SELECT * FROM unnest(%(customer_ids)s::bigint[], %(names)s::text[], string_to_array(%(properties)b, E'\\n'),
                         %(occurred)b::timestamptz[], %(idem)s::text[]) WITH ORDINALITY
        AS t(customer_id, name, properties, occurred_at, idempotency_id, n)
), claimed AS (
    INSERT INTO audiences_eventkey (workspace_id, idempotency_id, received_at)
    SELECT %(ws)b, idempotency_id, %(now)b FROM t WHERE idempotency_id IS NOT NULL
    ON CONFLICT (workspace_id, idempotency_id) DO NOTHING
    RETURNING idempotency_id
), firsts AS (
    SELECT min(t.n) AS n FROM t JOIN claimed USING (idempotency_id) GROUP BY idempotency_id
)
INSERT INTO audiences_event (workspace_id, customer_id, name, properties, occurred_at, received_at, idempotency_id)
SELECT %(ws)b, t.customer_id, t.name, t.properties::jsonb, t.occurred_at, %(now)b, t.idempotency_id
FROM t WHERE t.idempotency_id IS NULL OR t.n IN (SELECT n FROM firsts)
ORDER BY t.n
RETURNING id
"""


def _raw_cursor():
    """A psycopg cursor with server-side binding: arrays travel as binary parameters, not as
    quoted literals, which matters on the ingest hot path. Same connection and transaction as the ORM."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


# Events have no database foreign key to their customer (see Event.customer). What it would
# guarantee, no event left pointing at an erased or merged-away customer, comes from one advisory
# lock per workspace: a transaction that writes events holds it shared, one that erases or merges
# customers holds it exclusive, each taking it before any customer row lock (so the two orders
# cannot deadlock). An erasure waits for the batches in flight and later batches wait for it, then
# re-create a customer they name that is gone. It replaced a FOR KEY SHARE lock on every event's
# customer, which wrote that customer's heap page (and after a checkpoint its 8 KiB image to the
# WAL): measured 31 ms instead of 5 ms to look up 1,000 random customers of 1M (~800 pages dirtied).
_CUSTOMERS_DELETE_LOCK = 0x574D4344  # the advisory lock's class ("WMCD"); its key is the workspace id
_LOCK_SQL = "SELECT pg_advisory_xact_lock{}(%s, (%s %% 2147483648)::int)"  # int4 keys: ids wrap, harmlessly


def customers_delete_lock(*, workspace_id: int, exclusive: bool) -> None:
    """Takes the workspace's customer-deletion lock until the transaction ends: exclusive to erase or
    merge customers, shared to write events. Call it before taking any customer row lock."""
    with _raw_cursor() as cur:
        cur.execute(_LOCK_SQL.format("" if exclusive else "_shared"), (_CUSTOMERS_DELETE_LOCK, workspace_id))


# The ingest statements are prepared (prepare=True) but PostgreSQL kept choosing a custom plan for
# every call, planning each with the batch's arrays folded in as constants (~1.2 ms a call for the
# INSERT): a generic plan is made once per connection and reads the arrays when it runs.
_GENERIC_PLANS_SQL = "SET LOCAL plan_cache_mode = force_generic_plan"


def _relaxed_commit(cur) -> None:
    """Bulk-ingest transactions may commit without waiting for the WAL flush (settings
    INGEST_ASYNC_COMMIT, off by default — "nothing accepted is lost" wins): when on, the commit is still atomic and ordered, and a crash of
    the PostgreSQL server (not of the app) can lose at most the last ~0.6 s (3 × wal_writer_delay)
    of acknowledged batches. On this class of disk the flush is 20–100 ms, longer than the work."""
    if settings.INGEST_ASYNC_COMMIT:
        cur.execute("SET LOCAL synchronous_commit = off")


def customers_ensure(*, workspace_id: int, external_ids: list[str], now: datetime) -> tuple[dict[str, int], list[int]]:
    """The ids of these customers, creating the unknown ones (bare). Returns (external_id → id,
    ids created). Sorted inserts keep concurrent batches from deadlocking."""
    wanted = sorted(set(external_ids))
    created: list[int] = []
    with _raw_cursor() as cur:
        # Known customers first (the common case on a busy ingest: one index probe each).
        cur.execute(_SELECT_CUSTOMER_IDS_SQL, {"ws": workspace_id, "ids": text_array(wanted)}, prepare=True)
        found = {x: pk for pk, x in cur.fetchall()}
        missing = [x for x in wanted if x not in found]
        if missing:
            cur.execute(_INSERT_BARE_CUSTOMERS_SQL, {"ws": workspace_id, "ids": missing, "now": now})
            for pk, x in cur.fetchall():
                found[x] = pk
                created.append(pk)
            raced = [x for x in missing if x not in found]
            if raced:  # inserted by a concurrent transaction since our first look
                cur.execute(_SELECT_CUSTOMER_IDS_SQL, {"ws": workspace_id, "ids": text_array(raced)})
                found.update({x: pk for pk, x in cur.fetchall()})
    return found, created


def _events_insert(params: dict) -> list[int]:
    """Inserts the rows; answers the ids stored. A batch whose ids were never sent takes a plain
    INSERT: ON CONFLICT's speculative insertion (a probe of the idempotency index, then a second
    WAL record per row to confirm it) cost ~2-3 µs an event more. A repeated id (a client's retry,
    a twin in the batch, a concurrent batch) makes it fail; it then rolls back to its savepoint
    and the batch is inserted again skipping the ids already stored."""
    with _raw_cursor() as cur:
        cur.adapters.register_dumper(bytes, _Utf8Text)  # the properties, a line each
        try:
            with transaction.atomic():
                # Prepared on their first use on a pooled connection (not after psycopg's five):
                # the server then plans them once, not each batch with its 1,000-element arrays.
                if params["has_keys"]:
                    cur.execute(_INSERT_NEW_KEYS_SQL, params, prepare=True)
                cur.execute(_INSERT_NEW_EVENTS_SQL, params, prepare=True)
                return [pk for (pk,) in cur.fetchall()]
        except psycopg.errors.UniqueViolation:
            pass
        cur.execute(_INSERT_EVENTS_SQL, params)
        return [pk for (pk,) in cur.fetchall()]


def events_ingest(*, workspace: Workspace, events: Any, finite: bool = False) -> IngestResult:
    """Stores a batch of events (unknown customers are created; a repeated `id` is stored once)
    and hands the stored ids to the journey engine after commit (audiences.hooks). `finite`: the
    events hold no NaN or infinity (read by orjson, json_loads_finite), which spares a check."""
    if not isinstance(events, list) or len(events) > MAX_BATCH:
        raise ServiceValidationError({"events": [f"Must be a list of at most {MAX_BATCH} events."]})
    now = timezone.now()
    result = IngestResult()
    columns = _event_columns(events, now, finite=finite)
    if columns is None:
        rows = []
        for index, item in enumerate(events):
            try:
                rows.append(_clean_event(item, now))
            except FieldError as exc:
                result.errors.append({"index": index, "error": str(exc)})
        if not rows:
            return result
        external_ids, names, data, occurred, keys = map(list, zip(*rows, strict=True))
        columns = _Columns(external_ids, names, b"\n".join(data), occurred, keys)
    with transaction.atomic():
        with _raw_cursor() as cur:
            _relaxed_commit(cur)
            cur.execute(_GENERIC_PLANS_SQL)
        customers_delete_lock(workspace_id=workspace.pk, exclusive=False)
        ids, created = customers_ensure(workspace_id=workspace.pk, external_ids=columns.customer_ids, now=now)
        keys = columns.keys
        result.event_ids = _events_insert({
            "ws": workspace.pk,
            "now": now,
            "customer_ids": id_array(map(ids.__getitem__, columns.customer_ids)),
            "names": text_array(columns.names),
            # One text, the events' JSON texts a line each: JSON text holds no raw line break.
            "properties": columns.properties,
            "occurred": columns.occurred,
            "idem": keys if None in keys else text_array(keys),
            "has_keys": keys.count(None) < len(keys),
        })
        result.accepted = len(result.event_ids)
        result.duplicates = len(keys) - result.accepted
        _on_commit_customers_changed(workspace.pk, created)
        event_ids, workspace_id, names = result.event_ids, workspace.pk, set(columns.names)
        if event_ids:
            transaction.on_commit(lambda: hooks.events_ingested(workspace_id=workspace_id, event_ids=event_ids, names=names))
    return result


# ---- Segments -----------------------------------------------------------------------------
def _condition_details(errors: list[ConditionError]) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for error in errors:
        key = f"condition.{error.field}" if error.field else "condition"
        details.setdefault(key, []).append(error.message)
    return details


def condition_check(*, workspace: Workspace, condition: Any) -> None:
    """Raises ServiceValidationError naming every problem of a segment-style condition."""
    errors = validate_condition(condition, workspace=workspace)
    if errors:
        raise ServiceValidationError(_condition_details(errors))


def _segment_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ServiceValidationError({"name": ["A name of 1–200 characters is required."]})
    return name.strip()


def segment_create(*, workspace: Workspace, name: Any, condition: Any) -> Segment:
    name = _segment_name(name)
    condition_check(workspace=workspace, condition=condition)
    return Segment.objects.for_workspace(workspace).create(workspace=workspace, name=name, condition=condition)


def segment_update(*, workspace: Workspace, segment: Segment, name: Any, condition: Any) -> Segment:
    name = _segment_name(name)
    condition_check(workspace=workspace, condition=condition)
    if segment_cycle(workspace_id=workspace.pk, start=segment.pk, condition=condition):
        raise ServiceValidationError({"condition": ["The segment would include itself."]})
    segment.name, segment.condition = name, condition
    segment.save(update_fields=["name", "condition", "updated_at"])
    return segment


def segment_delete(*, workspace: Workspace, segment: Segment) -> None:
    Segment.objects.for_workspace(workspace).filter(pk=segment.pk).delete()


# ---- Lists --------------------------------------------------------------------------------
def list_create(*, workspace: Workspace, name: Any) -> CustomerList:
    return CustomerList.objects.for_workspace(workspace).create(workspace=workspace, name=_segment_name(name))


def list_delete(*, workspace: Workspace, customer_list: CustomerList) -> None:
    CustomerList.objects.for_workspace(workspace).filter(pk=customer_list.pk).delete()


def _customer_ids_arg(customer_ids: Any) -> list[str]:
    if not isinstance(customer_ids, list) or len(customer_ids) > MAX_BATCH:
        raise ServiceValidationError({"customer_ids": [f"Must be a list of at most {MAX_BATCH} customer ids."]})
    try:
        return [external_id_clean(x) for x in customer_ids]
    except FieldError as exc:
        raise ServiceValidationError({"customer_ids": [str(exc).replace("external_id", "each customer id")]}) from exc


_ADD_MEMBERS_SQL = """
WITH found AS (
    SELECT id FROM audiences_customer WHERE workspace_id = %(ws)s AND external_id = ANY(%(ids)s::text[])
), added AS (
    INSERT INTO audiences_listmember (workspace_id, customer_list_id, customer_id, added_at)
    SELECT %(ws)s, %(list)s, id, %(now)s FROM found ORDER BY id
    ON CONFLICT (customer_list_id, customer_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM found), (SELECT count(*) FROM added)
"""


@dataclass
class MembersResult:
    added: int = 0
    already: int = 0
    not_found: list[str] = field(default_factory=list)


def list_members_add(*, workspace: Workspace, customer_list: CustomerList, customer_ids: Any) -> MembersResult:
    """Adds customers (by external id) to the list; unknown ids are reported, not created."""
    wanted = sorted(set(_customer_ids_arg(customer_ids)))
    return _list_members_add_ids(workspace=workspace, customer_list=customer_list, external_ids=wanted)


def _list_members_add_ids(*, workspace, customer_list, external_ids: list[str]) -> MembersResult:
    result = MembersResult()
    with transaction.atomic(), _raw_cursor() as cur:
        cur.execute(
            _ADD_MEMBERS_SQL,
            {"ws": workspace.pk, "ids": external_ids, "list": customer_list.pk, "now": timezone.now()},
        )
        found, added = cur.fetchone()
        result.added, result.already = added, found - added
        if found < len(external_ids):
            cur.execute(
                "SELECT external_id FROM audiences_customer WHERE workspace_id = %s AND external_id = ANY(%s::text[])",
                (workspace.pk, external_ids),
            )
            known = {x for (x,) in cur.fetchall()}
            result.not_found = [x for x in external_ids if x not in known]
    return result


def list_members_add_csv(*, workspace: Workspace, customer_list: CustomerList, file) -> MembersResult:
    """Adds the customers named by a CSV's external_id/customerId column, streamed in batches."""
    from .importer import csv_external_ids

    total = MembersResult()
    try:
        for batch in csv_external_ids(file, batch_size=MAX_BATCH):
            part = _list_members_add_ids(workspace=workspace, customer_list=customer_list, external_ids=sorted(set(batch)))
            total.added += part.added
            total.already += part.already
            total.not_found.extend(part.not_found)
    except FieldError as exc:
        raise ServiceValidationError({"file": [str(exc)]}) from exc
    return total


def list_members_remove(*, workspace: Workspace, customer_list: CustomerList, customer_ids: Any) -> int:
    wanted = _customer_ids_arg(customer_ids)
    deleted, _ = (
        ListMember.objects.for_workspace(workspace)
        .filter(customer_list=customer_list, customer__external_id__in=wanted)
        .delete()
    )
    return deleted


# ---- CSV import ---------------------------------------------------------------------------
# What a failed import tells the user, by the PostgreSQL error class (SQLSTATE, first two
# characters or the whole code): what is wrong with the file, never the database's own words
# (they name tables and types). The raw error goes to the log.
_IMPORT_FAILURES = {
    "22001": "A value in the file is longer than its column allows (a tag is at most 100 characters, "
    "an external_id 255, an email 254).",
    "22003": "A number in the file is out of the range that can be stored.",
    "22021": "The file holds a character that cannot be stored (a NUL or invalid text).",
    "22P05": "The file holds a character that cannot be stored (a NUL or invalid text).",
    "22": "A value in the file cannot be stored in its column; check the file for unusual values.",
    "23": "The file's customers changed while it was imported; import the file again.",
    "54": "A line of the file holds more data than a customer can store.",
}
_IMPORT_FAILED = "The import failed on our side and has been logged; try again, or contact support with the import id."


def database_error_message(exc: BaseException) -> str:
    """A user's sentence for an import that a database error (or anything unexpected) ended."""
    for error in (exc, exc.__cause__):
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate:
            return _IMPORT_FAILURES.get(sqlstate) or _IMPORT_FAILURES.get(sqlstate[:2]) or _IMPORT_FAILED
    return _IMPORT_FAILED


def import_max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 256 * 1024 * 1024))


# An upload goes into PostgreSQL in pieces of this size: one INSERT each (~256 for the largest file
# allowed), and a worker holds one piece in memory at a time when it reads the file back.
IMPORT_CHUNK_BYTES = 1 << 20


_IMPORT_CHUNK_SQL = "INSERT INTO audiences_importchunk (workspace_id, job_id, seq, data) VALUES (%s, %s, %s, %b)"


def import_create(*, workspace: Workspace, upload, customer_list: CustomerList | None) -> ImportJob:
    """Streams the uploaded file into PostgreSQL (ImportChunk rows, in order) with its job, and
    queues `audiences.tasks.import_customers` after commit: web and workers share no folder. The
    job's `total` starts as the file's line count less the header, an estimate for progress that
    the import corrects (a quoted newline makes it high)."""
    if upload.size > import_max_bytes():
        raise ValueError("too large")  # the view answers 413 before this; a guard for other callers
    with transaction.atomic():
        job = ImportJob.objects.for_workspace(workspace).create(
            workspace=workspace, file_size=upload.size, customer_list=customer_list
        )
        pending, seq, last, text = bytearray(), 0, b"\n", Utf8Lines()
        with _raw_cursor() as cur:
            # A binary parameter: the bytes travel as they are (the ORM sends bytea as hex text,
            # twice the size for PostgreSQL to parse back).
            def store(data: bytes) -> None:
                cur.execute(_IMPORT_CHUNK_SQL, (workspace.pk, job.pk, seq, data))

            for piece in upload.chunks():
                text.feed(piece)
                if text.problem is not None:
                    break
                last = piece[-1:] or last
                pending += piece
                while len(pending) >= IMPORT_CHUNK_BYTES:
                    store(bytes(pending[:IMPORT_CHUNK_BYTES]))
                    del pending[:IMPORT_CHUNK_BYTES]
                    seq += 1
            if text.finish() is None and pending:
                store(bytes(pending))
        if text.problem is not None:
            return _import_refused(job, text.problem)
        job.total = max(0, text.breaks + (last != b"\n") - 1)
        job.save(update_fields=["total"])
    from .tasks import import_customers

    transaction.on_commit(lambda: import_customers.delay(job.pk))
    return job


def _import_refused(job: ImportJob, message: str) -> ImportJob:
    """Ends a job whose upload fails the text check (audiences/upload_text.py) before any of it is
    imported: its stored pieces go, no task is queued, and GET /imports/{id} says why."""
    with _raw_cursor() as cur:
        cur.execute("DELETE FROM audiences_importchunk WHERE workspace_id = %s AND job_id = %s", (job.workspace_id, job.pk))
    job.status, job.message, job.finished_at = ImportJob.Status.FAILED, message, timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return job
