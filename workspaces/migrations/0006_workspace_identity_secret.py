"""A secret per workspace for the web inbox's user hashes."""

from django.db import migrations, models

import workspaces.models


def _one_secret_per_workspace(apps, schema_editor):
    # AddField evaluates a callable default once, so every existing workspace got the same value.
    Workspace = apps.get_model("workspaces", "Workspace")
    for workspace in Workspace.objects.only("pk"):
        Workspace.objects.filter(pk=workspace.pk).update(
            identity_secret=workspaces.models.new_signing_secret()
        )


class Migration(migrations.Migration):

    dependencies = [
        ("workspaces", "0005_api_key_kind_allowed_origins"),
    ]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="identity_secret",
            field=models.CharField(
                default=workspaces.models.new_signing_secret, editable=False, max_length=64
            ),
        ),
        migrations.RunPython(_one_secret_per_workspace, migrations.RunPython.noop),
    ]
