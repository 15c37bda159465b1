"""kill -9 of a Celery worker while keyed runs (two carts per shopper) are entering by event and
sending: after a restart every cart has exactly one run, each run finished once, and one message
per run carrying its cart's key. Nothing lost, nothing doubled, no cart merged into another."""

from __future__ import annotations

import threading
import time

import pytest

from .conftest import wait_until
from .flows import (
    AFTER_KILL_SECONDS,
    AFTER_KILL_TEST_TIMEOUT,
    all_completed,
    customers_upload,
    http_channel,
    mail_journey,
    not_finished_once,
    ok,
)

SHOPPERS = 500
CARTS = ("1", "2")
CHUNK = 100  # events per POST: entries keep arriving while the worker dies


@pytest.mark.timeout(AFTER_KILL_TEST_TIMEOUT)
def test_worker_killed_with_keyed_runs_in_flight_loses_and_doubles_nothing(live, provider, record_property):
    live.web()
    worker = live.worker("worker-a", concurrency=3)
    workspace_id, client = live.new_workspace("kill9-keyed")
    provider.delay = 0.01  # sends in flight for seconds, so the kill lands inside batches
    channel_id = http_channel(client, provider.url)
    ids = customers_upload(client, SHOPPERS, "kk-")
    journey_id = mail_journey(
        client, "keyed kill -9", channel_id,
        settings={
            "entry": {"type": "event", "events": [{"name": "cart_updated"}], "key": {"property": "cart_id"}},
            "re_entry": {"policy": "never"},
        },
    )
    events = [
        {"customer_id": x, "name": "cart_updated", "properties": {"cart_id": f"{x}/{cart}"}}
        for cart in CARTS
        for x in ids
    ]
    # The first hundred carts again, later: under "never" the same cart must not run twice.
    events += events[:CHUNK]

    def post_all():
        for start in range(0, len(events), CHUNK):
            ok(client.post("/events", json={"events": events[start : start + CHUNK]}), 202)
            time.sleep(0.05)

    poster = threading.Thread(target=post_all)
    poster.start()
    wait_until(lambda: provider.total() >= 150, 240, 0.02, what="sends under way")
    worker.kill9()
    sent_before_kill = provider.total()
    time.sleep(0.5)
    live.worker("worker-b", concurrency=3)
    poster.join(120)
    runs = SHOPPERS * len(CARTS)

    wait_until(lambda: all_completed(live, journey_id, runs), AFTER_KILL_SECONDS, what="every keyed run completed")
    wait_until(lambda: len(provider.received) >= runs, 60, what="every message received")

    rows = live.sql(
        """SELECT c.external_id, e.key, e.state FROM journeys_enrollment e
           JOIN audiences_customer c ON c.id = e.customer_id WHERE e.journey_id = %s""",
        [journey_id],
    )
    # One run per cart, each under its own key: none lost, none doubled, none merged.
    assert sorted((x, k) for x, k, _ in rows) == sorted((x, f"{x}/{cart}") for x in ids for cart in CARTS)
    assert {state for _, _, state in rows} == {"completed"}
    assert not_finished_once(live, journey_id) == []
    messages = live.sql(
        """SELECT count(*), count(DISTINCT (m.enrollment_id, m.step_seq)),
                  count(*) FILTER (WHERE m.status = 'sent'), count(*) FILTER (WHERE m.key = e.key)
           FROM channels_app_message m JOIN journeys_enrollment e ON e.id = m.enrollment_id
           WHERE m.workspace_id = %s""",
        [workspace_id],
    )[0]
    doubled = provider.doubled()
    record_property("keyed_runs_lost", runs - len(rows))
    record_property("keyed_messages_doubled", (messages[0] - messages[1])
                    + sum(not provider.keys_consistent(message_id) for message_id in doubled))
    print(f"\nkill -9 with keyed runs: {runs} carts of {SHOPPERS} shoppers, {len(provider.received)} idempotency keys "
          f"at the provider, {len(doubled)} re-sent under their own key after the restart")
    assert messages == (runs, runs, runs, runs)
    assert sent_before_kill < runs, "the kill came after every send: the test proved nothing"
    assert all(count == 2 for count in doubled.values()), doubled
    assert all(provider.keys_consistent(message_id) for message_id in doubled)
