"""Reads for tenancy."""

from __future__ import annotations

from .models import ApiKey, Invitation, Membership, User, Workspace


def membership_for(*, user: User, workspace_ref: str | None) -> Membership | None:
    """The user's membership in the workspace named by id or slug; their only one if unnamed."""
    memberships = Membership.objects.select_related("workspace").filter(user=user)
    if workspace_ref:
        if workspace_ref.isdigit():
            return memberships.filter(workspace_id=int(workspace_ref)).first()
        return memberships.filter(workspace__slug=workspace_ref).first()
    first_two = list(memberships.order_by("workspace_id")[:2])
    return first_two[0] if len(first_two) == 1 else None


def workspaces_for_user(*, user: User) -> list[Membership]:
    return list(Membership.objects.select_related("workspace").filter(user=user).order_by("workspace__name"))


def api_keys_list(*, workspace: Workspace):
    return ApiKey.objects.for_workspace(workspace).order_by("-id")


def invitations_open(*, workspace: Workspace):
    """Invitations not yet accepted or withdrawn (expired ones included, so they can be re-sent)."""
    return (
        Invitation.objects.for_workspace(workspace)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
    )
