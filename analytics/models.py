"""Analytics rollups: step and message counts per journey/version/node/day, completion
durations, all-time node totals and the live position counts, kept by analytics.services.

Days are calendar days in the workspace's time zone when the event is folded (a later change
of the zone applies from then on, as in most analytics tools). Days, not hours: a read sums
every row of a journey, and 30 days of a busy journey are ~700 rows instead of ~16,000."""

from __future__ import annotations

from django.db import models

from workspaces.models import WorkspaceModel


class RollupCursor(models.Model):
    """How far a source table (journeys_stepevent, channels_app_deliveryevent) is rolled up:
    every row with id <= closed_id is counted, exactly once. Not tenant-owned: one row per
    source for the whole installation."""

    source = models.CharField(max_length=64, primary_key=True)
    closed_id = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.source} rolled up to id {self.closed_id}"


class StepRollup(WorkspaceModel):
    """StepEvents counted per (journey, version number, node, day, kind, label, holdout).

    kind is a StepEvent kind, or "converted" (an enrollment's first goal: conversions count
    enrollments, not goals). label is the handle of "passed", the reason of "exited"/"failed",
    the goal id of "goal", else "". holdout is only split for "entered" and "converted" (the
    holdout comparison); other kinds are counted with holdout=False."""

    journey_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    node_id = models.CharField(max_length=100)
    day = models.DateField()
    kind = models.CharField(max_length=16)
    label = models.CharField(max_length=100, blank=True, default="")
    holdout = models.BooleanField(default=False)
    # One day's count fits an int, and sum(int) adds in int8 where sum(bigint) goes through
    # numeric: the read path sums thousands of these per request.
    count = models.IntegerField(default=0)
    # kind "goal": the summed value of those conversions (the goal's value.property), the revenue.
    value_sum = models.FloatField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey_id", "version", "node_id", "day", "kind", "label", "holdout"],
                name="step_rollup_key",
            )
        ]
        indexes = [models.Index(fields=["journey_id", "day"], name="step_rollup_journey_day")]


class NodeTotal(WorkspaceModel):
    """All-time StepRollup totals per (journey, node, kind, label) across versions and hours, and
    MessageRollup's as kind "message" with the status as label: what the journey list and the
    live canvas read, a handful of rows per node."""

    journey_id = models.BigIntegerField()
    node_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=16)
    label = models.CharField(max_length=100, blank=True, default="")
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey_id", "node_id", "kind", "label"], name="node_total_key")
        ]


class DurationRollup(WorkspaceModel):
    """Completed enrollments per (journey, version, day of completion, duration bucket): the
    exact count and sum of seconds (average), and a log-scale histogram (median)."""

    journey_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    day = models.DateField()
    duration_bucket = models.IntegerField()  # see selectors.duration_bucket_bounds
    count = models.IntegerField(default=0)
    seconds_sum = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey_id", "version", "day", "duration_bucket"], name="duration_rollup_key"
            )
        ]


class DurationTotal(WorkspaceModel):
    """DurationRollup summed over all days, per (journey, version, duration bucket): a read without
    a date range sums these few hundred rows instead of days × buckets (6,000 for 30 days)."""

    journey_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    duration_bucket = models.IntegerField()
    count = models.BigIntegerField(default=0)
    seconds_sum = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey_id", "version", "duration_bucket"], name="duration_total_key")
        ]


class MessageRollup(WorkspaceModel):
    """Messages that reached a status (sent, delivered, opened, read, clicked, replied, failed,
    bounced) for the first time, per (journey, version number, node, day of that status)."""

    journey_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    node_id = models.CharField(max_length=100)
    day = models.DateField()
    status = models.CharField(max_length=16)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey_id", "version", "node_id", "day", "status"], name="message_rollup_key"
            )
        ]


class LiveCount(WorkspaceModel):
    """Enrollments now at each node (state active or waiting), recounted from the Enrollment
    table for every journey that moved since the last rollup run."""

    journey_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    node_id = models.CharField(max_length=100)
    state = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["journey_id"], name="live_count_journey")]
