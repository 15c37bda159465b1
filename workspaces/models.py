"""Tenancy: users, workspaces, memberships with roles, API keys, and the fail-closed scoped manager."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class WorkspaceScopeError(RuntimeError):
    """A tenant-owned table was queried without naming the workspace."""


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# What each role may do; a higher rank includes everything below it.
ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def role_allows(role: str, required: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in to the web app; API clients use keys instead."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email


def new_signing_secret() -> str:
    return secrets.token_urlsafe(32)


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Workspace-wide preferences, e.g. {"push_title_max": 30, "push_body_max": 30}.
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Mixed with SECRET_KEY into this workspace's signed links (channels_app/tracking.py), so a
    # leaked SECRET_KEY alone forges no link, and one workspace's links say nothing of another's.
    signing_secret = models.CharField(max_length=64, default=new_signing_secret, editable=False)
    # Events older than this are deleted by the daily retention sweep (audiences/retention.py).
    event_retention_days = models.PositiveIntegerField(default=400)
    # Step events (the journeys' history) older than this are dropped by the daily retention sweep
    # (journeys/retention.py); the analytics rollups keep their totals.
    step_retention_days = models.PositiveIntegerField(default=400)
    # Keys the web inbox's userHash (hex HMAC-SHA256 of the user id): a site's server computes it,
    # so a page can read only the inbox of the user it was rendered for (channels_app/web_inbox.py).
    identity_secret = models.CharField(max_length=64, default=new_signing_secret, editable=False)
    # Marketing messages across all journeys (API.md "Consent"): {"max", "per": DURATION} and
    # {"start": "HH:MM", "end": "HH:MM"} in the customer's time zone; null for none.
    frequency_cap = models.JSONField(null=True, blank=True)
    quiet_hours = models.JSONField(null=True, blank=True)
    # ISO 3166 alpha-2 ("KR"): phone numbers given without "+" are read as this country's national
    # numbers (audiences/normalize.phone_clean); "" requires E.164, as before the setting existed.
    default_country = models.CharField(max_length=2, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class WorkspaceQuerySet(models.QuerySet):
    def for_workspace(self, workspace: Workspace | int) -> WorkspaceQuerySet:
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        return self.filter(workspace_id=workspace_id)


class WorkspaceManager(models.Manager.from_queryset(WorkspaceQuerySet)):
    """Fails closed: `Model.objects.all()` raises; say `.for_workspace(ws)` or `.unscoped()`."""

    def get_queryset(self):
        raise WorkspaceScopeError(
            f"{self.model.__name__} is tenant-owned: use .for_workspace(ws) or .unscoped()"
        )

    def for_workspace(self, workspace: Workspace | int) -> WorkspaceQuerySet:
        return WorkspaceQuerySet(self.model, using=self._db).for_workspace(workspace)

    def none(self) -> WorkspaceQuerySet:
        return self.unscoped().none()  # an empty set leaks nothing; tools build schemas from it

    def unscoped(self) -> WorkspaceQuerySet:
        """Every workspace's rows: for migrations, admin and cross-tenant jobs only."""
        return WorkspaceQuerySet(self.model, using=self._db)


class WorkspaceModel(models.Model):
    """A tenant-owned row. Its queries must name the workspace (see WorkspaceManager)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    # Declared first, so it is Django's `_default_manager` for its own internals (unique
    # checks, admin, cascades), which add their own filters. Application code uses `objects`.
    all_workspaces = models.Manager()
    objects = WorkspaceManager()

    class Meta:
        abstract = True


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    # Not fail-closed: a user's memberships are read across workspaces at login. API views
    # still go through `.for_workspace(ws)` (WorkspaceViewSet).
    objects = models.Manager.from_queryset(WorkspaceQuerySet)()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"


class ApiKeyKind(models.TextChoices):
    SECRET = "secret", "Secret"
    PUBLISHABLE = "publishable", "Publishable"


class ApiKey(WorkspaceModel):
    """A secret shown once; only its SHA-256 and a lookup prefix are stored."""

    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OWNER)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A publishable key (wm_pk_…) sits in web pages and apps: it only writes tracking calls, and
    # browsers may use it only from `allowed_origins` (e.g. "https://shop.example").
    kind = models.CharField(max_length=16, choices=ApiKeyKind.choices, default=ApiKeyKind.SECRET)
    allowed_origins = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.workspace_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(WorkspaceModel):
    """An emailed, single-use, expiring offer to join a workspace. Only the SHA-256 of the link's
    token is stored; the person sets their own password (or signs in) when accepting."""

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open invitation per address and workspace: inviting again replaces it.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace_id} as {self.role}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
