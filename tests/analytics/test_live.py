"""The live canvas websocket, through a real ASGI server (uvicorn) and a real websocket client."""

from __future__ import annotations

import gc
import json
import socket
import threading
import time

import pytest
import uvicorn
from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.db import connections
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from analytics.consumers import MIN_PUSH_SECONDS, RESYNC_SECONDS
from analytics.live import journey_group
from analytics.selectors import journey_live_counts
from channels_app.models import Message
from channels_app.services import message_receipt
from journeys.enrollments import enrollments_create
from tests.analytics.helpers import sms_then_wait_journey
from tests.analytics.test_recount import Refresher
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, node, published, seconds
from workspaces.models import Role, User
from workspaces.redis import get_redis
from workspaces.services import membership_set, workspace_create


@pytest.fixture
def live_server_url(transactional_db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config("config.asgi:application", host="127.0.0.1", port=port,
                                           lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    # The consumers' queries ran on asgiref's one shared thread: close its connection too, so the
    # test database can be dropped.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
    # HTTP requests ran each on its own short-lived thread (Django's ThreadSensitiveContext); their
    # connections outlive the threads until collected.
    gc.collect()


def _session_headers(user, host: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Origin": f"http://{host}"}


def _open(host: str, journey_id: int, headers: dict):
    return connect(f"ws://{host}/ws/journeys/{journey_id}/", additional_headers=headers, open_timeout=10)


def _pause_then_exit(workspace):
    return published(workspace, chain(
        node("start", "start"), node("pause", "wait", {"mode": "duration", "duration": seconds(2)}), node("end", "exit"),
    ))


def test_members_see_node_counts_move_as_customers_advance(workspace, engine, live_server_url):
    journey = _pause_then_exit(workspace)
    owner = User.objects.get(email="owner@example.com")
    seen = []
    with Refresher(), _open(live_server_url, journey.pk, _session_headers(owner, live_server_url)) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "counts" and first["summary"]["started"] == 0
        enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, n=5)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=30))
            seen.append(message)
            if message["summary"]["completed"] == 5:
                break
    waiting = [m["nodes"].get("pause", {}).get("waiting", 0) for m in seen]
    assert max(waiting) == 5, waiting  # everyone parked at the wait at some point
    last = seen[-1]
    assert last["summary"] == {"started": 5, "active": 0, "completed": 5, "exited": 0, "failed": 0}
    assert last["nodes"]["end"]["completed"] == 5 and last["nodes"]["pause"]["waiting"] == 0
    assert last["nodes"]["pause"]["handles"] == {"next": 5}
    # Only changes are pushed: no two consecutive messages are equal.
    assert all(a != b for a, b in zip([first, *seen], seen, strict=False))


def test_an_open_socket_keeps_pushing_for_30_seconds_through_idle_spells(workspace, engine, live_server_url):
    """Three waves of customers 14 s apart: between them nothing moves for ~10 s, longer than the
    channel layer's 5 s blocking read (the socket used to die there with a redis TimeoutError)."""
    journey = _pause_then_exit(workspace)
    owner = User.objects.get(email="owner@example.com")
    pushes: list[tuple[float, dict]] = []
    with Refresher(interval=0.5), _open(live_server_url, journey.pk, _session_headers(owner, live_server_url)) as ws:
        opened = time.monotonic()
        assert json.loads(ws.recv(timeout=10))["summary"]["started"] == 0
        for wave, wave_ends in enumerate((14, 28, 33)):
            enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, n=3, prefix=f"w{wave}-")])
            while (left := opened + wave_ends - time.monotonic()) > 0:
                try:
                    pushes.append((time.monotonic() - opened, json.loads(ws.recv(timeout=left))))
                except TimeoutError:
                    break
        assert ws.ping().wait(timeout=5), "the socket no longer answers"
    elapsed = time.monotonic() - opened
    assert elapsed >= 30, elapsed
    started = [message["summary"]["started"] for _, message in pushes]
    assert started == sorted(started) and started[-1] == 9, started
    assert pushes[-1][1]["summary"]["completed"] == 9
    for wave in range(3):  # every wave was seen live, including those after the idle spells
        assert any(3 * wave < m["summary"]["started"] and 14 * wave <= at for at, m in pushes), (wave, pushes)
    # At most a few pushes a second (MIN_PUSH_SECONDS apart at the server; slack for the network).
    for at, _ in pushes:
        assert sum(1 for other, _ in pushes if at <= other < at + 1) <= 1 / MIN_PUSH_SECONDS + 2


def _until(ws, done, timeout: float = 30) -> list[dict]:
    """Reads pushes until one satisfies `done`; returns them all (the last one satisfies it)."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no push matched; saw {seen}"
        seen.append(json.loads(ws.recv(timeout=left)))
        if done(seen[-1]):
            return seen


def test_message_receipts_are_pushed_with_the_message_numbers_of_rest_analytics(
    workspace, engine, live_server_url, viewer_api
):
    journey = sms_then_wait_journey(workspace)
    viewer = User.objects.create_user("viewer@example.com", "pw-viewer-1")
    membership_set(workspace=workspace, user=viewer, role=Role.VIEWER)
    sms = lambda message: message["nodes"].get("sms", {}).get("messages")  # noqa: E731
    with Refresher(interval=0.2), _open(live_server_url, journey.pk, _session_headers(viewer, live_server_url)) as ws:
        assert sms(json.loads(ws.recv(timeout=10))) is None  # nothing sent yet: no message numbers
        enrollments_create(journey=journey, customer_ids=[
            c.id for c in customers(workspace, n=3, phone="+15550001111")
        ])
        # Every count settled (a loaded machine may push "waiting 3" before the rollup of "entered"),
        # so that the receipts below are the only change left to push.
        sent = _until(ws, lambda m: (sms(m) or {}).get("sent") == 3
                      and m["nodes"].get("pause", {}).get("waiting") == 3
                      and m["nodes"].get("pause", {}).get("entered") == 3)[-1]
        assert sms(sent) == {"sent": 3, "delivered": 0, "opened": 0, "read": 0, "clicked": 0, "replied": 0,
                             "failed": 0, "bounced": 0, "failover": 0, "saved": 0}
        # Receipts move no customer: only the message numbers change, and they are pushed.
        first, second, _ = Message.objects.for_workspace(workspace).filter(journey=journey).order_by("id")
        message_receipt(message=first, status="clicked", source="api")  # implies delivered and opened
        message_receipt(message=second, status="delivered", source="api")
        # Within 15 s, well before the socket's own 30 s re-read (RESYNC_SECONDS): the receipts'
        # rollup run must have sent the notice.
        assert RESYNC_SECONDS >= 30
        pushed = _until(ws, lambda m: sms(m)["delivered"] == 2 and sms(m)["clicked"] == 1, timeout=15)[-1]
        assert sms(pushed) == {"sent": 3, "delivered": 2, "opened": 1, "read": 0, "clicked": 1, "replied": 0,
                               "failed": 0, "bounced": 0, "failover": 0, "saved": 0}
        assert pushed["nodes"]["pause"] == sent["nodes"]["pause"] and pushed["summary"] == sent["summary"]
        assert "messages" not in pushed["nodes"]["pause"]
    # The socket's numbers are the REST analytics' numbers, in the same shape.
    rest = {n["node_id"]: n for n in viewer_api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["nodes"]}
    assert rest["sms"]["messages"] == sms(pushed)


def test_a_reconnecting_client_gets_current_counts_and_the_closed_socket_leaves_the_group(
    workspace, engine, live_server_url
):
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    headers = _session_headers(User.objects.get(email="owner@example.com"), live_server_url)
    layer = get_channel_layer()
    group_key = layer._group_key(journey_group(journey.pk))  # channels_redis keeps a group as a sorted set
    with Refresher(interval=0.2):
        with _open(live_server_url, journey.pk, headers) as ws:
            assert json.loads(ws.recv(timeout=10))["summary"]["started"] == 0
        enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, n=4)])
        wait_for(lambda: journey_live_counts(journey_id=journey.pk, workspace_id=workspace.pk)["summary"]
                 == {"started": 4, "active": 0, "completed": 4, "exited": 0, "failed": 0}, timeout=30)
        with _open(live_server_url, journey.pk, headers) as ws:
            # What changed while no socket was open comes first, without waiting for a change.
            assert json.loads(ws.recv(timeout=10))["summary"]["completed"] == 4
            wait_for(lambda: get_redis().zcard(group_key) == 1, timeout=10)  # only this socket listens
            enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, n=2, prefix="late")])
            deadline = time.monotonic() + 30
            while json.loads(ws.recv(timeout=30))["summary"]["completed"] != 6:
                assert time.monotonic() < deadline
    wait_for(lambda: get_redis().zcard(group_key) == 0, timeout=10)


def test_strangers_and_anonymous_visitors_are_turned_away(workspace, live_server_url):
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    stranger = User.objects.create_user("stranger@example.com", "pw-stranger-1")
    workspace_create(name="Elsewhere", owner=stranger)
    owner = User.objects.get(email="owner@example.com")
    attempts = [
        (journey.pk, _session_headers(stranger, live_server_url)),  # not a member of its workspace
        (journey.pk, {"Origin": f"http://{live_server_url}"}),  # no session
        (journey.pk + 1000, _session_headers(owner, live_server_url)),  # no such journey
    ]
    for journey_id, headers in attempts:
        # Closed in connect, before the handshake completes: the upgrade is refused.
        with pytest.raises(InvalidStatus) as refused:
            _open(live_server_url, journey_id, headers)
        assert refused.value.response.status_code == 403
    viewer = User.objects.create_user("viewer@example.com", "pw-viewer-1")
    membership_set(workspace=workspace, user=viewer, role=Role.VIEWER)
    for member in (owner, viewer):  # any role may watch
        with _open(live_server_url, journey.pk, _session_headers(member, live_server_url)) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "counts"
