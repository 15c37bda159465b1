"""Step-event retention: each workspace's step events older than its `step_retention_days` go.

The table is partitioned by month of `at` (workspaces/partitions.py), shared by all workspaces: a
month every workspace has let go of (it ends before now − the longest step retention) is dropped
whole; the rest past a shorter retention is deleted per journey along the (journey_id, at) index,
at most RETENTION_BATCH rows per DELETE, each its own transaction, the next batch starting at the
last deleted time (a keyset).

The analytics rollups count each step event once, seconds after it is written, and keep their
totals: per-node counts, conversions, revenue and durations stay as they were. What reads raw
history loses its old rows: a customer's journey timeline, the funnel and the split experiments'
path counts over rows older than the retention.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from workspaces.models import Workspace
from workspaces.partitions import batches_delete, partitions_retention_drop

from .models import Journey

logger = logging.getLogger(__name__)

RETENTION_BATCH = 10_000

_DELETE_SQL = """
WITH doomed AS (
    SELECT id, at FROM journeys_stepevent
    WHERE journey_id = %(journey)s AND workspace_id = %(ws)s AND at >= %(after)s AND at < %(cutoff)s
    ORDER BY at
    LIMIT %(limit)s
)
DELETE FROM journeys_stepevent s USING doomed WHERE s.id = doomed.id AND s.at = doomed.at
RETURNING doomed.at
"""


@dataclass
class StepRetentionResult:
    deleted: int = 0
    batches: int = 0


def steps_retention_apply(
    *, workspace: Workspace, now: datetime | None = None, batch_size: int = RETENTION_BATCH
) -> StepRetentionResult:
    """Deletes the workspace's step events from before now − step_retention_days, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=workspace.step_retention_days)
    result = StepRetentionResult()
    journey_ids = list(Journey.objects.for_workspace(workspace).order_by("pk").values_list("pk", flat=True))
    for journey_id in journey_ids:
        deleted, batches = batches_delete(_DELETE_SQL, {"journey": journey_id, "ws": workspace.pk, "cutoff": cutoff},
                                          batch_size=batch_size)
        result.deleted += deleted
        result.batches += batches
    if result.deleted:
        logger.info("retention: workspace %s lost %s step events before %s in %s batches",
                    workspace.pk, result.deleted, cutoff.isoformat(), result.batches)
    return result


def steps_retention_sweep(*, now: datetime | None = None) -> int:
    """Every workspace's step retention (the daily beat task): whole months first, then batches."""
    now = now or timezone.now()
    dropped = partitions_retention_drop("journeys_stepevent", days_field="step_retention_days", now=now)
    return dropped + sum(steps_retention_apply(workspace=ws, now=now).deleted
                         for ws in Workspace.objects.order_by("pk"))
