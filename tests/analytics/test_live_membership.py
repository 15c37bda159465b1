"""The live canvas socket follows membership: removing a member (or lowering their role) through
the API closes their open socket at once, and a removal whose notice never came (written straight
to the database) still closes it at the next membership re-check. Real uvicorn, real websocket."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from analytics import consumers
from tests.analytics.test_live import _open, _session_headers, live_server_url  # noqa: F401  (fixture)
from tests.conftest import make_client
from tests.engine.helpers import chain, node, published
from workspaces.models import Membership, Role, User
from workspaces.services import membership_set


def _member(workspace, email: str, role: str) -> tuple[User, Membership]:
    user = User.objects.create_user(email, "pw-member-1234")
    return user, membership_set(workspace=workspace, user=user, role=role)


def _closed_with(ws, timeout: float = 10) -> int | None:
    """Reads until the server closes the socket; its close code (None when the connection ended
    without a close frame reaching the client, seen on a loaded machine). A push is fine, silence
    (the socket staying open) fails with TimeoutError."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = json.loads(ws.recv(timeout=timeout))
            assert message["type"] == "counts"
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


def test_a_removed_member_is_disconnected_at_once_and_cannot_reconnect(workspace, live_server_url):  # noqa: F811
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    user, membership = _member(workspace, "leaving@example.com", Role.EDITOR)
    headers = _session_headers(user, live_server_url)
    with _open(live_server_url, journey.pk, headers) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "counts"
        assert make_client(workspace).delete(f"/api/v1/members/{membership.pk}").status_code == 204
        assert _closed_with(ws, timeout=5) in (consumers.CLOSE_NOT_A_MEMBER, None)
    with pytest.raises(InvalidStatus) as refused:
        _open(live_server_url, journey.pk, headers)
    assert refused.value.response.status_code == 403


def test_a_lowered_role_closes_the_socket_and_a_reconnect_reads_afresh(workspace, live_server_url):  # noqa: F811
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    user, membership = _member(workspace, "demoted@example.com", Role.EDITOR)
    headers = _session_headers(user, live_server_url)
    with _open(live_server_url, journey.pk, headers) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "counts"
        owner_api = make_client(workspace)
        assert owner_api.patch(f"/api/v1/members/{membership.pk}", {"role": "viewer"}, format="json").status_code == 200
        assert _closed_with(ws, timeout=5) in (consumers.CLOSE_ROLE_CHANGED, None)
    with _open(live_server_url, journey.pk, headers) as ws:  # a viewer may still watch
        assert json.loads(ws.recv(timeout=10))["type"] == "counts"


def test_membership_is_rechecked_even_without_a_notice(workspace, live_server_url, monkeypatch):  # noqa: F811
    # The server runs in this process: shorter periods make the 30 s re-check observable.
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 0.5)
    monkeypatch.setattr(consumers, "MEMBERSHIP_RECHECK_SECONDS", 0.5, raising=False)
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    user, membership = _member(workspace, "quiet@example.com", Role.VIEWER)
    with _open(live_server_url, journey.pk, _session_headers(user, live_server_url)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "counts"
        Membership.objects.filter(pk=membership.pk).delete()  # no service, so no notice is sent
        assert _closed_with(ws, timeout=5) in (consumers.CLOSE_NOT_A_MEMBER, None)
