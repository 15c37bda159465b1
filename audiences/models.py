"""Who journeys are for: customers, their events, segments, lists and CSV import jobs."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex, OpClass
from django.db import models
from django.db.models import Value
from django.db.models.fields.json import KeyTransform
from django.utils.timezone import now

from workspaces.models import Workspace, WorkspaceModel

# The attribute holding the anonymous ids merged into a customer (written by segment_api).
ANONYMOUS_IDS_ATTRIBUTE = "anonymous_ids"


class Customer(WorkspaceModel):
    # No index of its own: the (workspace, external_id) and (workspace, id) indexes lead with it.
    # No database constraint either (as Event): PostgreSQL checks a foreign key row by row, and
    # for a deferred one at commit, ~7.5 µs of an imported row's ~20 µs in the database. The id
    # always comes from the authenticated workspace, and Django still cascades its deletion.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    external_id = models.CharField(max_length=255)
    email = models.CharField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")  # E.164
    timezone = models.CharField(max_length=64, blank=True, default="")  # IANA name
    locale = models.CharField(max_length=32, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    # [{"platform": "android|ios|web", "token": str, "valid": bool, "updated_at": iso}]
    push_tokens = models.JSONField(default=list, blank=True)
    # Channels the customer opted out of, e.g. ["email", "sms"].
    unsubscribed = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    # Choices about marketing topics, {topic_key: bool} (audiences/topics.py); a topic not named
    # here follows its default. The database default serves the raw INSERTs of ingest and import.
    subscriptions = models.JSONField(default=dict, blank=True, db_default=Value({}, output_field=models.JSONField()))
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            # Also serves ?search=, a prefix match on external_id: the pattern opclass lets a btree
            # answer LIKE 'abc%' under any collation and still answers =, so one index does both
            # (every index costs ~3 µs per imported row; see bench/bench_audiences.py).
            # It carries the id too, so resolving external ids (every event batch) is an index-only
            # scan instead of a random heap page per id (measured ~11 µs an id on 1M customers).
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                name="customer_unique_external_id",
                opclasses=["int8_ops", "varchar_pattern_ops"],
                include=["id"],
            ),
        ]
        indexes = [
            # Anonymous ids merged into a customer (segment_api identify/alias) are looked up by
            # containment. Only this key is indexed, and only on rows that have it: a GIN over all
            # attributes cost ~6.5 µs per imported row and no other query used it.
            GinIndex(
                OpClass(KeyTransform(ANONYMOUS_IDS_ATTRIBUTE, "attributes"), name="jsonb_path_ops"),
                name="customer_anonymous_ids_gin",
                condition=models.Q(attributes__has_key=ANONYMOUS_IDS_ATTRIBUTE),
            ),
            # Only tagged customers are indexed: an untagged row (most of a big import) then costs
            # nothing here. ?tag= queries repeat the condition so the planner can use it.
            GinIndex(fields=["tags"], name="customer_tags_gin", condition=~models.Q(tags=[])),
            # GET /customers pages newest first within a workspace (keyset on id).
            models.Index(fields=["workspace", "id"], name="customer_workspace_id"),
            # ?search= is also a prefix match on email.
            models.Index(
                fields=["workspace", "email"],
                name="customer_email_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class Event(WorkspaceModel):
    # No index of its own: (workspace, name, occurred_at) and the idempotency index lead with it,
    # and every index costs on the ingest hot path. No database constraint either: its check ran
    # per row at commit, every concurrent batch share-locking the same workspace row (~7 µs an
    # event). Integrity holds through `customer` (whose own workspace FK is enforced) and Django
    # still cascades a workspace's deletion to its events.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # No database constraint: its deferred check ran per event at commit, a random probe of the
    # customers' primary key (~12 µs an event on 1M customers). Ingest holds its workspace's
    # customer-deletion lock shared instead (services.customers_delete_lock, one per batch), and
    # erasures and merges hold it exclusive before collecting events, so neither orphans the other.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    name = models.CharField(max_length=200)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=now)
    received_at = models.DateTimeField(default=now)
    # The client's idempotency key (`id` in POST /events), NULL for none: a repeat is accepted once.
    # Its uniqueness lives in EventKey: the table is partitioned by month of occurred_at
    # (workspaces/partitions.py; each partition's primary key is id), and a unique index on a
    # partitioned table must contain the partition key, so it could only refuse a repeat that
    # also repeats the timestamp.
    idempotency_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001

    class Meta:
        indexes = [
            # "did this customer do X (since T)": branches, segments, exit conditions.
            models.Index(fields=["customer", "name", "occurred_at"], name="event_customer_name_at"),
            # Carries the customer too: a segment's event clause ("bought in the last 30 days")
            # finds its customers index-only (measured 37 ms instead of 760 ms for 45k events).
            models.Index(
                fields=["workspace", "name", "occurred_at"], name="event_workspace_name_at", include=["customer"]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_id})"


class EventKey(WorkspaceModel):
    """The idempotency keys of stored events, one row per (workspace, key): the ingest statement
    inserts the batch's keys here first (ON CONFLICT DO NOTHING) and stores only the events whose
    key was new, so a repeated `id` is refused whatever month either copy falls in. Kept as long as
    the workspace keeps its events (event_retention_days, by received_at; audiences/retention.py)."""

    pk = models.CompositePrimaryKey("workspace_id", "idempotency_id")
    # No database constraint, like Event.workspace: Django still cascades a workspace's deletion.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    idempotency_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            # Retention finds the expired keys by time: rows arrive in received_at order, so a
            # block-range index is a few pages and costs ingest next to nothing.
            BrinIndex(fields=["received_at"], name="eventkey_received_brin"),
        ]

    def __str__(self) -> str:
        return self.idempotency_id


class Segment(WorkspaceModel):
    name = models.CharField(max_length=200)
    condition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class CustomerList(WorkspaceModel):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ListMember(WorkspaceModel):
    customer_list = models.ForeignKey(CustomerList, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="list_memberships")
    added_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_list", "customer"], name="list_member_unique"),
        ]
        indexes = [models.Index(fields=["customer"], name="list_member_customer")]


class ImportJob(WorkspaceModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    file_size = models.BigIntegerField(default=0)
    customer_list = models.ForeignKey(CustomerList, null=True, blank=True, on_delete=models.SET_NULL)
    total = models.BigIntegerField(default=0)
    processed = models.BigIntegerField(default=0)
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"line", "error"}], capped
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class ImportChunk(WorkspaceModel):
    """One piece of an uploaded CSV, in file order, kept until its import ends: the web process
    writes them and a worker reads them back, so the two share nothing but PostgreSQL (no folder).
    `data` is stored uncompressed (STORAGE EXTERNAL, migration 0009): pglz on 256 MiB of CSV costs
    seconds of CPU at upload and again at import, for disk the rows hold only minutes."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+")
    seq = models.IntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="import_chunk_unique")]


from .topics import Topic  # noqa: E402, F401  (the model lives with its rules)
