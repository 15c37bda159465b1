"""`manage.py create_workspace NAME [--owner EMAIL]`: prints one line with a new API key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from workspaces.models import User
from workspaces.services import api_key_create, workspace_create


class Command(BaseCommand):
    help = "Create a workspace (optionally with an owner) and print a new API key for it."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", help="email of the owner; created without a password if new")

    @transaction.atomic
    def handle(self, *args, name, owner=None, **options):
        user = None
        if owner:
            user = User.objects.filter(email=owner.lower()).first() or User.objects.create_user(owner)
        workspace = workspace_create(name=name, owner=user)
        _, raw = api_key_create(workspace=workspace, name="created by create_workspace", created_by=user)
        self.stdout.write(f"workspace {workspace.id} ({workspace.slug}) api key: {raw}")
