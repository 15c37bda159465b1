"""Role checks: viewers read, editors write, owners manage keys, members and channels."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from .auth import request_role, require_workspace
from .models import Role, role_allows


class WorkspaceRolePermission(permissions.BasePermission):
    """Needs a workspace; reads need any role; writes need the view's `write_role` (default editor)."""

    def has_permission(self, request, view) -> bool:
        require_workspace(request)
        role = request_role(request)
        if request.method in permissions.SAFE_METHODS:
            required = getattr(view, "read_role", Role.VIEWER)
        else:
            required = getattr(view, "write_role", Role.EDITOR)
        if not role_allows(role, required):
            raise exceptions.PermissionDenied(f"This needs the {required} role; you are {role}.")
        return True


class AuthenticatedUser(permissions.BasePermission):
    """A logged-in person, with or without a workspace picked (login, me, workspaces)."""

    def has_permission(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return True
