"""Wait timers survive faults: Redis losing every timer (killed and restarted empty) while 10,000
customers wait, and the `run_timers` process killed and restarted. PostgreSQL holds the truth
(Enrollment.wake_at): every wait fires exactly once, never early, late by at most the
reconcile interval (plus the time the engine needs to work through the batch)."""

from __future__ import annotations

import time

from .conftest import wait_until
from .flows import customers_upload, edge, enroll, journey_started, node

RECONCILE_SECONDS = 2.0


def _wait_journey(client, name: str, seconds: int) -> int:
    return journey_started(
        client, name,
        [node("start", "start"), node("wait", "wait", {"mode": "duration", "duration": {"value": seconds, "unit": "seconds"}}), node("done", "exit")],
        [edge("start", "next", "wait"), edge("wait", "next", "done")],
    )


def _states(live, journey_id: int) -> dict:
    return dict(live.sql("SELECT state, count(*) FROM journeys_enrollment WHERE journey_id = %s GROUP BY 1", [journey_id]))


def _fired_once_never_early(live, journey_id: int, wake_at: dict) -> list[float]:
    """Each enrollment passed its wait exactly once, and not before its wake_at; returns how
    late each one passed (seconds)."""
    rows = live.sql(
        """SELECT enrollment_id, count(*), min(at) FROM journeys_stepevent
           WHERE journey_id = %s AND node_id = 'wait' AND kind = 'passed' GROUP BY 1""",
        [journey_id],
    )
    assert len(rows) == len(wake_at), f"{len(wake_at) - len(rows)} waits never fired"
    assert [r for r in rows if r[1] != 1] == [], "a wait fired twice"
    lateness = [(at - wake_at[eid]).total_seconds() for eid, _, at in rows]
    assert min(lateness) >= -0.5, f"a wait fired {-min(lateness):.1f}s early"
    return lateness


def test_redis_lost_while_10000_wait_every_timer_is_restored(live):
    n = 10_000
    live.web()
    live.worker("worker", concurrency=3)
    live.timers(RECONCILE_SECONDS)
    _, client = live.new_workspace("redis-lost")
    ids = customers_upload(client, n, "rl-")
    journey_id = _wait_journey(client, "redis lost", 60)
    started = time.monotonic()
    enroll(client, journey_id, ids)
    wait_until(lambda: _states(live, journey_id).get("waiting") == n, 300, 0.5, what="all waiting")
    assert live.redis.client().zcard("timers:0") == n

    # Every timer is gone: Redis dies with its memory and comes back empty.
    live.redis.kill()
    time.sleep(1.0)
    live.redis.start()
    assert live.redis.client().zcard("timers:0") == 0
    wait_until(lambda: live.redis.client().zcard("timers:0") == n, RECONCILE_SECONDS * 5, 0.1,
               what="the reconciler restored every timer")
    wake_at = dict(live.sql("SELECT id, wake_at FROM journeys_enrollment WHERE journey_id = %s", [journey_id]))
    wait_until(lambda: _states(live, journey_id).get("completed") == n, 300 + 60, 1.0,
               what="every wait fired and completed")
    lateness = _fired_once_never_early(live, journey_id, wake_at)
    print(f"10,000 waits restored; lateness max {max(lateness):.1f}s, enrolled→done {time.monotonic() - started:.0f}s")
    assert _states(live, journey_id) == {"completed": n}


def test_timers_process_killed_and_restarted_loses_and_doubles_nothing(live):
    n = 1000
    live.web()
    live.worker("worker", concurrency=3)
    timers = live.timers(RECONCILE_SECONDS)
    _, client = live.new_workspace("timers-killed")
    ids = customers_upload(client, n, "tk-")
    journey_id = _wait_journey(client, "timers killed", 10)
    enroll(client, journey_id, ids)
    wait_until(lambda: _states(live, journey_id).get("waiting") == n, 120, 0.25, what="all waiting")
    wake_at = dict(live.sql("SELECT id, wake_at FROM journeys_enrollment WHERE journey_id = %s", [journey_id]))
    first_due = min(wake_at.values())

    # Kill it while the first waits come due (some popped, some not), keep it dead past more of
    # them, then start a new one.
    wait_until(lambda: live.sql("SELECT now() >= %s", [first_due])[0][0], 60, 0.05, what="first wake due")
    timers.kill9()
    time.sleep(4.0)
    live.timers(RECONCILE_SECONDS)
    wait_until(lambda: _states(live, journey_id).get("completed") == n, 120, 0.5, what="every wait fired")
    lateness = _fired_once_never_early(live, journey_id, wake_at)
    print(f"timers killed: lateness max {max(lateness):.1f}s")
    assert _states(live, journey_id) == {"completed": n}
