"""Writes for tenancy: workspaces, members, API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import ApiKey, Membership, Role, User, Workspace

API_KEY_PREFIX = "wm_"
# 8 random characters after "wm_" identify the key; the remaining 32 bytes are the secret.
LOOKUP_CHARS = 8


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: User | None = None, timezone_name: str = "UTC") -> Workspace:
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name), timezone=timezone_name)
    if owner is not None:
        Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
    return workspace


def membership_set(*, workspace: Workspace, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, workspace=workspace, defaults={"role": Role(role)}
    )
    return membership


def api_key_create(
    *, workspace: Workspace, name: str = "", role: str = Role.OWNER, created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Returns the stored key and its plaintext, which is never available again."""
    while True:
        lookup = secrets.token_hex(LOOKUP_CHARS // 2)
        if not ApiKey.objects.unscoped().filter(prefix=lookup).exists():
            break
    raw = f"{API_KEY_PREFIX}{lookup}{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.unscoped().create(
        workspace=workspace,
        name=name,
        prefix=lookup,
        key_hash=_hash_key(raw),
        role=Role(role),
        created_by=created_by,
    )
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# The key and its workspace in one statement, in raw SQL: it runs in every API request, and the
# ORM's compile of the same select_related query cost ~1 ms CPU there, a fifth of an empty
# POST /events. Still one indexed read per request, so a revoked key stops working at once.
_KEY_FIELDS = ApiKey._meta.concrete_fields
_WORKSPACE_FIELDS = Workspace._meta.concrete_fields
_API_KEY_SQL = (
    "SELECT "
    + ", ".join([f'k."{f.column}"' for f in _KEY_FIELDS] + [f'w."{f.column}"' for f in _WORKSPACE_FIELDS])
    + f' FROM "{ApiKey._meta.db_table}" k JOIN "{Workspace._meta.db_table}" w ON w."id" = k."workspace_id"'
    + ' WHERE k."prefix" = %s AND k."revoked_at" IS NULL'
)


def _from_row(model, fields, values):
    # What the ORM does to a fetched row: each field's own conversion (JSONField parses its text).
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [field.attname for field in fields], values)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching `raw`, compared in constant time; None otherwise."""
    if not raw.startswith(API_KEY_PREFIX) or len(raw) < len(API_KEY_PREFIX) + LOOKUP_CHARS + 1:
        return None
    lookup = raw[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + LOOKUP_CHARS]
    with connection.cursor() as cursor:
        cursor.execute(_API_KEY_SQL, [lookup])
        row = cursor.fetchone()
    if row is None:
        return None
    key = _from_row(ApiKey, _KEY_FIELDS, row[: len(_KEY_FIELDS)])
    if not hmac.compare_digest(key.key_hash, _hash_key(raw)):
        return None
    key.workspace = _from_row(Workspace, _WORKSPACE_FIELDS, row[len(_KEY_FIELDS) :])
    now = timezone.now()
    # Touch last_used_at at most once a minute: a write per request would cap ingest speed.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.unscoped().filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


class LastOwnerError(Exception):
    """A workspace must keep at least one owner."""


def _ensure_other_owner(membership: Membership) -> None:
    others = Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER).exclude(
        pk=membership.pk
    )
    if membership.role == Role.OWNER and not others.exists():
        raise LastOwnerError("The workspace must keep at least one owner.")


@transaction.atomic
def member_add(*, workspace: Workspace, email: str, role: str, password: str | None = None) -> Membership:
    """Adds a person by email; a new user gets the password given, or none (cannot log in yet)."""
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password or None)
    return membership_set(workspace=workspace, user=user, role=role)


@transaction.atomic
def member_change_role(*, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role != Role.OWNER:
        _ensure_other_owner(membership)
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _ensure_other_owner(membership)
    membership.delete()


def workspace_update(*, workspace: Workspace, data: dict) -> Workspace:
    fields = []
    for name in ("name", "timezone"):
        if name in data:
            setattr(workspace, name, data[name])
            fields.append(name)
    if "settings" in data:
        workspace.settings = {**workspace.settings, **data["settings"]}
        fields.append("settings")
    if fields:
        workspace.save(update_fields=fields)
    return workspace
