# Each month partition of the events gets its own primary key on id instead of sharing the table's
# (id, occurred_at): see workspaces.partitions.partitions_own_primary_keys for why (plans of the
# by-id reads of a stored batch on partitions without statistics).

from django.db import migrations

from workspaces.partitions import partitions_own_primary_keys, partitions_shared_primary_key


def forwards(apps, schema_editor):
    partitions_own_primary_keys(schema_editor, "audiences_event")


def backwards(apps, schema_editor):
    partitions_shared_primary_key(schema_editor, "audiences_event")


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0010_event_partitions_and_keys'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
