# Events become monthly range partitions of occurred_at (workspaces/partitions.py), and the
# idempotency keys move to their own table (a unique index on a partitioned table must contain the
# partition key). Works on a database with data: keys are copied, rows are moved into the new
# partitioned table, which then takes the old one's name, sequence and index names.

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.db import migrations, models

from workspaces.partitions import convert_to_partitioned


def copy_keys(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audiences_eventkey (workspace_id, idempotency_id, received_at)"
            " SELECT workspace_id, idempotency_id, min(received_at) FROM audiences_event"
            " WHERE idempotency_id IS NOT NULL GROUP BY 1, 2"
        )


def partition_events(apps, schema_editor):
    convert_to_partitioned(schema_editor, "audiences_event")


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0009_import_upload_in_database'),
        ('workspaces', '0006_workspace_identity_secret'),
    ]

    operations = [
        migrations.CreateModel(
            name='EventKey',
            fields=[
                ('pk', models.CompositePrimaryKey('workspace_id', 'idempotency_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('workspace', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
                ('idempotency_id', models.CharField(max_length=255)),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            managers=[
                ('all_workspaces', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddIndex(
            model_name='eventkey',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['received_at'], name='eventkey_received_brin'),
        ),
        migrations.RunPython(copy_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='event',
            name='event_unique_idempotency_id',
        ),
        migrations.RunPython(partition_events),  # one way: back would need the old unique index
    ]
