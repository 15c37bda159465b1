"""Event partitions as a fresh database has them: filled, never analyzed (autovacuum has not got
to them yet), so the planner has only the indexes to go by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from workspaces.partitions import add_months, month_start, partition_name, partitions_ensure


def unanalyzed_event_batch(workspace, rows: int = 20000, batch: int = 100) -> tuple[list[int], list[str]]:
    """`rows` events in this month's partition, in a month made after the migrations (as the daily
    task does) and in the default partition, none analyzed. Returns the last `batch` ids stored
    (a batch read back by id) and the partitions filled."""
    now = timezone.now()
    later = add_months(month_start(now), 5)
    partitions_ensure(now=later, ahead=0)
    with connection.cursor() as cursor:
        for at in (now, later + timedelta(days=2), datetime(2001, 1, 1, tzinfo=UTC)):
            cursor.execute(
                "INSERT INTO audiences_event (workspace_id, customer_id, name, properties, occurred_at, received_at)"
                " SELECT %s, i, 'view', '{}', %s, now() FROM generate_series(1, %s) AS i",
                [workspace.pk, at, rows],
            )
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename LIKE 'audiences_event%%'")
        assert cursor.fetchone()[0] == 0  # nothing analyzed
        cursor.execute("SELECT array_agg(id) FROM (SELECT id FROM audiences_event ORDER BY id DESC LIMIT %s) AS x",
                       [batch])
        ids = cursor.fetchone()[0]
    filled = [partition_name("audiences_event", month_start(now)), partition_name("audiences_event", later),
              "audiences_event_default"]
    return ids, filled
