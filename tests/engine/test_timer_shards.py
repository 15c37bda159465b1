"""Timer sharding with TIMER_SHARDS=2 through real Redis and a real worker: each enrollment's timer
lands in shard id % 2, a pump of one shard fires only that shard, one pump per shard fires all,
and the reconciler restores lost timers into their own shards."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from journeys.timers import EPOCH_KEY, TimerProcess, reconcile, shard_key
from tests.conftest import wait_for
from tests.engine.conftest import settle
from tests.engine.helpers import chain, customers, node, published, seconds
from workspaces.redis import get_redis

WAIT_A_SECOND = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(1)}), node("end", "exit"))
WAIT_A_MINUTE = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": seconds(60)}), node("end", "exit"))


@pytest.fixture
def two_shards(settings):
    settings.TIMER_SHARDS = 2


@pytest.fixture
def pumps():
    """Starts `TimerProcess(shards=…)` threads on demand; stops them all at the end."""
    started: list[tuple[TimerProcess, threading.Thread]] = []

    def start(shards: list[int]) -> TimerProcess:
        process = TimerProcess(poll_seconds=0.05, reconcile_seconds=3600, shards=shards)
        thread = threading.Thread(target=process.run, name=f"timers{shards}", daemon=True)
        thread.start()
        started.append((process, thread))
        return process

    yield start
    for process, thread in started:
        process.stop()
        thread.join(timeout=5)


def _members(shard: int) -> set[int]:
    return {int(m) for m in get_redis().zrange(shard_key(shard), 0, -1)}


def _states(journey) -> dict[int, str]:
    return dict(Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey).values_list("id", "state"))


def test_each_pump_fires_only_its_shard(workspace, two_shards, celery_worker, pumps):
    journey = published(workspace, WAIT_A_SECOND)
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, 40)]).ids
    wait_for(lambda: set(_states(journey).values()) == {"waiting"})
    assert _members(0) == {i for i in ids if i % 2 == 0} and _members(0)
    assert _members(1) == {i for i in ids if i % 2 == 1} and _members(1)

    pumps([0])
    wait_for(lambda: all(state == "completed" for i, state in _states(journey).items() if i % 2 == 0))
    settle()
    odd = {i: state for i, state in _states(journey).items() if i % 2 == 1}
    assert set(odd.values()) == {"waiting"}  # overdue, but nobody pumps shard 1 yet
    assert _members(1) == set(odd) and _members(0) == set()

    pumps([1])
    wait_for(lambda: set(_states(journey).values()) == {"completed"})
    assert _members(1) == set()


def test_reconciler_restores_each_timer_into_its_own_shard(workspace, two_shards, celery_worker):
    journey = published(workspace, WAIT_A_MINUTE)
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, 20)]).ids
    wait_for(lambda: set(_states(journey).values()) == {"waiting"})
    scores = {s: dict(get_redis().zrange(shard_key(s), 0, -1, withscores=True)) for s in (0, 1)}
    get_redis().flushdb()  # Redis restarted empty: the epoch marker is gone with the timers

    # The pump of shard 1 notices first; the restore still covers shard 0.
    assert reconcile(shards=[1])["restored"] == len(ids)
    assert get_redis().exists(EPOCH_KEY)
    for s in (0, 1):
        restored = dict(get_redis().zrange(shard_key(s), 0, -1, withscores=True))
        assert {int(m) for m in restored} == {i for i in ids if i % 2 == s}
        assert restored == pytest.approx(scores[s])


def test_reconciler_requeues_overdue_rows_of_its_own_shards_only(workspace, two_shards, celery_worker):
    journey = published(workspace, WAIT_A_MINUTE)
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in customers(workspace, 10)]).ids
    wait_for(lambda: set(_states(journey).values()) == {"waiting"})
    get_redis().delete(shard_key(0), shard_key(1))  # timers lost, Redis itself did not restart
    Enrollment.objects.for_workspace(workspace).update(wake_at=timezone.now() - timedelta(minutes=5))

    assert reconcile(shards=[0])["requeued"] == len([i for i in ids if i % 2 == 0])
    wait_for(lambda: all(state == "completed" for i, state in _states(journey).items() if i % 2 == 0))
    assert reconcile(shards=[1])["requeued"] == len([i for i in ids if i % 2 == 1])
    wait_for(lambda: set(_states(journey).values()) == {"completed"})


def test_run_timers_refuses_a_shard_out_of_range(two_shards, db):
    with pytest.raises(CommandError, match="--shard"):
        call_command("run_timers", "--shard", "2")
