# Step events become monthly range partitions of `at` (workspaces/partitions.py). Works on a
# database with data: rows are moved into the new partitioned table, which then takes the old
# one's name, id sequence (so the analytics rollups' id cursor carries on) and index names.

from django.db import migrations

from workspaces.partitions import convert_to_partitioned


def partition_step_events(apps, schema_editor):
    convert_to_partitioned(schema_editor, "journeys_stepevent")


class Migration(migrations.Migration):

    dependencies = [
        ('journeys', '0009_enrollment_key'),
    ]

    operations = [
        migrations.RunPython(partition_step_events),  # one way
    ]
