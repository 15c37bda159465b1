"""A provider (a local HTTP server) that times out, answers 500, then recovers: sends are retried
with backoff and delivered once; one that never recovers ends `failed` after the retry limit, and
the journey moves on through the `failed` handle. Same for the webhook node."""

from __future__ import annotations

import pytest

from channels_app.services import MAX_SEND_ATTEMPTS, RETRY_BACKOFF_SECONDS

from .conftest import Provider, wait_until
from .flows import customers_upload, edge, email_node, enroll, http_channel, journey_started, node


@pytest.fixture
def broken_provider():
    server = Provider()
    server.default = "500"
    yield server
    server.close()


def _handle_taken(live, journey_id: int, node_id: str) -> list[str]:
    return [r[0] for r in live.sql(
        "SELECT handle FROM journeys_stepevent WHERE journey_id = %s AND node_id = %s AND kind = 'passed'",
        [journey_id, node_id],
    )]


def _branches(node_id: str) -> list[dict]:
    return [edge(node_id, "next", "ok_end"), edge(node_id, "failed", "failed_end")]


def test_provider_times_out_fails_then_recovers_and_one_that_never_does_fails(live, provider, broken_provider,
                                                                             record_property):
    live.web()
    live.worker("worker", concurrency=3)
    live.timers(2.0)
    workspace_id, client = live.new_workspace("providers")
    (flaky_customer,) = customers_upload(client, 1, "flaky-")
    (dead_customer,) = customers_upload(client, 1, "dead-")
    (hook_ok, hook_dead) = customers_upload(client, 2, "hook-")

    provider.script = ["timeout", "500"]  # then "ok"
    flaky = journey_started(client, "flaky", [
        node("start", "start"), email_node("mail", http_channel(client, provider.url, timeout_seconds=1)),
        node("ok_end", "exit"), node("failed_end", "exit"),
    ], [edge("start", "next", "mail"), *_branches("mail")])
    dead = journey_started(client, "dead", [
        node("start", "start"), email_node("mail", http_channel(client, broken_provider.url, timeout_seconds=1)),
        node("ok_end", "exit"), node("failed_end", "exit"),
    ], [edge("start", "next", "mail"), *_branches("mail")])

    hook_server = Provider()
    hook_server.script = ["timeout", "500"]  # the first customer's two attempts; then "ok"...
    webhook = journey_started(client, "webhook", [
        node("start", "start"),
        node("hook", "webhook", {
            "method": "POST", "url": hook_server.url, "headers": {}, "timeout_seconds": 1, "retries": 2,
            "body": '{"key": "{{ customer.external_id }}"}',
        }),
        node("ok_end", "exit"), node("failed_end", "exit"),
    ], [edge("start", "next", "hook"), *_branches("hook")])
    try:
        enroll(client, flaky, [flaky_customer])
        enroll(client, dead, [dead_customer])
        enroll(client, webhook, [hook_ok])
        wait_until(lambda: _handle_taken(live, webhook, "hook"), 60, what="first webhook finished")
        hook_server.default = "500"  # the second customer meets a webhook that never recovers
        enroll(client, webhook, [hook_dead])

        wait_until(lambda: _handle_taken(live, flaky, "mail"), 60, what="flaky provider recovered")
        wait_until(lambda: len(_handle_taken(live, webhook, "hook")) == 2, 60, what="dead webhook gave up")
        wait_until(lambda: _handle_taken(live, dead, "mail"), 120, what="dead provider gave up")
    finally:
        hook_server.close()

    assert _handle_taken(live, flaky, "mail") == ["next"]
    assert _handle_taken(live, dead, "mail") == ["failed"]
    assert sorted(_handle_taken(live, webhook, "hook")) == ["failed", "next"]
    messages = {external_id: (status, attempts) for external_id, status, attempts in live.sql(
        "SELECT c.external_id, m.status, m.attempts::int FROM channels_app_message m "
        "JOIN audiences_customer c ON c.id = m.customer_id WHERE m.workspace_id = %s", [workspace_id],
    )}
    # The flaky provider answered "ok" once (its third request): a second success would be a double.
    record_property("messages_lost", int(messages.get(flaky_customer, ("",))[0] != "sent"))
    record_property("messages_doubled", max(0, provider.total() - 3))
    assert messages[flaky_customer] == ("sent", 3)
    assert messages[dead_customer] == ("failed", MAX_SEND_ATTEMPTS)
    assert broken_provider.total() == MAX_SEND_ATTEMPTS
    # With backoff: each retry waited at least its scheduled delay after the attempt before it.
    (arrivals,) = broken_provider.arrivals.values()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    print(f"\nprovider never recovers: {len(arrivals)} attempts, gaps {[round(g, 1) for g in gaps]}s "
          f"(backoff {list(RETRY_BACKOFF_SECONDS)}s)")
    assert all(gap >= delay - 0.5 for gap, delay in zip(gaps, RETRY_BACKOFF_SECONDS, strict=True)), gaps
    # The flaky provider saw the message three times (timeout, 500, ok): retries, not doubles,
    # and nothing after the success.
    assert provider.total() == 3
    # Webhook: 1 + 2 retries for the one that never recovered; 3 for the flaky one.
    assert hook_server.received == {hook_ok: 3, hook_dead: 3}
    states = dict(live.sql("SELECT state, count(*) FROM journeys_enrollment WHERE workspace_id = %s GROUP BY 1", [workspace_id]))
    assert states == {"completed": 4}
