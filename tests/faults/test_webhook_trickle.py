"""A webhook target that answers one byte a second (per-read timeouts never fire) against the
real processes of the Procfile: each call ends at its deadline and is recorded as a timeout, and
meanwhile another workspace's message goes out at once — the slow tenant holds only its own
outbound slots, never the engine or the whole outbound pool."""

from __future__ import annotations

import time

from tests.channels.trickle import TrickleServer

from .conftest import wait_until
from .flows import customers_upload, edge, email_node, enroll, http_channel, journey_started, node

CALLS = 6  # more than the outbound pool's threads below
DEADLINE = 2  # the webhook node's timeout_seconds


def _handles(live, journey_id: int, node_id: str) -> list[str]:
    return [r[0] for r in live.sql(
        "SELECT handle FROM journeys_stepevent WHERE journey_id = %s AND node_id = %s AND kind = 'passed'",
        [journey_id, node_id],
    )]


def _branches(node_id: str) -> list[dict]:
    return [edge("start", "next", node_id), edge(node_id, "next", "ok_end"), edge(node_id, "failed", "failed_end")]


def test_a_trickling_webhook_ends_at_its_deadline_and_other_tenants_still_send(live, provider, monkeypatch):
    monkeypatch.setenv("OUTBOUND_SLOTS_PER_WORKSPACE", "2")  # of the 4 outbound threads
    live.web()
    live.worker("worker", concurrency=2, queues="timers,engine,imports,default")
    live.worker("outbound", concurrency=4, queues="outbound,messages", pool="threads")
    live.timers(2.0)
    trickle = TrickleServer(interval=1.0, lasting=45.0)
    slow_id, slow = live.new_workspace("slow-tenant")
    other_id, other = live.new_workspace("other-tenant")
    hooked = customers_upload(slow, CALLS, "hook-")
    (mailed,) = customers_upload(other, 1, "mail-")
    hooks = journey_started(slow, "trickle", [
        node("start", "start"),
        node("hook", "webhook", {
            "method": "POST", "url": trickle.url, "headers": {}, "timeout_seconds": DEADLINE, "retries": 0,
            "body": '{"key": "{{ customer.external_id }}"}',
        }),
        node("ok_end", "exit"), node("failed_end", "exit"),
    ], _branches("hook"))
    mails = journey_started(other, "mail", [
        node("start", "start"), email_node("mail", http_channel(other, provider.url, timeout_seconds=5)),
        node("ok_end", "exit"), node("failed_end", "exit"),
    ], _branches("mail"))
    try:
        enroll(slow, hooks, hooked)
        wait_until(lambda: len(trickle.connections) >= 2, 30, what="the slow target is being called")
        enrolled_at = time.monotonic()
        enroll(other, mails, [mailed])
        wait_until(lambda: provider.total() >= 1, 20, what="the other workspace's message sent")
        waited = time.monotonic() - enrolled_at
        wait_until(lambda: len(_handles(live, hooks, "hook")) == CALLS, 90, what="every webhook call ended")
    finally:
        trickle.close()

    print(f"\nother tenant's message sent {waited:.1f} s after enrolling; trickled calls lasted "
          f"{[round(d, 1) for d in trickle.durations() if d is not None]} s")
    assert waited < 5
    assert _handles(live, mails, "mail") == ["next"]
    # Every call was cut at its deadline (not at the 45 s the target would have trickled for)...
    durations = trickle.durations()
    assert len(durations) == CALLS and all(d is not None and d < DEADLINE + 1.5 for d in durations), durations
    # ...and recorded as a timeout: the journey took the failed handle for each customer.
    calls = live.sql("SELECT status, error FROM channels_app_webhookcall WHERE workspace_id = %s", [slow_id])
    assert len(calls) == CALLS
    assert all(status == "failed" and error.startswith(f"timeout: no complete answer within {DEADLINE} s")
               for status, error in calls), calls
    assert _handles(live, hooks, "hook") == ["failed"] * CALLS
