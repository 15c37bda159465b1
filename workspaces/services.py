"""Writes for tenancy: workspaces, members, API keys."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from .live import membership_changed_notify
from .models import ROLE_RANK, ApiKey, ApiKeyKind, Invitation, Membership, Role, User, Workspace

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "wm_"
PUBLISHABLE_KEY_PREFIX = "wm_pk_"  # lookups are hex, so no secret key starts like this
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
    *,
    workspace: Workspace,
    name: str = "",
    role: str = Role.OWNER,
    created_by: User | None = None,
    kind: str = ApiKeyKind.SECRET,
    allowed_origins: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Returns the stored key and its plaintext, which is never available again. A publishable
    key only writes tracking calls (the editor role they need) whatever `role` says."""
    kind = ApiKeyKind(kind)
    while True:
        lookup = secrets.token_hex(LOOKUP_CHARS // 2)
        if not ApiKey.objects.unscoped().filter(prefix=lookup).exists():
            break
    start = PUBLISHABLE_KEY_PREFIX if kind == ApiKeyKind.PUBLISHABLE else API_KEY_PREFIX
    raw = f"{start}{lookup}{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.unscoped().create(
        workspace=workspace,
        name=name,
        prefix=lookup,
        key_hash=_hash_key(raw),
        role=Role.EDITOR if kind == ApiKeyKind.PUBLISHABLE else Role(role),
        created_by=created_by,
        kind=kind,
        allowed_origins=list(allowed_origins or []) if kind == ApiKeyKind.PUBLISHABLE else [],
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
    start = PUBLISHABLE_KEY_PREFIX if raw.startswith(PUBLISHABLE_KEY_PREFIX) else API_KEY_PREFIX
    if not raw.startswith(start) or len(raw) < len(start) + LOOKUP_CHARS + 1:
        return None
    lookup = raw[len(start) : len(start) + LOOKUP_CHARS]
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


class InvitationError(Exception):
    """An invitation that cannot be made or used; the message says why, for the person."""


class AlreadyMemberError(InvitationError):
    pass


class InvitationUnusableError(InvitationError):
    """Unknown, expired, revoked or already used."""


class SignInRequiredError(InvitationError):
    """The address has an account: its owner signs in to accept, nobody sets its password."""


class WrongAccountError(InvitationError):
    """Signed in as someone other than the invited address."""


class InvitationNotSentError(InvitationError):
    pass


class TooManyInvitationsError(InvitationError):
    """The workspace sent INVITATIONS_PER_HOUR already: our mail server is not a spam relay."""


def invitation_url(raw_token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/invite/{raw_token}"


def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User | None = None
) -> tuple[Invitation, str]:
    """A pending invitation and the link's token (stored only as its SHA-256). Inviting an address
    again replaces its open invitation, so only the newest link works."""
    email = User.objects.normalize_email(email.strip()).lower()
    if Membership.objects.filter(workspace=workspace, user__email=email).exists():
        raise AlreadyMemberError(f"{email} is already a member of this workspace.")
    now = timezone.now()
    sent = Invitation.objects.for_workspace(workspace).filter(created_at__gte=now - timedelta(hours=1)).count()
    if sent >= settings.INVITATIONS_PER_HOUR:
        raise TooManyInvitationsError(
            f"This workspace sent {sent} invitations in the last hour, the most allowed; try again later."
        )
    raw = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            Invitation.objects.for_workspace(workspace).filter(
                email=email, accepted_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=now)
            invitation = Invitation.objects.unscoped().create(
                workspace=workspace,
                email=email,
                role=Role(role),
                token_hash=_hash_key(raw),
                invited_by=invited_by,
                expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
            )
    except IntegrityError as exc:  # the same address invited twice at the same instant
        raise InvitationError(f"{email} is being invited by someone else right now; try again.") from exc
    return invitation, raw


def invitation_send(
    *, workspace: Workspace, email: str, role: str, invited_by: User | None = None
) -> Invitation:
    """Creates the invitation and emails its link. A link that could not be sent is withdrawn,
    so no pending invitation exists that nobody received."""
    invitation, raw = invitation_create(workspace=workspace, email=email, role=role, invited_by=invited_by)
    inviter = invited_by.email if invited_by is not None else "An owner"
    try:
        send_mail(
            subject=f"You are invited to {workspace.name} on Waymark",
            message=(
                f"{inviter} invited you to the {workspace.name} workspace on Waymark as {invitation.role}.\n\n"
                f"Accept here (the link works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n"
                f"{invitation_url(raw)}\n\nIf you did not expect this, ignore this email."
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception as exc:
        logger.exception("invitation %s: the email could not be sent", invitation.pk)
        invitation.delete()
        raise InvitationNotSentError("The invitation email could not be sent; nothing was saved. Try again.") from exc
    return invitation


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


def _usable(invitation: Invitation | None) -> Invitation:
    if invitation is None or invitation.status == "revoked":
        raise InvitationUnusableError("This invitation link is not valid (it may have been withdrawn).")
    if invitation.status == "accepted":
        raise InvitationUnusableError("This invitation was already used. Sign in instead.")
    if invitation.status == "expired":
        raise InvitationUnusableError("This invitation has expired; ask a workspace owner for a new one.")
    return invitation


def invitation_by_token(raw_token: str) -> Invitation:
    """The usable invitation behind a link's token; InvitationUnusableError otherwise."""
    found = Invitation.objects.unscoped().select_related("workspace", "invited_by").filter(
        token_hash=_hash_key(raw_token)
    ).first()
    return _usable(found)


@transaction.atomic
def invitation_accept(
    *, raw_token: str, user: User | None = None, password: str | None = None, name: str = ""
) -> Membership:
    """Joins the invited person to the workspace, once. A signed-in user must be the invited
    address; without a session, only an address with no account yet may accept, by choosing its
    password here. An existing account is never given a password or a membership unasked."""
    invitation = _usable(
        Invitation.objects.unscoped().select_for_update().filter(token_hash=_hash_key(raw_token)).first()
    )
    if user is not None:
        if user.email.lower() != invitation.email:
            raise WrongAccountError(
                f"This invitation is for {invitation.email}; you are signed in as {user.email}. "
                "Sign out and sign in with the invited address."
            )
    else:
        if User.objects.filter(email=invitation.email).exists():
            raise SignInRequiredError(f"{invitation.email} already has an account: sign in, then accept.")
        if not password:
            raise DjangoValidationError({"password": ["Choose a password for your new account."]})
        try:
            validate_password(password, user=User(email=invitation.email))
        except DjangoValidationError as exc:
            raise DjangoValidationError({"password": exc.messages}) from exc
        try:
            with transaction.atomic():
                user = User.objects.create_user(invitation.email, password, name=name.strip())
        except IntegrityError as exc:  # the account was created a moment ago
            raise SignInRequiredError(f"{invitation.email} already has an account: sign in, then accept.") from exc
    membership, _ = Membership.objects.get_or_create(
        user=user, workspace_id=invitation.workspace_id, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def member_change_role(*, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role != Role.OWNER:
        _ensure_other_owner(membership)
    lowered = ROLE_RANK[Role(role)] < ROLE_RANK[Role(membership.role)]
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    if lowered:
        membership_changed_notify(user_id=membership.user_id, workspace_id=membership.workspace_id, reason="role_lowered")
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _ensure_other_owner(membership)
    membership.delete()
    membership_changed_notify(user_id=membership.user_id, workspace_id=membership.workspace_id, reason="removed")


def workspace_update(*, workspace: Workspace, data: dict) -> Workspace:
    fields = []
    for name in ("name", "timezone", "event_retention_days", "step_retention_days", "frequency_cap",
                 "quiet_hours", "default_country"):
        if name in data:
            setattr(workspace, name, data[name])
            fields.append(name)
    if "settings" in data:
        workspace.settings = {**workspace.settings, **data["settings"]}
        fields.append("settings")
    if fields:
        workspace.save(update_fields=fields)
    return workspace
