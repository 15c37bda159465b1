"""Reads of the audiences app, all scoped to one workspace."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from workspaces.models import Workspace

from .conditions import customers_matching
from .models import Customer, CustomerList, Event, ImportJob, ListMember, Segment


def customers_list(
    *,
    workspace: Workspace,
    search: str = "",
    tag: str = "",
    segment: Segment | None = None,
    customer_list: CustomerList | None = None,
) -> QuerySet[Customer]:
    """Customers for GET /customers. `search` is a prefix of external_id or (case-insensitive)
    email, served by the prefix indexes; the caller orders and pages by id."""
    if segment is not None:
        customers = customers_matching(workspace_id=workspace.pk, condition=segment.condition)
    else:
        customers = Customer.objects.for_workspace(workspace)
    if search:
        by_id = customers.filter(external_id__startswith=search)
        by_email = customers.filter(email__startswith=search.lower())
        customers = by_id | by_email
    if tag:
        customers = customers.filter(tags__contains=[tag]).exclude(tags=[])  # the index's condition
    if customer_list is not None:
        members = ListMember.objects.for_workspace(workspace).filter(
            customer_list=customer_list, customer_id=OuterRef("pk")
        )
        customers = customers.filter(Exists(members))
    return customers


def customer_get(*, workspace: Workspace, external_id: str) -> Customer | None:
    return Customer.objects.for_workspace(workspace).filter(external_id=external_id).first()


@contextmanager
def _cached_data_costs():
    """Plans segment reads for data held in memory. An event clause yields customer ids that are
    then probed one by one; at PostgreSQL's default random_page_cost (4.0, a spinning disk) the
    planner prefers a parallel scan of every customer instead, which measured 2-3x slower over
    1,000,000 customers. 1.1 is the usual figure for SSD or RAM-resident data; SET LOCAL keeps
    it to this transaction."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL random_page_cost = 1.1")
        yield


def segment_count(*, workspace: Workspace, condition: dict) -> int:
    with _cached_data_costs():
        return customers_matching(workspace_id=workspace.pk, condition=condition, whole_workspace=True).count()


def segment_preview(*, workspace: Workspace, condition: dict, sample_size: int = 10) -> tuple[int, list[Customer]]:
    customers = customers_matching(workspace_id=workspace.pk, condition=condition)
    with _cached_data_costs():
        return customers.count(), list(customers.order_by("-id")[:sample_size])


def list_member_count(*, workspace: Workspace, customer_list: CustomerList) -> int:
    return ListMember.objects.for_workspace(workspace).filter(customer_list=customer_list).count()


def import_get(*, workspace: Workspace, import_id: int) -> ImportJob | None:
    return ImportJob.objects.for_workspace(workspace).filter(pk=import_id).first()


# Without a name filter, the newest page is read name by name: the (customer, name, occurred_at)
# index hands each name's newest rows in order, and the first `limit` of their merge is the page.
# The names come from a skip scan down the same index. Sorting every event of the customer
# instead measured 154 ms for a customer with 200,000 events (0.1 ms for one with 300); this is
# a few index probes per distinct name. (A second index on (customer, occurred_at) would cost
# every ingested event.)
_NEWEST_EVENTS_SQL = """
WITH RECURSIVE names(name) AS (
    SELECT min(name) FROM audiences_event WHERE customer_id = %(customer)s
    UNION ALL
    SELECT (SELECT min(e.name) FROM audiences_event e WHERE e.customer_id = %(customer)s AND e.name > names.name)
    FROM names WHERE names.name IS NOT NULL
)
SELECT page.* FROM names CROSS JOIN LATERAL (
    SELECT * FROM audiences_event e
    WHERE e.customer_id = %(customer)s AND e.name = names.name AND e.workspace_id = %(workspace)s
      AND (%(at)s::timestamptz IS NULL
           OR (e.occurred_at <= %(at)s AND (e.occurred_at < %(at)s OR e.id < %(id)s::bigint)))
    ORDER BY e.occurred_at DESC, e.id DESC
    LIMIT %(limit)s
) page
ORDER BY page.occurred_at DESC, page.id DESC
LIMIT %(limit)s
"""


def customer_events(
    *,
    workspace: Workspace,
    customer: Customer,
    limit: int,
    name: str = "",
    before: tuple[datetime, int] | None = None,
) -> list[Event]:
    """Up to `limit` of a customer's events, newest first by (occurred_at, id) — a backfilled
    event sorts by when it happened, not when it arrived — optionally of one name, strictly after
    the keyset `before` (the last row of the previous page)."""
    at, event_id = before if before is not None else (None, None)
    if not name:
        params = {"customer": customer.pk, "workspace": workspace.pk, "at": at, "id": event_id, "limit": limit}
        return list(Event.all_workspaces.raw(_NEWEST_EVENTS_SQL, params))
    events = Event.objects.for_workspace(workspace).filter(customer=customer, name=name)
    if before is not None:
        events = events.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=event_id))
    return list(events.order_by("-occurred_at", "-id")[:limit])


# Recent events read per name for property suggestions: enough to see every property a tracking
# plan sends, few enough to answer from the (workspace, name, occurred_at) index at once.
PROPERTY_SAMPLE = 200


def event_property_names(*, workspace: Workspace, names: list[str]) -> list[str]:
    """Top-level property names of the latest events of these names (the canvas suggests them
    as a keyed journey's key), sorted."""
    names = [n for n in names if isinstance(n, str) and n][:10]
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT k FROM unnest(%s::text[]) AS n(name)
            CROSS JOIN LATERAL (
                SELECT properties FROM audiences_event
                WHERE workspace_id = %s AND name = n.name AND jsonb_typeof(properties) = 'object'
                ORDER BY occurred_at DESC LIMIT %s
            ) e
            CROSS JOIN LATERAL jsonb_object_keys(e.properties) AS k
            ORDER BY k LIMIT 500
            """,
            [names, workspace.pk, PROPERTY_SAMPLE],
        )
        return [row[0] for row in cursor.fetchall()]


EVENT_NAMES_MAX = 200  # names offered to the canvas; a workspace with more is naming by value
EVENT_NAME_COUNT_CAP = 10_000  # counted up to here, then "10,000+": each count stays an index range
EVENT_PROPERTY_SAMPLE = 20  # latest events of a name read for its property names


def event_names(*, workspace: Workspace) -> list[dict]:
    """The event names this workspace has received, most frequent first, each with its count (up
    to EVENT_NAME_COUNT_CAP), when it was last seen, and the properties its latest events carried
    (top level, and one level into objects as `a.b`) with an example value. Distinct names come
    from a skip scan of the (workspace, name, occurred_at) index, so a table of millions of events
    is read a few index pages per name."""
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH RECURSIVE names(name, n) AS (
                (SELECT name, 1 FROM audiences_event WHERE workspace_id = %(ws)s ORDER BY name LIMIT 1)
                UNION ALL
                SELECT (SELECT e.name FROM audiences_event e
                        WHERE e.workspace_id = %(ws)s AND e.name > names.name ORDER BY e.name LIMIT 1),
                       names.n + 1
                FROM names WHERE names.name IS NOT NULL AND names.n < %(most)s
            )
            SELECT names.name,
                (SELECT count(*) FROM (SELECT 1 FROM audiences_event e
                    WHERE e.workspace_id = %(ws)s AND e.name = names.name LIMIT %(cap)s) AS c),
                latest.at,
                latest.properties
            FROM names
            CROSS JOIN LATERAL (
                SELECT max(e.occurred_at) AS at, jsonb_agg(e.properties) AS properties
                FROM (SELECT occurred_at, properties FROM audiences_event e
                      WHERE e.workspace_id = %(ws)s AND e.name = names.name
                      ORDER BY e.occurred_at DESC LIMIT %(sample)s) AS e
            ) AS latest
            WHERE names.name IS NOT NULL
            """,
            {"ws": workspace.pk, "most": EVENT_NAMES_MAX, "cap": EVENT_NAME_COUNT_CAP + 1,
             "sample": EVENT_PROPERTY_SAMPLE},
        )
        rows = cur.fetchall()
    names = [
        {
            "name": name,
            "count": min(count, EVENT_NAME_COUNT_CAP),
            "count_capped": count > EVENT_NAME_COUNT_CAP,
            "last_seen_at": last_seen,
            # Django leaves jsonb from a raw cursor as text.
            "properties": _event_properties(json.loads(samples) if isinstance(samples, str) else samples or []),
        }
        for name, count, last_seen, samples in rows
    ]
    names.sort(key=lambda row: (-row["count"], row["name"]))
    return names


def _event_properties(samples: list) -> list[dict]:
    """Property paths seen in `samples` (newest first), each with the newest scalar example."""
    found: dict[str, object] = {}

    def visit(value: object, prefix: str, depth: int) -> None:
        if not isinstance(value, dict):
            return
        for key, inner in value.items():
            path = f"{prefix}{key}"
            if isinstance(inner, dict) and depth == 0:
                visit(inner, f"{path}.", 1)
            elif path not in found or found[path] is None:
                found[path] = inner if isinstance(inner, str | int | float | bool) else None

    for sample in samples:
        visit(sample, "", 0)
    return [
        {"name": path, "example": example if not isinstance(example, str) else example[:200]}
        for path, example in sorted(found.items())
    ]
