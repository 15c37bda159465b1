"""The live canvas websocket, through a real ASGI server (uvicorn) and a real websocket client."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn
from asgiref.sync import SyncToAsync
from django.db import connections
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from journeys.enrollments import enrollments_create
from tests.analytics.test_recount import Refresher
from tests.engine.helpers import chain, customers, node, published, seconds
from workspaces.models import User
from workspaces.services import workspace_create


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


def _session_headers(user, host: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Origin": f"http://{host}"}


def _open(host: str, journey_id: int, headers: dict):
    return connect(f"ws://{host}/ws/journeys/{journey_id}/", additional_headers=headers, open_timeout=10)


def test_members_see_node_counts_move_as_customers_advance(workspace, engine, live_server_url):
    journey = published(workspace, chain(
        node("start", "start"), node("pause", "wait", {"mode": "duration", "duration": seconds(2)}), node("end", "exit"),
    ))
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
    with _open(live_server_url, journey.pk, _session_headers(owner, live_server_url)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "counts"
