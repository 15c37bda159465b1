"""All-time duration totals (analytics.models.DurationTotal), filled from the daily rollup. The
step cursor's row is locked first: a rollup run folding right now finishes before the copy, and
none starts until it commits, so no completion is counted twice or missed."""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0001_initial'),
        ('workspaces', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='DurationTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('journey_id', models.BigIntegerField()),
                ('version', models.PositiveIntegerField()),
                ('duration_bucket', models.IntegerField()),
                ('count', models.BigIntegerField(default=0)),
                ('seconds_sum', models.FloatField(default=0)),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('journey_id', 'version', 'duration_bucket'), name='duration_total_key')],
            },
            managers=[
                ('all_workspaces', django.db.models.manager.Manager()),
            ],
        ),
        migrations.RunSQL(
            """
            SELECT 1 FROM analytics_rollupcursor WHERE source = 'journeys_stepevent' FOR UPDATE;
            INSERT INTO analytics_durationtotal (workspace_id, journey_id, version, duration_bucket, count, seconds_sum)
            SELECT workspace_id, journey_id, version, duration_bucket, sum(count), sum(seconds_sum)
            FROM analytics_durationrollup GROUP BY 1, 2, 3, 4;
            """,
            migrations.RunSQL.noop,
        ),
    ]
