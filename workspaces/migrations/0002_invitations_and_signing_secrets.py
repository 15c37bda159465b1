"""Invitations by email, and a signing secret per workspace for its tracking links."""

import django.db.models.deletion
import django.db.models.manager
import workspaces.models
from django.conf import settings
from django.db import migrations, models


def _one_secret_per_workspace(apps, schema_editor):
    # AddField evaluates a callable default once, so every existing workspace got the same value.
    Workspace = apps.get_model("workspaces", "Workspace")
    for workspace in Workspace.objects.only("pk"):
        Workspace.objects.filter(pk=workspace.pk).update(signing_secret=workspaces.models.new_signing_secret())


class Migration(migrations.Migration):

    dependencies = [
        ('workspaces', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='workspace',
            name='signing_secret',
            field=models.CharField(default=workspaces.models.new_signing_secret, editable=False, max_length=64),
        ),
        migrations.RunPython(_one_secret_per_workspace, migrations.RunPython.noop),
        migrations.CreateModel(
            name='Invitation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(max_length=254)),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('editor', 'Editor'), ('viewer', 'Viewer')], default='editor', max_length=16)),
                ('token_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
                ('accepted_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('accepted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('invited_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
            ],
            options={
                'constraints': [models.UniqueConstraint(condition=models.Q(('accepted_at__isnull', True), ('revoked_at__isnull', True)), fields=('workspace', 'email'), name='invitation_one_open_per_email')],
            },
            managers=[
                ('all_workspaces', django.db.models.manager.Manager()),
            ],
        ),
    ]
