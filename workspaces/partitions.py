"""Monthly range partitions for the append-only history tables (events, step events).

Each table is `PARTITION BY RANGE (<time column>)` with one partition per calendar month (UTC),
named `<table>_pYYYY_MM`, plus `<table>_default`, which takes any row no month partition covers
(a backfill older than the oldest month, a clock far in the future), so an insert is never
refused for its timestamp. A daily beat task keeps the current month and the next MONTHS_AHEAD
created ahead; creating a month moves the rows the default partition already holds for it into
the new partition first (PostgreSQL refuses to attach a range the default still has rows of).

Retention drops a month's partition once every workspace's horizon has passed its end (one DROP,
no dead rows, no vacuum); rows of workspaces with a shorter retention, inside months some other
workspace still keeps, are deleted in bounded batches by the table's own retention sweep.

The tables are named here as strings: this module sits below the apps that own them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# table → its partition key (a timestamptz column)
PARTITIONED = {"audiences_event": "occurred_at", "journeys_stepevent": "at"}
MONTHS_AHEAD = 2  # besides the current month
# On conversion, months of existing rows older than this many months before now get no partition
# of their own (they go to the default partition and retention deletes them in batches).
CONVERT_MONTHS_BACK = 36
# DDL that needs the parent's lock gives up after this instead of queueing every insert behind it;
# the next daily run tries again.
DDL_LOCK_TIMEOUT = "5s"

_MONTH_RE = re.compile(r"_p(\d{4})_(\d{2})$")


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y_%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


@dataclass(frozen=True)
class MonthPartition:
    name: str
    start: datetime
    end: datetime


def month_partitions(table: str) -> list[MonthPartition]:
    """The table's month partitions, oldest first (the default partition is not listed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _MONTH_RE.search(name)
        if match and name == partition_name(table, datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)):
            start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
            found.append(MonthPartition(name, start, add_months(start, 1)))
    return sorted(found, key=lambda p: p.start)


def is_partitioned(table: str, cursor=None) -> bool:
    if cursor is None:
        with connection.cursor() as cursor:
            return is_partitioned(table, cursor)
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _create_month(cursor, table: str, month: datetime) -> None:
    """Creates and attaches `month`'s partition, first moving into it the rows of that month the
    default partition holds. Run inside a transaction."""
    column = PARTITIONED[table]
    name, default = partition_name(table, month), default_name(table)
    start, end = month, add_months(month, 1)
    cursor.execute(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'")
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS)')
    if to_regclass(cursor, default):
        cols = ", ".join(f'"{c}"' for c in _columns(cursor, table))
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{default}" WHERE "{column}" >= %s AND "{column}" < %s RETURNING {cols})'
            f' INSERT INTO "{name}" ({cols}) SELECT {cols} FROM moved',
            [start, end],
        )
        if cursor.rowcount:
            logger.info("partitions: %s rows of %s moved from %s into %s", cursor.rowcount, table, default, name)
    if not _parent_primary_key(cursor, table):
        cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_pkey" PRIMARY KEY (id)')
    _copy_statistics_targets(cursor, table, name)
    cursor.execute(f"ALTER TABLE \"{table}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{start.isoformat()}')"
                   f" TO ('{end.isoformat()}')")


def _copy_statistics_targets(cursor, table: str, name: str) -> None:
    """Gives the new partition the per-column statistics targets set on the table (CREATE TABLE
    LIKE does not copy them), so its ANALYZE skips the columns the table's does."""
    cursor.execute(
        "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped AND attstattarget >= 0",
        [table],
    )
    for column, target in cursor.fetchall():
        cursor.execute(f'ALTER TABLE "{name}" ALTER COLUMN "{column}" SET STATISTICS {int(target)}')


def _parent_primary_key(cursor, table: str) -> bool:
    """Whether `table` has a primary key of its own, (id, <time column>), which its partitions share;
    one without (see partitions_own_primary_keys) gives each partition a primary key on id."""
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')",
                   [table])
    return cursor.fetchone()[0]


def _all_partitions(cursor, table: str) -> list[str]:
    cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass ORDER BY 1", [table])
    return [row[0].strip('"') for row in cursor.fetchall()]


def partitions_own_primary_keys(schema_editor, table: str) -> None:
    """Replaces the table's primary key (id, <time column>) by one on id in each partition (the
    default one included); _create_month gives every later month its own.

    Why: without statistics on a partition (a new month before autovacuum analyzed it, a server
    running without autovacuum), the planner knew nothing of `id` from (id, <time column>) and took
    `id = ANY(<1,000 ids>)` for the whole partition, so the by-id reads of a stored batch (the
    ingest hook's goal-window check, events_process, webhooks) read the workspace's every event
    through its name index instead: ~2-3 s a batch at 200k events, measured. A unique index on id
    alone tells it one row an id, as the unpartitioned table's primary key did. Ids come from one
    sequence, so they stay unique across partitions too; and the index is half as wide."""
    cursor = schema_editor.connection.cursor()
    if not is_partitioned(table, cursor) or not _parent_primary_key(cursor, table):
        return
    cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey"')
    for name in _all_partitions(cursor, table):
        cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_pkey" PRIMARY KEY (id)')


def partitions_shared_primary_key(schema_editor, table: str) -> None:
    """The reverse of partitions_own_primary_keys: one primary key (id, <time column>) on the table."""
    cursor = schema_editor.connection.cursor()
    if not is_partitioned(table, cursor) or _parent_primary_key(cursor, table):
        return
    for name in _all_partitions(cursor, table):
        cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT IF EXISTS "{name}_pkey"')
    cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{PARTITIONED[table]}")')


def to_regclass(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def partitions_ensure(*, now: datetime | None = None, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Creates the missing month partitions, the current month and the next `ahead`, of every
    partitioned table (the daily beat task; idempotent). Returns the names created."""
    first = month_start(now or timezone.now())
    created = []
    for table in PARTITIONED:
        if not is_partitioned(table):
            continue
        have = {p.start for p in month_partitions(table)}
        for n in range(ahead + 1):
            month = add_months(first, n)
            if month in have:
                continue
            with transaction.atomic(), connection.cursor() as cursor:
                _create_month(cursor, table, month)
            created.append(partition_name(table, month))
    if created:
        logger.info("partitions: created %s", ", ".join(created))
    return created


@dataclass(frozen=True)
class Dropped:
    name: str
    rows: int


def partitions_drop_before(table: str, cutoff: datetime) -> list[Dropped]:
    """Drops the table's month partitions that end at or before `cutoff` (every row in them is
    older than it), each in its own short transaction. Returns what went, with its row count."""
    dropped = []
    for part in month_partitions(table):
        if part.end > cutoff:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'")
            cursor.execute(f'SELECT count(*) FROM "{part.name}"')
            rows = cursor.fetchone()[0]
            cursor.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{part.name}"')
            cursor.execute(f'DROP TABLE "{part.name}"')
        dropped.append(Dropped(part.name, rows))
        logger.info("retention: dropped %s (%s rows, all before %s)", part.name, rows, cutoff.isoformat())
    return dropped


def partitions_retention_drop(table: str, *, days_field: str, now: datetime | None = None) -> int:
    """Drops the month partitions of `table` that every workspace's retention (the Workspace field
    `days_field`) has passed: they end before now − the longest one. Returns the rows they held."""
    from .models import Workspace

    longest = Workspace.objects.order_by(f"-{days_field}").values_list(days_field, flat=True).first()
    if longest is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=longest)
    return sum(part.rows for part in partitions_drop_before(table, cutoff))


def batches_delete(sql: str, params: dict, *, batch_size: int) -> tuple[int, int]:
    """Runs a bounded DELETE again and again, each its own statement (autocommit: its own
    transaction), until it deletes fewer than `batch_size` rows. `sql` takes %(after)s, %(limit)s
    and returns the deleted rows' times: the next batch starts at the last of them (a keyset), so
    it seeks past the rows gone instead of stepping over their dead index entries again. Rows at
    that very instant not yet deleted are taken by the next batch. Returns (rows, batches)."""
    deleted = batches = 0
    after = datetime.min.replace(tzinfo=UTC)
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "after": after, "limit": batch_size})
            stamps = [row[0] for row in cursor.fetchall()]
        if not stamps:
            break
        deleted += len(stamps)
        batches += 1
        if len(stamps) < batch_size:
            break
        after = max(stamps)
    return deleted, batches


# ---- Conversion of an existing table (the migrations) -----------------------------------------
def convert_to_partitioned(schema_editor, table: str, *, skip_indexes: tuple[str, ...] = (),
                           now: datetime | None = None) -> None:
    """Turns the plain `table` into a monthly range-partitioned one with the same name, columns,
    id sequence (continuing where it was), indexes (same names) and rows: creates the partitioned
    table beside it with the month partitions its rows need plus the months ahead and the default,
    moves every row, drops the old table and renames the new one into place. The primary key
    becomes (id, <time column>). Runs inside the migration's transaction: all or nothing."""
    column = PARTITIONED[table]
    new = f"{table}_partitioned"
    cursor = schema_editor.connection.cursor()
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
    if cursor.fetchone()[0] == "p":
        return
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = current_schema() AND i.tablename = %s AND i.indexname <> ALL(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.contype = 'p')",
        [table, list(skip_indexes)],
    )
    indexes = cursor.fetchall()
    cursor.execute(f'SELECT min("{column}"), max("{column}"), max(id) FROM "{table}"')
    oldest, newest, max_id = cursor.fetchone()
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (old_sequence,) = cursor.fetchone()
    cursor.execute(f"SELECT last_value, is_called FROM {old_sequence}")
    last_value, is_called = cursor.fetchone()
    next_id = max((max_id or 0) + 1, last_value + 1 if is_called else last_value)

    cursor.execute(f'CREATE TABLE "{new}" (LIKE "{table}" INCLUDING DEFAULTS) PARTITION BY RANGE ("{column}")')
    cursor.execute(f'CREATE SEQUENCE "{new}_id_seq" START WITH {int(next_id)} OWNED BY "{new}".id')
    cursor.execute(f"ALTER TABLE \"{new}\" ALTER COLUMN id SET DEFAULT nextval('\"{new}_id_seq\"'::regclass)")

    current = month_start(now or timezone.now())
    first = current if oldest is None else max(month_start(oldest), add_months(current, -CONVERT_MONTHS_BACK))
    last = add_months(current, MONTHS_AHEAD)
    if newest is not None:
        last = max(last, min(month_start(newest), add_months(current, 12)))
    month = min(first, current)
    while month <= last:
        end = add_months(month, 1)
        cursor.execute(f"CREATE TABLE \"{partition_name(table, month)}\" PARTITION OF \"{new}\""
                       f" FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')")
        month = end
    cursor.execute(f'CREATE TABLE "{default_name(table)}" PARTITION OF "{new}" DEFAULT')

    cols = ", ".join(f'"{c}"' for c in _columns(cursor, table))
    cursor.execute(f'INSERT INTO "{new}" ({cols}) SELECT {cols} FROM "{table}"')
    cursor.execute(f'DROP TABLE "{table}"')
    cursor.execute(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    cursor.execute(f'ALTER SEQUENCE "{new}_id_seq" RENAME TO "{table}_id_seq"')
    cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{column}")')
    for _name, definition in indexes:  # their definitions name the table, which is now the new one
        cursor.execute(definition)
    cursor.execute(f'ANALYZE "{table}"')
