"""Journeys: the editable draft, frozen versions, the audit log, enrollments and their step history."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from audiences.models import Customer
from workspaces.models import Workspace, WorkspaceModel

# Journey has a field named `settings`, which would shadow django.conf.settings in its body.
USER_MODEL = settings.AUTH_USER_MODEL


class Journey(WorkspaceModel):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        STOPPED = "stopped"
        ARCHIVED = "archived"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    graph = models.JSONField(default=dict)  # the draft: {"nodes": [...], "edges": [...]}
    settings = models.JSONField(default=dict)  # the draft's settings (API.md "Settings")
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    live_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "status"], name="journey_workspace_status"),
            GinIndex(fields=["tags"], name="journey_tags"),  # ?tag= is `tags @> {tag}`
        ]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(WorkspaceModel):
    """An immutable published graph + settings; enrollments run against one of these."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    settings = models.JSONField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_unique_number"),
        ]


class JourneyAuditEntry(WorkspaceModel):
    """Who changed a journey's status or published it, when, from what to what."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="audit_entries")
    action = models.CharField(max_length=32)  # created, published, started, paused, resumed, stopped, archived…
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    version_number = models.PositiveIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, default="")  # "api-key:ab12cd34" or email
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)


class Enrollment(WorkspaceModel):
    """One customer's pass through a journey. At most one is active per (journey, customer)."""

    class State(models.TextChoices):
        ACTIVE = "active"  # ready to advance now
        WAITING = "waiting"  # parked at a node until wake_at or an event
        COMPLETED = "completed"
        EXITED = "exited"
        FAILED = "failed"

    # No single-column indexes on workspace, journey, version and customer: every engine UPDATE
    # (never HOT: state, node_id and wake_at are indexed) pays for each index the row has, no read
    # filters enrollments by workspace or version alone, and enrollment_journey_state_node and
    # enrollment_customer_journey lead with journey and customer. No database FK constraints on
    # workspace, journey and version either: their deferred per-row checks were most of an
    # enrollment's COMMIT (measured: COMMIT ~15 → ~5 µs of PostgreSQL CPU per enrollment), and the
    # one INSERT that creates enrollments takes all three from a journey row it checks in the same
    # statement; those parents are deleted only through the ORM, which cascades. The customer
    # keeps its constraint: customers are deleted while enrollments are being created.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="enrollments", db_index=False, db_constraint=False
    )
    version = models.ForeignKey(
        JourneyVersion, on_delete=models.CASCADE, related_name="enrollments", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    node_id = models.CharField(max_length=100)
    # Increments on every move; a task carries the step_seq it expects, so late or duplicate
    # tasks are no-ops.
    step_seq = models.PositiveIntegerField(default=0)
    wake_at = models.DateTimeField(null=True, blank=True)  # the truth for timers (Redis mirrors it)
    entered_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=64, blank=True, default="")
    holdout = models.BooleanField(default=False)  # control group: no messages
    # The trigger event's properties and other per-pass context used by Liquid and waits.
    context = models.JSONField(default=dict, blank=True)
    goals = models.JSONField(default=list, blank=True)  # [{"id", "at"}]
    # What a waiting enrollment waits for besides wake_at: {"event", "where", "data"} from the
    # node's Wait, or {"entry": true} for a date-attribute entry parked before its start node.
    wait = models.JSONField(default=dict, blank=True)
    # A keyed journey's key (the entry event's key property, e.g. a cart id): one live pass per
    # customer and key. Empty for journeys without a key.
    key = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer", "key"],
                condition=models.Q(state__in=["active", "waiting"]),
                name="enrollment_one_active_per_customer_key",
            ),
        ]
        indexes = [
            models.Index(fields=["journey", "state", "node_id"], name="enrollment_journey_state_node"),
            # (customer, journey): the re-entry guard asks "has this customer been in this journey?"
            # per customer entering; with (customer, state) the planner ANDed a bitmap of the whole
            # journey's rows into every probe, so enrolling got slower as the journey filled up.
            models.Index(fields=["customer", "journey"], name="enrollment_customer_journey"),
            models.Index(
                fields=["wake_at"], name="enrollment_waiting_wake_at", condition=models.Q(state="waiting")
            ),
            # An active row's wake_at is when it was queued: the reconciler finds stalled ones.
            models.Index(
                fields=["wake_at"], name="enrollment_active_wake_at", condition=models.Q(state="active")
            ),
        ]


class StepEvent(WorkspaceModel):
    """The append-only audit trail of every move; analytics read it."""

    class Kind(models.TextChoices):
        ENTERED = "entered"  # entered the journey (node = start)
        ARRIVED = "arrived"  # arrived at a node (older rows; newer ones are passed.to_node_id)
        PASSED = "passed"  # left a node through `handle` (and arrived at to_node_id, if any)
        WAITING = "waiting"  # parked at a node until data["wake_at"] or an event
        EXITED = "exited"  # left the journey early (data["reason"])
        COMPLETED = "completed"
        FAILED = "failed"
        GOAL = "goal"  # reached a goal (data["goal_id"])

    # The hottest insert (one row per node execution, by COPY): no database FK constraints, whose
    # deferred per-row checks cost more PostgreSQL CPU at COMMIT than the COPY itself (measured:
    # ~25 of ~95 µs per node execution), and no workspace index (every read goes by enrollment or
    # journey). Deletes still cascade through the ORM (on_delete), the only way rows are deleted.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="steps", db_index=False, db_constraint=False
    )
    journey_id = models.BigIntegerField()
    version_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()
    node_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    handle = models.CharField(max_length=100, blank=True, default="")
    # A "passed" row also records the arrival at the next node (step_seq + 1, same time): one row
    # per move instead of two, the history's biggest cost. Readers expand it into an "arrived"
    # (enrollments.enrollment_history, the analytics rollups). '' when the move ended the journey.
    to_node_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    step_seq = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["enrollment", "at"], name="stepevent_enrollment_at"),
            models.Index(fields=["journey_id", "at"], name="stepevent_journey_at"),
        ]


class SplitExperiment(WorkspaceModel):
    """The state of a split node's experiment (config "experiment"): running with the always-valid
    p-values seen so far, or decided — then every later arrival takes `winner`."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DECIDED = "decided"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    node_id = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    winner = models.CharField(max_length=100, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=16, blank=True, default="")  # auto | manual
    # "best>other" → the running minimum of the mSPRT p-value of that comparison (always valid
    # only as a running minimum across looks).
    p_values = models.JSONField(default=dict, blank=True)
    p_value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "node_id"], name="split_experiment_one_per_node")
        ]
