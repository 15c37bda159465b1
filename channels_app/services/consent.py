"""Whether a marketing message may go to a customer: channel and topic opt-outs, quiet hours and
frequency caps (the workspace's across all journeys, and the journey's own). Transactional
messages never ask."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from django.db import connection

from audiences.models import Customer
from audiences.topics import topic_get, topic_subscribed
from journeys.fields import duration_seconds
from workspaces.models import Workspace

from ..models import Message

MARKETING, TRANSACTIONAL = "marketing", "transactional"
# The advisory lock class of a customer's frequency count ("WMFC"); its key is the customer id.
_CAP_LOCK = 0x574D4643
_CAP_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(%s, (%s %% 2147483648)::int)"  # int4 keys: ids wrap, harmlessly
# An engine batch holds the locks of its customers until it commits, so two batches taking the
# same customers in opposite orders would wait on each other forever (a deadlock PostgreSQL ends
# by failing one). Instead a lock is tried for this long (backing off 5 ms → 100 ms), and a step
# that cannot get it waits CAP_BUSY_RETRY and tries again (tests/channels/test_frequency_race.py).
CAP_LOCK_WAIT_SECONDS = 2.0
CAP_BUSY_RETRY = timedelta(seconds=15)


class CapBusy(Exception):
    """Another transaction holds the customer's frequency count: try the step again later."""


def _cap_lock(customer_id: int) -> None:
    deadline = time.monotonic() + CAP_LOCK_WAIT_SECONDS
    pause = 0.005
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_CAP_LOCK_SQL, [_CAP_LOCK, customer_id])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() >= deadline:
                raise CapBusy(customer_id)
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def quiet_hours_end(*, quiet_hours: dict | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When `now` falls inside the quiet window (customer's local time), the window's end;
    else None. A window may cross midnight ("21:00"–"08:00")."""
    if not quiet_hours or not quiet_hours.get("start") or not quiet_hours.get("end"):
        return None
    start = dtime.fromisoformat(quiet_hours["start"])
    end = dtime.fromisoformat(quiet_hours["end"])
    if start == end:
        return None
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    naive = datetime.combine(end_day, end)
    # fold=0 and a round trip through UTC settle DST gaps/overlaps on a real instant.
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def opted_out(*, workspace: Workspace, customer: Customer, channel: str, topic_key: str) -> bool:
    """The customer unsubscribed from the channel, or is not subscribed to the topic."""
    if channel in (customer.unsubscribed or []):
        return True
    if not topic_key:
        return False
    topic = topic_get(workspace=workspace, key=topic_key)
    return not topic_subscribed(customer=customer, topic=topic, topic_key=topic_key)


def quiet_until(
    *, workspace: Workspace, journey_settings: dict, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """The end of the later quiet window `now` falls in (workspace's, journey's), or None."""
    ends = [
        end
        for quiet in (workspace.quiet_hours, journey_settings.get("quiet_hours"))
        if (end := quiet_hours_end(quiet_hours=quiet, zone=zone, now=now)) is not None
    ]
    return max(ends) if ends else None


def _window(cap: dict | None) -> timedelta | None:
    if not isinstance(cap, dict) or not cap.get("max") or not isinstance(cap.get("per"), dict):
        return None
    return timedelta(seconds=duration_seconds(cap["per"]))


def _caps(workspace: Workspace, journey_cap: dict | None, journey_id: int | None) -> list:
    """(cap, window, journey scope or None) of every cap that applies."""
    return [
        (cap, window, scope)
        for cap, scope in ((workspace.frequency_cap, None), (journey_cap, journey_id))
        if (window := _window(cap)) is not None
    ]


def _over_a_cap(
    *, workspace: Workspace, customer_id: int | None, caps: list, now: datetime, unsaved: Sequence[datetime]
) -> bool:
    for cap, window, scope in caps:
        since = now - window
        count = sum(1 for at in unsaved if at > since)
        if customer_id is not None:
            # Messages that went (or are going) out; failed ones never reached the customer.
            sent = (
                Message.objects.for_workspace(workspace)
                .filter(customer_id=customer_id, category=MARKETING, created_at__gt=since)
                .exclude(status=Message.Status.FAILED)
            )
            if scope is not None:
                sent = sent.filter(journey_id=scope)
            count += sent.count()
        if count >= cap["max"]:
            return True
    return False


def frequency_capped(
    *,
    workspace: Workspace,
    customer_id: int | None,
    journey_id: int | None,
    journey_cap: dict | None,
    now: datetime,
    unsaved: Sequence[datetime] = (),
) -> bool:
    """Whether one more marketing message would pass a cap, for Simulate, which writes nothing and
    so takes no lock: `unsaved` are the times of the simulated path's own earlier sends in this
    journey (in no table, yet counted as the engine counts the messages it created before), and a
    customer typed in rather than stored (`customer_id` None) has only those."""
    caps = _caps(workspace, journey_cap, journey_id)
    return bool(caps) and _over_a_cap(
        workspace=workspace, customer_id=customer_id, caps=caps, now=now, unsaved=unsaved
    )


def frequency_capped_locked(
    *,
    workspace: Workspace,
    customer_id: int,
    journey_id: int | None,
    journey_cap: dict | None,
    now: datetime,
) -> bool:
    """Whether one more marketing message would pass a cap. Call it inside the transaction that
    then creates the message: the customer's advisory lock, held until that transaction ends,
    makes count-then-insert one step, so two workers sending to the same customer at once are
    counted one after the other (tests/channels/test_frequency_race.py). Raises CapBusy when the
    lock stays taken for CAP_LOCK_WAIT_SECONDS."""
    caps = _caps(workspace, journey_cap, journey_id)
    if not caps:
        return False
    _cap_lock(customer_id)
    return _over_a_cap(workspace=workspace, customer_id=customer_id, caps=caps, now=now, unsaved=())
