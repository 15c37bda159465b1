"""Shared fixtures: two workspaces, API clients with keys of each role, a clean Redis."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from workspaces.models import Role, User
from workspaces.redis import get_redis
from workspaces.services import api_key_create, workspace_create


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's 600k rounds cost ~0.3 s per user; the hasher is not what these tests test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis database (rate limits, timers, progress)."""
    get_redis().flushdb()
    yield


def sandbox_channels(workspace, *channels: str) -> None:
    """Sandbox channels (they record and deliver nowhere) for `workspace`: a journey whose message
    node's channel is not set up in its workspace does not validate, so cannot start."""
    from channels_app.services import channel_create

    for channel in channels:
        channel_create(workspace=workspace, channel=channel, provider="sandbox", name=f"Sandbox {channel}")


@pytest.fixture
def channels_set_up(request):
    """Gives the test's workspaces sandbox email, SMS and push channels, as a real workspace whose
    journeys send has (directories whose journeys send use it autouse)."""
    for name in ("workspace", "other_workspace"):
        if name in request.fixturenames:
            sandbox_channels(request.getfixturevalue(name), "email", "sms", "push")


def make_client(workspace, role: str = Role.OWNER) -> APIClient:
    _, raw = api_key_create(workspace=workspace, name=f"test {role}", role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw
    return client


@pytest.fixture
def workspace(db):
    owner = User.objects.create_user("owner@example.com", "pw-owner-123")
    return workspace_create(name="Acme", owner=owner)


@pytest.fixture
def other_workspace(db):
    owner = User.objects.create_user("rival@example.com", "pw-rival-123")
    return workspace_create(name="Rival", owner=owner)


@pytest.fixture
def api(workspace) -> APIClient:
    """An owner-key client of `workspace`."""
    return make_client(workspace, Role.OWNER)


@pytest.fixture
def editor_api(workspace) -> APIClient:
    return make_client(workspace, Role.EDITOR)


@pytest.fixture
def viewer_api(workspace) -> APIClient:
    return make_client(workspace, Role.VIEWER)


@pytest.fixture
def other_api(other_workspace) -> APIClient:
    """An owner-key client of another workspace: must never see `workspace`'s data."""
    return make_client(other_workspace, Role.OWNER)


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (threads, all six queues) on the real Redis broker.

    Tests using it see committed data only, hence `transactional_db`: write through the API or
    services, then wait for the effect (see `wait_for`)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=["timers", "engine", "messages", "outbound", "imports", "default"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Polls `predicate` until it returns something truthy; fails the test after `timeout` s."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)
