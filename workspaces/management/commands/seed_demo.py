"""Idempotent demo data for `make run`: a workspace, its owner's login and an API key.

The plaintext credentials are kept in .data/demo.json (a local dev file) so every start can
print them again; a key that no longer works is replaced."""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from workspaces.models import Membership, Role, User
from workspaces.services import api_key_authenticate, api_key_create, workspace_create

DEMO_EMAIL = "admin@example.com"
DEMO_WORKSPACE = "Demo"


class Command(BaseCommand):
    help = "Create (once) the demo workspace, its owner and an API key; print them."

    @transaction.atomic
    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / ".data" / "demo.json"
        saved = json.loads(path.read_text()) if path.exists() else {}

        user = User.objects.filter(email=DEMO_EMAIL).first()
        password = saved.get("password")
        if user is None:
            password = password or secrets.token_urlsafe(9)
            user = User.objects.create_user(DEMO_EMAIL, password, name="Demo Admin", is_staff=True, is_superuser=True)
        elif not password or not user.check_password(password):
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save(update_fields=["password"])

        membership = Membership.objects.filter(user=user, workspace__name=DEMO_WORKSPACE).select_related("workspace").first()
        workspace = membership.workspace if membership else workspace_create(name=DEMO_WORKSPACE, owner=user)
        if membership and membership.role != Role.OWNER:
            membership.role = Role.OWNER
            membership.save(update_fields=["role"])

        key = saved.get("api_key")
        found = api_key_authenticate(key) if key else None
        if found is None or found.workspace_id != workspace.id:
            _, key = api_key_create(workspace=workspace, name="demo key", created_by=user)

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"email": DEMO_EMAIL, "password": password, "api_key": key, "workspace": workspace.slug}))
        path.chmod(0o600)
        self.stdout.write(json.dumps({"email": DEMO_EMAIL, "password": password, "api_key": key, "workspace_id": workspace.id}))
