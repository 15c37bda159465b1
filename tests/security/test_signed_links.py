"""Signed links in messages (open pixel, click redirect, unsubscribe) carry a per-workspace key:
knowing SECRET_KEY alone — the repository's old default, or a leaked one — forges none of them,
one workspace's key forges nothing of another's, and stale or crafted tokens answer 404 (the pixel
its GIF), never 500."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from rest_framework.test import APIClient

from audiences.models import Customer
from channels_app import tracking
from channels_app.models import Message

pytestmark = pytest.mark.django_db


def _message(workspace, external_id: str = "dan") -> Message:
    customer = Customer.objects.for_workspace(workspace).create(
        workspace=workspace, external_id=external_id, email=f"{external_id}@x.test"
    )
    return Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=customer, channel="email", to=customer.email, status="sent"
    )


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _hit(client: APIClient, route: str, token: str):
    return client.generic("POST" if route == "unsubscribe" else "GET", f"/api/v1/hooks/{route}", QUERY_STRING=f"t={token}")


def test_secret_key_alone_forges_no_link(workspace):
    message = _message(workspace)
    client = APIClient()
    # What anyone who knows SECRET_KEY could sign (the format links had before, too).
    forged = {
        "unsubscribe": signing.dumps(message.pk, salt=tracking.UNSUBSCRIBE_SALT, compress=True),
        "click": signing.dumps([message.pk, "https://evil.test/"], salt=tracking.CLICK_SALT, compress=True),
    }
    with_prefix = {route: f"{message.pk}~{token}" for route, token in forged.items()}
    for tokens in (forged, with_prefix):
        assert _hit(client, "unsubscribe", tokens["unsubscribe"]).status_code == 404
        assert _hit(client, "click", tokens["click"]).status_code == 404
    message.customer.refresh_from_db()
    assert message.customer.unsubscribed == []
    # The real links work.
    assert client.get(_path(tracking.click_url(message.pk, "https://acme.test/p")))["Location"] == "https://acme.test/p"
    assert client.post(_path(tracking.unsubscribe_url(message.pk))).status_code == 200
    message.customer.refresh_from_db()
    assert message.customer.unsubscribed == ["email"]


def test_one_workspaces_key_forges_nothing_of_another(workspace, other_workspace):
    mine, theirs = _message(workspace), _message(other_workspace, "eve")
    client = APIClient()
    # Signed with the other workspace's full key but naming my message: refused.
    their_key = f"{settings.SECRET_KEY}:{other_workspace.signing_secret}"
    spliced = f"{mine.pk}~" + signing.dumps(mine.pk, key=their_key, salt=tracking.UNSUBSCRIBE_SALT, compress=True)
    relabelled = tracking.unsubscribe_url(theirs.pk).split("t=", 1)[1].replace(f"{theirs.pk}~", f"{mine.pk}~", 1)
    for token in (spliced, relabelled):
        assert _hit(client, "unsubscribe", token).status_code == 404
    mine.customer.refresh_from_db()
    assert mine.customer.unsubscribed == []
    assert workspace.signing_secret != other_workspace.signing_secret and len(workspace.signing_secret) >= 40


def test_the_workspace_signing_secret_is_never_returned(api, workspace):
    body = api.get("/api/v1/workspace").content.decode()
    assert workspace.signing_secret not in body and "signing_secret" not in body


def test_rotating_a_workspaces_secret_retires_its_links_cleanly(workspace):
    message = _message(workspace)
    link = _path(tracking.click_url(message.pk, "https://acme.test/p"))
    workspace.signing_secret = "rotated-" + workspace.signing_secret
    workspace.save(update_fields=["signing_secret"])
    assert APIClient().get(link).status_code == 404


@pytest.mark.parametrize("token", [
    "", "~", "abc~def", "1~", "~x", "99999999999999999999999999~x", "9223372036854775808~x",
    "-1~x", "1~not-signed", "1~" + "A" * 5000,  # (a NUL is refused earlier: tests/security/test_requests.py)
])
def test_crafted_tokens_answer_404_never_500(workspace, token):
    _message(workspace)
    client = APIClient()
    assert _hit(client, "click", token).status_code == 404
    assert _hit(client, "unsubscribe", token).status_code == 404
    pixel = _hit(client, "open", token)
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
