"""Event retention: each workspace's events older than its `event_retention_days` are deleted, a
bounded batch per transaction, so the sweep never holds one long transaction or lock on the table.

The table is partitioned by month (workspaces/partitions.py) and its partitions are shared by all
workspaces: a month every workspace has let go of (it ends before now − the longest retention) is
dropped whole first; what remains past a shorter retention, in months another workspace still
keeps, goes by the batches below. The idempotency keys (EventKey) follow the same horizon by
their received_at.

Each batch is one DELETE of at most RETENTION_BATCH events of one name, walked along the
(workspace, name, occurred_at) index oldest first; the next batch starts at the last deleted
timestamp (a keyset), so it seeks past the rows already gone instead of stepping over their
dead index entries again. Nothing else points at an event row (analytics count step events and
messages, not events), so no other table changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from workspaces.models import Workspace
from workspaces.partitions import batches_delete, partitions_retention_drop

logger = logging.getLogger(__name__)

RETENTION_BATCH = 10_000  # events per DELETE (one transaction): ~0.1–0.3 s of work, a few MB of WAL

# The event names a workspace has, read from the (workspace, name, occurred_at) index by a loose
# index scan: one index probe per name instead of reading every event.
_NAMES_SQL = """
WITH RECURSIVE names AS (
    (SELECT name FROM audiences_event WHERE workspace_id = %(ws)s ORDER BY name LIMIT 1)
    UNION ALL
    SELECT (SELECT e.name FROM audiences_event e WHERE e.workspace_id = %(ws)s AND e.name > names.name
            ORDER BY e.name LIMIT 1)
    FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL
"""

_DELETE_SQL = """
WITH doomed AS (
    SELECT id, occurred_at FROM audiences_event
    WHERE workspace_id = %(ws)s AND name = %(name)s AND occurred_at >= %(after)s AND occurred_at < %(cutoff)s
    ORDER BY occurred_at
    LIMIT %(limit)s
)
DELETE FROM audiences_event e USING doomed WHERE e.id = doomed.id AND e.occurred_at = doomed.occurred_at
RETURNING doomed.occurred_at
"""

# Keys by received_at along the block-range index; each batch is its own statement.
_DELETE_KEYS_SQL = """
DELETE FROM audiences_eventkey WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM audiences_eventkey WHERE workspace_id = %(ws)s AND received_at < %(cutoff)s LIMIT %(limit)s
))
"""


@dataclass
class RetentionResult:
    deleted: int = 0
    batches: int = 0
    keys_deleted: int = 0


def events_retention_apply(
    *, workspace: Workspace, now: datetime | None = None, batch_size: int = RETENTION_BATCH
) -> RetentionResult:
    """Deletes the workspace's events that occurred before now − event_retention_days."""
    cutoff = (now or timezone.now()) - timedelta(days=workspace.event_retention_days)
    result = RetentionResult()
    with connection.cursor() as cursor:
        cursor.execute(_NAMES_SQL, {"ws": workspace.pk})
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        deleted, batches = batches_delete(_DELETE_SQL, {"ws": workspace.pk, "name": name, "cutoff": cutoff},
                                          batch_size=batch_size)
        result.deleted += deleted
        result.batches += batches
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_DELETE_KEYS_SQL, {"ws": workspace.pk, "cutoff": cutoff, "limit": batch_size})
            gone = cursor.rowcount
        result.keys_deleted += gone
        if gone < batch_size:
            break
    if result.deleted:
        logger.info("retention: workspace %s lost %s events before %s in %s batches",
                    workspace.pk, result.deleted, cutoff.isoformat(), result.batches)
    return result


def events_retention_sweep(*, now: datetime | None = None) -> int:
    """Applies every workspace's retention (the daily beat task): whole months first, then batches;
    returns the events deleted."""
    now = now or timezone.now()
    dropped = partitions_retention_drop("audiences_event", days_field="event_retention_days", now=now)
    return dropped + sum(events_retention_apply(workspace=ws, now=now).deleted
                         for ws in Workspace.objects.order_by("pk"))
