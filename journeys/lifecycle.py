"""What a journey's status change does to its customers: the engine's side of start, stop,
pause, resume and publish. The definition services (journeys/services.py) call these inside
their transaction, after the journey row is updated; work for workers goes through journeys.dispatch,
after commit."""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.utils import timezone

from .dispatch import advance_enqueue, journey_entry_enqueue, journey_release_enqueue
from .enrollments import enrollments_exit
from .models import Journey, JourneyVersion

AUDIENCE_ENTRIES = ("segment", "list", "all")


def journey_activated(*, journey: Journey, version: JourneyVersion) -> None:
    """First start of a journey: enroll the entry audience for segment/list/all entries."""
    if ((version.settings or {}).get("entry") or {}).get("type") in AUDIENCE_ENTRIES:
        journey_entry_enqueue(journey.id)


def journey_version_published(
    *, journey: Journey, previous: JourneyVersion, version: JourneyVersion, in_flight: str
) -> None:
    """A new version of an active journey: `in_flight` is "move" (to the same node id in the new
    version, or exit with reason node_removed) or "keep" (stay on the previous version)."""
    if in_flight == "keep":
        return
    node_ids = [n["id"] for n in (version.graph or {}).get("nodes", []) if isinstance(n, dict) and "id" in n]
    enrollments_exit(journey=journey, reason="node_removed", version_ids_not=[version.id], node_ids_not=node_ids)
    with connection.cursor() as cursor:
        # Set-based: everyone else switches version in place; waits and timers carry over.
        cursor.execute(
            "UPDATE journeys_enrollment SET version_id = %s"
            " WHERE journey_id = %s AND state IN ('active', 'waiting') AND version_id <> %s",
            [version.id, journey.id, version.id],
        )


def journey_paused(*, journey: Journey) -> None:
    """Nothing advances while paused: the engine skips enrollments of a journey that is not
    active, timers that fire meanwhile are dropped, and resume releases what became due."""


def journey_resumed(*, journey: Journey) -> None:
    """Release what became due while paused (after the status commit)."""
    journey_release_enqueue(journey.id)


@transaction.atomic
def journey_release(*, journey_id: int) -> int:
    """Queues every active enrollment, every waiting one already due, and replays the signals and
    events held while paused (taking them off the rows), for an active journey."""
    if not Journey.objects.unscoped().filter(id=journey_id, status=Journey.Status.ACTIVE).exists():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, state FROM journeys_enrollment WHERE journey_id = %s"
            " AND (state = 'active' OR (state = 'waiting' AND wake_at <= %s))",
            [journey_id, timezone.now()],
        )
        rows = cursor.fetchall()
        # RETURNING shows the row after the update, so the held wakes are read in a CTE first.
        cursor.execute(
            "WITH old AS (SELECT id, step_seq, wait->'held' AS held FROM journeys_enrollment"
            " WHERE journey_id = %s AND state IN ('active', 'waiting') AND wait ? 'held' FOR UPDATE)"
            " UPDATE journeys_enrollment e SET wait = e.wait - 'held' FROM old WHERE e.id = old.id"
            " RETURNING old.id, old.step_seq, old.held",
            [journey_id],
        )
        held = cursor.fetchall()
    items = [[i, None, {"kind": "timer"} if state == "waiting" else None] for i, state in rows]
    for enrollment_id, step_seq, wakes in held:
        wakes = json.loads(wakes) if isinstance(wakes, str) else wakes
        items += [[enrollment_id, step_seq, wake] for wake in wakes]
    # One wake per enrollment per task (the engine keys a batch by enrollment id).
    rounds: list[list] = []
    seen: dict[int, int] = {}  # enrollment id → how many of its items are placed
    for item in items:
        n = seen.get(item[0], 0)
        seen[item[0]] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(item)
    for batch in rounds:
        advance_enqueue(batch)
    return len(items)


def journey_stopped(*, journey: Journey) -> None:
    """Every active or waiting enrollment exits with reason journey_stopped; timers cleared."""
    enrollments_exit(journey=journey, reason="journey_stopped")
