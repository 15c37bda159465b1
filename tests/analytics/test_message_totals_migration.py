"""Migration 0003 fills the live canvas's all-time message totals (NodeTotal, kind "message")
from the daily rollups already kept, so canvases show the numbers of receipts folded before it."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from analytics.models import MessageRollup, NodeTotal
from analytics.selectors import journey_live_counts

BEFORE, AFTER = [("analytics", "0002_duration_total")], [("analytics", "0003_message_node_totals")]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def test_message_totals_are_backfilled_from_the_daily_rollups(transactional_db, workspace):
    _migrate(BEFORE)
    rows = [(1, "sms", date(2026, 11, d), status, n) for d, status, n in
            ((1, "sent", 5), (2, "sent", 3), (2, "clicked", 2))]
    rows.append((2, "sms", date(2026, 11, 3), "sent", 4))  # an older version of the same node
    MessageRollup.objects.unscoped().bulk_create([
        MessageRollup(workspace=workspace, journey_id=7, version=v, node_id=node, day=day, status=s, count=n)
        for v, node, day, s, n in rows
    ])
    _migrate(AFTER)
    totals = NodeTotal.objects.for_workspace(workspace).filter(journey_id=7, kind="message")
    assert dict(totals.values_list("label", "count")) == {"sent": 12, "clicked": 2}
    live = journey_live_counts(journey_id=7, workspace_id=workspace.pk)
    assert live["nodes"]["sms"]["messages"] == {"sent": 12, "delivered": 0, "opened": 0, "read": 0, "clicked": 2,
                                                "replied": 0, "failed": 0, "bounced": 0, "failover": 0, "saved": 0}
    _migrate(BEFORE)  # reversible: the totals go, the daily rollups stay
    assert not NodeTotal.objects.for_workspace(workspace).filter(kind="message").exists()
    assert MessageRollup.objects.for_workspace(workspace).count() == 4
    _migrate(AFTER)
    # Back to the newest migrations, so the tests after this one find every column.
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("analytics"))
