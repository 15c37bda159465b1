"""What brings customers into journeys and what events do to those inside: entries from events,
segments, lists, all customers and date attributes; exit conditions, goals and event waits."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audiences import hooks
from audiences.conditions import customers_matching, event_matches
from audiences.models import Customer, Event, ListMember
from audiences.sql_arrays import id_array
from workspaces.models import Workspace

from .dispatch import (
    advance_enqueue,
    customers_changed_enqueue,
    events_process_enqueue,
    profile_changes_take,
)
from .engine import LIVE, compiled_version, zone_or_none
from .engine.goals import (
    cached_workspace_goals,
    finished_goals_convert,
    finished_windows_open,
)
from .engine.rows import raw_cursor
from .enrollments import AUDIENCE_CHUNK, EnrollResult, enroll_in_chunks, enrollments_create
from .keys import entry_key_property, key_of
from .models import Enrollment, Journey, JourneyVersion
from .nodes.wait import DATE_ATTRIBUTE_KEY

logger = logging.getLogger(__name__)

# Date entries: the daily run enrolls occurrences due within this horizon (one day plus the
# widest timezone spread), parked until their local time; the occurrence key keeps it once a year.
DATE_LOOKAHEAD = timedelta(hours=26)
DATE_LATE = timedelta(hours=1)  # a run that started late still takes what fell due just now


# ---- Hooks from audiences -------------------------------------------------------------------
# Workspace → (monotonic time, "live" | "windows") of the hook's last yes in this process. A yes
# only queues work whose worker decides again, so a stale one costs a task that does nothing; a no
# is never reused (a journey started or an enrollment finished since would be missed). Within
# YES_REUSE_SECONDS of a yes the hook queues a batch without asking PostgreSQL: with goal windows
# open (the usual state of a workspace whose journeys have goals) every batch holding a goal's
# event was read back here and matched again by the worker.
YES_REUSE_SECONDS = 2.0
_yes: dict[int, tuple[float, str]] = {}


def _recent_yes(workspace_id: int, names: frozenset[str] | None) -> bool:
    """Whether a yes of this process, recent enough, answers for a batch with these names: a live
    enrollment or an event entry reacts to any event; open goal windows only to a goal's events
    (the goals last seen for the workspace: any name when one needs the full evaluation)."""
    found = _yes.get(workspace_id)
    if found is None or monotonic() - found[0] > YES_REUSE_SECONDS:
        return False
    if found[1] == "live" or names is None:
        return True
    goals = cached_workspace_goals(workspace_id)
    return goals is None or goals.matters_to(names)


def _said_yes(workspace_id: int, kind: str) -> None:
    if len(_yes) > 10_000:
        _yes.clear()
    _yes[workspace_id] = (monotonic(), kind)


def on_events_ingested(
    workspace_id: int, event_ids: list[int], names: frozenset[str] | None = None
) -> None:
    """The ingest hook (called after the batch committed): only queue the work (one task per
    ~1,000 events), and none at all when nothing in the workspace can react to events (no active
    journey, no live enrollment, no goal window open that the batch's events can convert): one
    indexed query here instead of a task per batch, and none while a recent yes answers (see
    _yes). Checked after the batch committed, so a journey started or a customer enrolled before
    that is seen; one started (or enrolled) after the check went live after these events were
    stored, and events from before it went live are not its entries, exits or awaited events."""
    if _recent_yes(workspace_id, names):
        events_process_enqueue(workspace_id, event_ids)
    elif _can_matter(workspace_id, entries=True):
        _said_yes(workspace_id, "live")
        events_process_enqueue(workspace_id, event_ids)
    elif finished_windows_open(workspace_id=workspace_id, event_ids=event_ids, names=names):
        _said_yes(workspace_id, "windows")
        events_process_enqueue(workspace_id, event_ids)


# Whether anything in the workspace can react: a live enrollment (events and profile changes may
# exit, convert or wake it) or, for events, an active journey that events enter (its live version's
# entry is by event; one entered by API, segment or list can do nothing with them). Enrollments are
# found per journey through enrollment_journey_state_node, so other workspaces' millions of rows
# are never read. Raw SQL: it runs for every ingested batch or stored import chunk, and the ORM's
# compile of it cost ~1 ms there.
_CAN_MATTER_SQL = f"""
SELECT EXISTS (
    SELECT 1 FROM {Journey._meta.db_table} j
    WHERE j.workspace_id = %(ws)s AND (
        (%(entries)s AND j.status = %(active)s AND j.live_version_id IS NOT NULL
         AND EXISTS (SELECT 1 FROM {JourneyVersion._meta.db_table} v
                     WHERE v.id = j.live_version_id AND v.settings -> 'entry' ->> 'type' = 'event'))
        OR EXISTS (SELECT 1 FROM {Enrollment._meta.db_table} e
                   WHERE e.journey_id = j.id AND e.workspace_id = %(ws)s AND e.state = ANY(%(live)s))
    )
)
"""


def _can_matter(workspace_id: int, *, entries: bool) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            _CAN_MATTER_SQL,
            {
                "ws": workspace_id,
                "entries": entries,
                "active": Journey.Status.ACTIVE.value,
                "live": [str(s) for s in LIVE],
            },
        )
        return cursor.fetchone()[0]


def on_customers_changed(workspace_id: int, customer_ids: list[int]) -> None:
    """The profile-change hook: queue customers_changed, unless the workspace has no live
    enrollment. customers_changed only re-checks exit conditions and goals of live enrollments;
    entries by segment or attribute are evaluated by their own runs (recurring segment entries,
    date entries), and a branch or wait reads attributes when the engine reaches it. An import of
    1M customers fired 100 tasks of 10k ids costing the engine worker 10-15 s of CPU where no
    journey had anyone inside. Checked after commit, so an enrollment made before that is seen; one
    made after it starts from the profile already changed."""
    if _can_matter(workspace_id, entries=False) or finished_windows_open(
        workspace_id=workspace_id, customer_ids=customer_ids
    ):
        customers_changed_enqueue(workspace_id, customer_ids)


def profile_changes_drain(*, workspace_id: int) -> None:
    """The customers the workspace's update steps changed since the last drain
    (dispatch.profile_changes_send), told to the profile-change hook as an API change would be.
    The enrollment whose step made a change checked its own exit conditions and goals with it
    already; its journey's re-check finds nothing new."""
    for customer_ids in profile_changes_take(workspace_id, chunk=AUDIENCE_CHUNK):
        hooks.customers_changed(workspace_id=workspace_id, customer_ids=customer_ids)


def connect() -> None:
    hooks.connect_events_ingested(on_events_ingested)
    hooks.connect_customers_changed(on_customers_changed)


def _active_journeys(workspace_id: int | None = None):
    queryset = Journey.objects.unscoped().filter(
        status=Journey.Status.ACTIVE, live_version__isnull=False
    )
    if workspace_id is not None:
        queryset = queryset.filter(workspace_id=workspace_id)
    return list(queryset)


# ---- Events ---------------------------------------------------------------------------------
def _event_payload(event) -> dict:
    return {
        "name": event.name,
        "properties": event.properties or {},
        "event_id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
    }


def _event_entries(journeys: list[Journey]) -> list[tuple[Journey, list[dict]]]:
    """The active journeys that events enter, with their trigger specs."""
    found = []
    for journey in journeys:
        entry = (compiled_version(journey.live_version_id).settings or {}).get("entry") or {}
        if entry.get("type") == "event":
            found.append((journey, entry.get("events") or []))
    return found


@dataclass(slots=True)
class _StoredEvent:
    id: int
    customer_id: int
    name: str
    properties: dict | None
    occurred_at: datetime


# The batch's events that can matter, read by one primary-key probe per id (as goals._EVENT_BATCH:
# `id IN (…)` beside the workspace may be planned as a scan of the workspace's events in a
# partition without statistics): those of an event-entry name, and (when the workspace has a live
# enrollment: _CAN_MATTER_SQL once, as an init plan) those of a customer with one.
_EVENTS_THAT_MATTER = f"""
SELECT ev.id, ev.customer_id, ev.name, ev.properties, ev.occurred_at
FROM unnest(%(ids)s::bigint[]) AS i(id)
CROSS JOIN LATERAL (SELECT id, customer_id, name, properties, occurred_at FROM {Event._meta.db_table}
                    WHERE id = i.id AND workspace_id = %(ws)s LIMIT 1) AS ev
WHERE ev.name = ANY(%(names)s::text[])
   OR (({_CAN_MATTER_SQL}) AND EXISTS (SELECT 1 FROM {Enrollment._meta.db_table} e
                                       WHERE e.customer_id = ev.customer_id AND e.workspace_id = %(ws)s
                                         AND e.state = ANY(%(live)s)))
ORDER BY ev.occurred_at, ev.id
"""


def _events_that_matter(
    workspace_id: int, event_ids: list[int], names: list[str]
) -> list[_StoredEvent]:
    """The batch's events an entry or a live enrollment may react to; without event-entry names
    one cheap query first asks whether the workspace has a live enrollment at all (the batch is
    not read when it has none)."""
    if not names and not _can_matter(workspace_id, entries=False):
        return []
    with raw_cursor() as cursor:  # the ids as one parameter (see audiences.sql_arrays)
        cursor.execute(
            _EVENTS_THAT_MATTER,
            {
                "ids": id_array(event_ids),
                "ws": workspace_id,
                "names": names,
                "entries": False,
                "active": Journey.Status.ACTIVE.value,
                "live": [str(s) for s in LIVE],
            },
            prepare=True,
        )
        rows = cursor.fetchall()
    return [
        _StoredEvent(
            pk,
            customer_id,
            name,
            props if isinstance(props, dict | None) else json.loads(props),
            at,
        )
        for pk, customer_id, name, props, at in rows
    ]


def events_process(
    *, workspace_id: int, event_ids: list[int], now: datetime | None = None
) -> EnrollResult:
    """For stored events: wake the enrollments they concern (exit conditions, goals, event waits —
    the engine decides under its row lock), then enroll into journeys they trigger. Only events
    that can matter are loaded: a name some event-entry journey triggers on, or a customer with a
    live enrollment; the rest of a batch (most of it, in a busy workspace) is left in SQL, and none
    is read when the workspace has neither."""
    now = now or timezone.now()
    entries = _event_entries(_active_journeys(workspace_id))
    names = sorted(
        {spec.get("name", spec.get("event")) for _, specs in entries for spec in specs} - {None}
    )
    events = _events_that_matter(workspace_id, event_ids, names)
    by_customer: dict[int, list[_StoredEvent]] = {}
    for event in events:
        by_customer.setdefault(event.customer_id, []).append(event)

    # Enrollments already inside, before this batch's entries: one wake each. Exit conditions and
    # goals read every stored event, so any of the customer's events serves; an event wait takes
    # the first event it matches.
    items = []
    live_enrollments = (
        list(
            Enrollment.objects.for_workspace(workspace_id)
            .filter(customer_id__in=list(by_customer), state__in=LIVE)
            .values_list("id", "customer_id", "version_id", "wait")
        )
        if events
        else []
    )
    # Goals keep converting after a customer completed or exited, until their window closes.
    # Asked after the live enrollments were read: one that finished before that read is finished
    # here; one that finishes later gets its wake below, whose run converts it (engine.run).
    finished_goals_convert(workspace_id=workspace_id, event_ids=event_ids, now=now)
    if not events:
        return EnrollResult()
    for enrollment_id, customer_id, version_id, wait in live_enrollments:
        version = compiled_version(version_id)
        awaited = (wait or {}).get("event")
        chosen = None
        if awaited:
            spec = {"event": awaited, "where": (wait or {}).get("where") or []}
            chosen = next(
                (
                    ev
                    for ev in by_customer[customer_id]
                    if event_matches(spec, ev.name, ev.properties or {}, now=now)
                ),
                None,
            )
        if chosen is None and version is not None and (version.exit_conditions or version.goals):
            chosen = by_customer[customer_id][-1]
        if chosen is not None:
            payload = _event_payload(chosen)
            if len(by_customer[customer_id]) > 1:
                # All of them, should the enrollment have finished when its wake runs: its goals
                # then convert on any of the batch's events (engine.run._convert_late_events).
                payload["event_ids"] = [ev.id for ev in by_customer[customer_id]]
            items.append([enrollment_id, None, {"kind": "event", "payload": payload}])
    advance_enqueue(items)

    result = EnrollResult()
    for journey, specs in entries:
        key_property = entry_key_property(compiled_version(journey.live_version_id).settings)
        # Layers of {customer: (key, context)}: the first key of each customer in this batch, then
        # the second, … — each layer enters in one INSERT (a batch of carts is mostly one layer;
        # grouping by key instead cost one INSERT and one engine run per cart). "" is the one pass
        # of a journey without a key.
        layers: list[dict[int, tuple[str, dict]]] = []
        seen: set[tuple[int, str]] = set()
        passes: dict[int, int] = {}  # customer → keys entered so far in this batch (its next layer)
        for event in events:
            key = key_of(event.properties, key_property) if key_property else ""
            if key is None:
                continue  # a keyed journey's trigger without its key enters nobody
            if (event.customer_id, key) in seen:
                continue  # the first trigger event of a customer (and key) in this batch enrolls them
            if any(
                event_matches(spec, event.name, event.properties or {}, now=now) for spec in specs
            ):
                seen.add((event.customer_id, key))
                depth = passes[event.customer_id] = passes.get(event.customer_id, -1) + 1
                if depth == len(layers):
                    layers.append({})
                layers[depth][event.customer_id] = (
                    key,
                    {
                        "event": event.properties or {},
                        "event_name": event.name,
                        "event_id": event.id,
                        "event_at": event.occurred_at.isoformat(),
                    },
                )
        for layer in layers:
            # run_now: this is a worker already; the first steps run here, without another queue hop.
            result.add(
                enrollments_create(
                    journey=journey,
                    customer_ids=list(layer),
                    contexts={c: ctx for c, (_, ctx) in layer.items()},
                    now=now,
                    run_now=True,
                    keys={c: key for c, (key, _) in layer.items()} if key_property else None,
                )
            )
    return result


def customers_changed(*, workspace_id: int, customer_ids: list[int]) -> None:
    """Profiles changed: enrollments whose journey has exit conditions or goals re-check them, and
    finished ones with a goal window open may convert."""
    finished_goals_convert(workspace_id=workspace_id, customer_ids=customer_ids, now=timezone.now())
    date_waits_reread(workspace_id=workspace_id, customer_ids=customer_ids)
    live = (
        Enrollment.objects.for_workspace(workspace_id)
        .filter(customer_id__in=customer_ids, state__in=LIVE)
        .values_list("id", "version_id")
    )
    items = []
    for enrollment_id, version_id in live:
        version = compiled_version(version_id)
        if version is not None and (version.exit_conditions or version.goals):
            items.append([enrollment_id, None, {"kind": "check"}])
    advance_enqueue(items)


def date_waits_reread(*, workspace_id: int, customer_ids: list[int]) -> None:
    """Waits until a profile date re-read it (a rescheduled appointment moves the wake-up): one
    query for these customers' waiting date-mode enrollments, each signalled at its step."""
    waiting = (
        Enrollment.objects.for_workspace(workspace_id)
        .filter(
            customer_id__in=customer_ids,
            state=Enrollment.State.WAITING,
            wait__data__has_key=DATE_ATTRIBUTE_KEY,
        )
        .values_list("id", "step_seq")
    )
    advance_enqueue(
        [
            [pk, step_seq, {"kind": "signal", "payload": {"profile": True}}]
            for pk, step_seq in waiting
        ]
    )


# ---- Audience entries (segment, list, all) --------------------------------------------------
def _entry_customers(journey: Journey, entry: dict):
    """The customer ids a segment/list/all entry covers, as a lazy values_list."""
    kind = entry.get("type")
    if kind == "segment":
        condition = (
            {"segment": entry["segment_id"]} if entry.get("segment_id") else entry.get("condition")
        )
        return customers_matching(
            workspace_id=journey.workspace_id, condition=condition
        ).values_list("id", flat=True)
    if kind == "list":
        return (
            ListMember.objects.for_workspace(journey.workspace_id)
            .filter(customer_list_id=entry.get("list_id"))
            .values_list("customer_id", flat=True)
        )
    if kind == "all":
        return Customer.objects.for_workspace(journey.workspace_id).values_list("id", flat=True)
    return None


def journey_entry_audience(*, journey_id: int) -> EnrollResult:
    journey = Journey.objects.unscoped().filter(id=journey_id).first()
    if (
        journey is None
        or journey.status != Journey.Status.ACTIVE
        or journey.live_version_id is None
    ):
        return EnrollResult()
    entry = compiled_version(journey.live_version_id).settings.get("entry") or {}
    ids = _entry_customers(journey, entry)
    if ids is None:
        return EnrollResult()
    # Materialize first: a server-side cursor would hold a snapshot across the per-chunk commits.
    return enroll_in_chunks(journey=journey, customer_ids=list(ids))


def segment_entries_recurring() -> None:
    """Beat: journeys with a recurring segment entry enroll whoever matches now (re-entry policy
    decides about earlier passes)."""
    for journey in _active_journeys():
        entry = compiled_version(journey.live_version_id).settings.get("entry") or {}
        if entry.get("type") == "segment" and entry.get("recurring"):
            try:
                journey_entry_audience(journey_id=journey.id)
            except Exception:
                logger.exception("recurring segment entry failed for journey %s", journey.id)


# ---- Date attributes (birthdays) ------------------------------------------------------------
def _as_date(value) -> date | None:
    if isinstance(value, str):
        parsed = parse_date(value[:10]) if len(value) >= 10 else None
        if parsed is None and (dt := parse_datetime(value)):
            parsed = dt.date()
        return parsed
    return None


def _anniversary(source: date, year: int) -> date:
    try:
        return source.replace(year=year)
    except ValueError:  # 29 February outside a leap year
        return date(year, 2, 28)


def date_occurrences(
    *, value, tz, offset_days: int, at: time, now: datetime
) -> list[tuple[date, datetime]]:
    """(occurrence date, moment) pairs of a yearly date attribute falling in the run's horizon."""
    source = _as_date(value)
    if source is None:
        return []
    local_year = now.astimezone(tz).year
    found = []
    for year in (local_year - 1, local_year, local_year + 1):
        day = _anniversary(source, year) + timedelta(days=offset_days)
        moment = datetime.combine(day, at, tzinfo=tz)
        if now - DATE_LATE <= moment < now + DATE_LOOKAHEAD:
            found.append((day, moment))
    return found


def date_attribute_entries(*, now: datetime | None = None) -> EnrollResult:
    """Daily: for each active date-attribute journey, customers whose anniversary (plus offset)
    at `time` in their timezone (else the workspace's) falls within the next day are enrolled,
    parked before the start node until that moment. Once a year: the occurrence is the key."""
    now = now or timezone.now()
    result = EnrollResult()
    for journey in _active_journeys():
        entry = compiled_version(journey.live_version_id).settings.get("entry") or {}
        if entry.get("type") != "date_attribute":
            continue
        attribute = entry["attribute"]
        offset = int(entry.get("offset_days") or 0)
        hh, mm = (int(x) for x in (entry.get("time") or "09:00").split(":"))
        workspace_tz = zone_or_none(
            Workspace.objects.get(id=journey.workspace_id).timezone
        ) or ZoneInfo("UTC")
        candidates: dict[int, tuple[str, datetime]] = {}
        rows = (
            Customer.objects.for_workspace(journey.workspace_id)
            .filter(attributes__has_key=attribute)
            .values_list("id", "timezone", "attributes")
        )
        for customer_id, tz_name, attributes in rows.iterator(chunk_size=AUDIENCE_CHUNK):
            tz = zone_or_none(tz_name) or workspace_tz
            for day, moment in date_occurrences(
                value=attributes.get(attribute), tz=tz, offset_days=offset, at=time(hh, mm), now=now
            ):
                candidates[customer_id] = (day.isoformat(), moment)
        if not candidates:
            continue
        seen = set(
            Enrollment.objects.for_workspace(journey.workspace_id)
            .filter(journey=journey, customer_id__in=list(candidates))
            .values_list("customer_id", "context__date_occurrence")
        )
        fresh = {c: v for c, v in candidates.items() if (c, v[0]) not in seen}
        with transaction.atomic():
            result.add(
                enrollments_create(
                    journey=journey,
                    customer_ids=list(fresh),
                    contexts={c: {"date_occurrence": v[0]} for c, v in fresh.items()},
                    start_at={c: v[1] for c, v in fresh.items() if v[1] > now},
                    now=now,
                    re_entry={"policy": "always"},  # yearly by nature; the occurrence dedups
                )
            )
    return result
