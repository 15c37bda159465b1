"""kill -9 of a Celery worker in the middle of a batch of 1,000 enrollments: after a restart every
enrollment finishes exactly once and there is one message per idempotency key.

Delivery to the provider is at-least-once: sends the dead worker made but had not yet committed
are made again after the restart, each with the same Idempotency-Key (the message id), so a
gateway that honours the key drops them. The test pins that down: repeats only for messages of
the interrupted batch, at most one repeat each, always under the same key. Exactly-once at a
provider with no idempotency would need a durable "sending" state and is not claimed."""

from __future__ import annotations

import time

import pytest

from channels_app.services import SEND_BATCH

from .conftest import wait_until
from .flows import (
    AFTER_KILL_SECONDS,
    AFTER_KILL_TEST_TIMEOUT,
    all_completed,
    customers_upload,
    enroll,
    http_channel,
    mail_journey,
    not_finished_once,
)

N = 1000


@pytest.mark.timeout(AFTER_KILL_TEST_TIMEOUT)
def test_worker_killed_mid_batch_finishes_everything_exactly_once(live, provider, record_property):
    live.web()
    worker = live.worker("worker-a", concurrency=3)
    workspace_id, client = live.new_workspace("kill9")
    # Each send takes ~10 ms, so 1,000 sends are in flight for seconds and the kill lands
    # inside send batches (and engine batches), not between them.
    provider.delay = 0.01
    channel_id = http_channel(client, provider.url)
    ids = customers_upload(client, N, "k9-")
    journey_id = mail_journey(client, "kill -9", channel_id)
    enroll(client, journey_id, ids)

    wait_until(lambda: provider.total() >= 150, 240, 0.02, what="sends under way")
    worker.kill9()
    sent_before_kill = provider.total()
    time.sleep(0.5)
    live.worker("worker-b", concurrency=3)

    wait_until(lambda: all_completed(live, journey_id, N), AFTER_KILL_SECONDS, what="every enrollment completed")
    wait_until(lambda: len(provider.received) >= N, 60, what="every message received")

    enrollments = live.sql(
        "SELECT state, count(*) FROM journeys_enrollment WHERE journey_id = %s GROUP BY state", [journey_id]
    )
    assert enrollments == [("completed", N)]
    # Exactly once: one `completed` history row per enrollment, one message per idempotency key.
    assert not_finished_once(live, journey_id) == []
    messages = live.sql(
        """SELECT count(*), count(DISTINCT (enrollment_id, step_seq)),
                  count(*) FILTER (WHERE status = 'sent')
           FROM channels_app_message WHERE workspace_id = %s""",
        [workspace_id],
    )[0]
    doubled = provider.doubled()
    # Lost: a message no request ever reached the provider for. Doubled: a second message row for
    # one step, or a repeat under a different key (which an idempotent gateway would deliver twice).
    record_property("messages_lost", N - len(provider.received))
    record_property("messages_doubled", (messages[0] - messages[1])
                    + sum(not provider.keys_consistent(message_id) for message_id in doubled))
    print(f"\nkill -9 mid-batch: {N} enrollments, {len(provider.received)} idempotency keys at the provider, "
          f"{len(doubled)} re-sent under their own key after the restart")
    assert messages == (N, N, N)
    assert sent_before_kill < N, "the kill came after the batch: the test proved nothing"
    assert all(count == 2 for count in doubled.values()), doubled
    assert len(doubled) <= SEND_BATCH, f"{len(doubled)} repeats: more than the one batch in flight"
    assert all(provider.keys_consistent(message_id) for message_id in doubled)
