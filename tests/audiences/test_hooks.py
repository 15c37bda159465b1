"""The ingest → engine seam: handlers registered once, every one called, failures contained."""

from audiences import hooks


def test_every_handler_runs_once_and_a_failing_one_does_not_stop_the_others(caplog):
    calls = []

    def broken(workspace_id, ids):
        raise RuntimeError("engine down")

    def good(workspace_id, ids):
        calls.append((workspace_id, ids))

    hooks.connect_events_ingested(broken)
    hooks.connect_events_ingested(good)
    hooks.connect_events_ingested(good)  # connecting twice (app ready runs twice) is harmless
    try:
        hooks.events_ingested(workspace_id=7, event_ids=[1, 2])
        hooks.events_ingested(workspace_id=7, event_ids=[])  # nothing stored, nothing to hand over
    finally:
        hooks.disconnect_events_ingested(broken)
        hooks.disconnect_events_ingested(good)
    assert calls == [(7, [1, 2])]
    assert "engine down" in caplog.text


def test_customers_changed_calls_its_handlers():
    calls = []
    handler = lambda workspace_id, ids: calls.append((workspace_id, ids))  # noqa: E731
    hooks.connect_customers_changed(handler)
    try:
        hooks.customers_changed(workspace_id=3, customer_ids=[9])
    finally:
        hooks.disconnect_customers_changed(handler)
    assert calls == [(3, [9])]
