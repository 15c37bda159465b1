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
