"""The roles sweep: every unsafe method of every /api/v1 route, called with a viewer key, answers
403 and changes nothing. Like the isolation sweep it walks the URLconf, so a new route is swept
without anyone remembering to add it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.isolation import CASES
from tests.test_isolation import ROUTES, _methods

UNSAFE = ("post", "put", "patch", "delete")
# Routes a viewer may POST to because they compute and store nothing (a read with a body), and
# the session endpoints every visitor needs. Each entry says why.
READ_ONLY_POSTS = {
    "auth-login": "logging in needs no role",
    "auth-logout": "logging out needs no role",
    "journey-validate": "validates the draft, stores nothing",
    "journey-simulate": "a dry run; sends and stores nothing",
    "segment-preview": "counts a condition, stores nothing",
    "message-preview": "renders a template, stores nothing",
}

SWEPT = [
    (name, pattern, callback)
    for name, pattern, callback in ROUTES
    # Provider callbacks and tracking links carry no key: signatures and signed tokens guard
    # them (tests/security/test_webhooks.py).
    if name not in READ_ONLY_POSTS and not name.startswith("hook-")
    and any(m in UNSAFE for m in _methods(callback))
]


@pytest.mark.django_db
@pytest.mark.parametrize("name,pattern,callback", SWEPT, ids=[r[0] for r in SWEPT])
def test_viewer_key_cannot_write(name, pattern, callback, workspace, viewer_api):
    kwargs = CASES[name](workspace)[0] if name in CASES else {}
    url = reverse(name, kwargs=kwargs)
    for method in (m for m in _methods(callback) if m in UNSAFE):
        response = getattr(viewer_api, method)(url, {}, format="json")
        assert response.status_code == 403, f"{method.upper()} {url} answered {response.status_code}"
        assert response.json()["error"]["code"] == "permission_denied"


def test_the_sweep_covers_the_write_routes():
    names = {r[0] for r in SWEPT}
    # A sample of routes every build has: if the walk finds none of them, it walks nothing.
    assert {"customer-list", "journey-list", "journey-start", "api-key-list", "event-ingest"} <= names


# Where a password may be written: a person's own, signing in or choosing it from their own
# invitation link. Anything else that takes one lets a caller set someone else's (the takeover
# the security review found: POST /members with a password for a not-yet-registered address).
OWN_PASSWORD_ROUTES = {("/api/v1/auth/login", "post"), ("/api/v1/invitations/accept", "post")}


def _properties(schema: dict, components: dict, seen=()) -> set[str]:
    """Every property name a (possibly nested or $ref'd) schema can carry."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return set() if name in seen else _properties(components[name], components, (*seen, name))
    found = set(schema.get("properties", {}))
    children = [*schema.get("properties", {}).values(), *schema.get("allOf", []), *schema.get("oneOf", []),
                *schema.get("anyOf", []), *([schema["items"]] if isinstance(schema.get("items"), dict) else [])]
    for child in children:
        found |= _properties(child, components, seen)
    return found


@pytest.mark.django_db
def test_no_route_but_sign_in_and_invitation_accept_takes_or_returns_a_password(api):
    document = api.get("/api/v1/schema", {"format": "json"}).json()
    components = document["components"]["schemas"]
    takes, returns = set(), set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for body in operation.get("requestBody", {}).get("content", {}).values():
                if any("password" in p for p in _properties(body["schema"], components)):
                    takes.add((path, method))
            for answer in operation.get("responses", {}).values():
                for body in answer.get("content", {}).values():
                    if any("password" in p for p in _properties(body.get("schema", {}), components)):
                        returns.add((path, method))
    assert takes == OWN_PASSWORD_ROUTES, takes ^ OWN_PASSWORD_ROUTES
    assert not returns


@pytest.mark.django_db
def test_inviting_needs_the_owner_role_for_every_credential(workspace, editor_api, viewer_api):
    from workspaces.models import Invitation

    for client in (editor_api, viewer_api):
        response = client.post("/api/v1/members", {"email": "new@example.com", "role": "owner"}, format="json")
        assert response.status_code == 403
    assert not Invitation.objects.for_workspace(workspace).exists()


# Routes anyone may call without a key or a session, each with what guards it instead. A new
# unauthenticated route fails the test below until it is listed here with its reason.
OPEN_ROUTES = {
    "auth-csrf": "sets the CSRF cookie; reads nothing",
    "auth-login": "the password; limited per account and per address (workspaces/login_limits.py)",
    "auth-logout": "ends the caller's own session",
    "invitation-accept": "the emailed single-use token; never sets an existing account's password",
}


def test_every_route_open_without_credentials_is_known():
    from rest_framework.permissions import AllowAny

    open_routes = set()
    for name, _, callback in ROUTES:
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is not None and any(p is AllowAny for p in getattr(view_class, "permission_classes", [])):
            open_routes.add(name)
    # Provider callbacks and tracking links verify signatures or signed tokens (hook-*).
    assert {"auth-login", "invitation-accept"} <= open_routes  # the walk finds them at all
    unknown = {n for n in open_routes if not n.startswith("hook-")} - set(OPEN_ROUTES)
    assert not unknown, f"unauthenticated routes nobody vetted: {sorted(unknown)}"
