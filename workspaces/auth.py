"""API authentication: Bearer API keys name their workspace; browser sessions pick one they belong to."""

from __future__ import annotations

import re

from rest_framework import authentication, exceptions

from .selectors import membership_for
from .services import api_key_authenticate

# What a key can look like: "wm_" (or "wm_pk_"), hex lookup characters and a URL-safe secret.
# Anything else (a NUL, non-ASCII, a megabyte of text) is refused before it reaches the database.
API_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def api_key_lookup(raw: str):
    """The active key `raw` names, or None; text that cannot be a key is never looked up."""
    if not API_KEY_SHAPE.fullmatch(raw):
        return None
    return api_key_authenticate(raw)


class ApiKeyPrincipal:
    """The `request.user` of a key-authenticated call: the key acts, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    def __init__(self, key):
        self.key = key

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <api key>'.")
        key = api_key_lookup(parts[1])
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if key.kind == "publishable":  # web pages hold it: it only writes tracking calls (/v1/)
            raise exceptions.PermissionDenied("A publishable key works only on the /v1/ tracking endpoints.")
        # request.auth carries `.workspace` and `.role` for both kinds of credential.
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """Django session (with CSRF); the workspace comes from `X-Workspace` (id or slug)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        ref = request.headers.get("X-Workspace") or request.query_params.get("workspace")
        membership = membership_for(user=user, workspace_ref=ref)
        # No membership answers like a missing workspace: another tenant's id reveals nothing.
        # Views that need no workspace (login, me) accept a session without one.
        return user, membership


def request_workspace(request):
    """The workspace of an authenticated request, or None."""
    auth = getattr(request, "auth", None)
    return getattr(auth, "workspace", None)


def request_role(request) -> str | None:
    auth = getattr(request, "auth", None)
    return getattr(auth, "role", None)


def require_workspace(request):
    workspace = request_workspace(request)
    if workspace is None:
        if getattr(request, "user", None) is None or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        raise exceptions.NotFound("Workspace not found; pass X-Workspace with a workspace you belong to.")
    return workspace


def csrf_check(request) -> None:
    """CSRF for endpoints used before there is a session (login): DRF checks it only for
    requests that already have one, yet a forged login (the victim silently signed in to the
    attacker's account) is an attack too. Raises PermissionDenied (403)."""
    SessionAuthentication().enforce_csrf(request)
