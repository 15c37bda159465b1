# ANALYZE skips the columns no plan reads statistics of: the events' properties (readers filter on
# paths inside them, `properties #> path`, whose estimates never come from the column's own
# statistics) and the idempotency keys (unique, only ever looked up through the keys' primary key).
# Sorting and comparing 30,000 sampled ~0.5 KB documents was ~40% of an events partition's ANALYZE,
# which autovacuum repeats as the month's partition grows under ingest.
# ALTER TABLE on the partitioned table reaches every partition; later months copy it
# (workspaces.partitions._create_month).

from django.db import migrations

COLUMNS = [("audiences_event", "properties"), ("audiences_event", "idempotency_id"),
           ("audiences_eventkey", "idempotency_id")]


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0011_event_partition_primary_keys'),
    ]

    operations = [
        migrations.RunSQL(
            [f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS 0' for table, column in COLUMNS],
            [f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS -1' for table, column in COLUMNS],
        ),
    ]
