# Uploads move from a folder web and workers shared into PostgreSQL (ImportChunk). A job still
# queued when this runs loses its file (its worker reports "The uploaded file is gone.").

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0008_topics_and_subscriptions'),
        ('workspaces', '0006_workspace_identity_secret'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='importjob',
            name='file_path',
        ),
        migrations.CreateModel(
            name='ImportChunk',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.IntegerField()),
                ('data', models.BinaryField()),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='audiences.importjob')),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('job', 'seq'), name='import_chunk_unique')],
            },
            managers=[
                ('all_workspaces', django.db.models.manager.Manager()),
            ],
        ),
        # Uncompressed out-of-line storage: CSV pieces are written once, read once, then deleted.
        migrations.RunSQL(
            "ALTER TABLE audiences_importchunk ALTER COLUMN data SET STORAGE EXTERNAL",
            migrations.RunSQL.noop,
        ),
    ]
