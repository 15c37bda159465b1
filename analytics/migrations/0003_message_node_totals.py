"""All-time message totals in NodeTotal (kind "message", the status as label), filled from the
daily MessageRollup, so the live canvas reads a node's message numbers from the few NodeTotal rows
it already reads instead of summing days × versions × statuses on every push. The delivery
cursor's row is locked first: a rollup run folding receipts right now finishes before the copy,
and none starts until it commits, so no status is counted twice or missed."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0002_duration_total'),
    ]

    operations = [
        migrations.RunSQL(
            """
            SELECT 1 FROM analytics_rollupcursor WHERE source = 'channels_app_deliveryevent' FOR UPDATE;
            INSERT INTO analytics_nodetotal (workspace_id, journey_id, node_id, kind, label, count)
            SELECT workspace_id, journey_id, node_id, 'message', status, sum(count)
            FROM analytics_messagerollup GROUP BY 1, 2, 3, 5;
            """,
            "DELETE FROM analytics_nodetotal WHERE kind = 'message';",
        ),
    ]
