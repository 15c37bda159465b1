"""The ingest → engine seam: handlers registered once, every one called, failures contained."""

import pytest

from audiences import hooks


def test_every_handler_runs_once_and_a_failing_one_does_not_stop_the_others(caplog):
    calls = []

    def broken(workspace_id, ids, names):
        raise RuntimeError("engine down")

    def good(workspace_id, ids, names):
        calls.append((workspace_id, ids))

    # On the module's logger itself: a Celery worker of an earlier test may have replaced the root
    # logger's handlers (its root-logger takeover), caplog's among them.
    hooks.logger.addHandler(caplog.handler)
    hooks.connect_events_ingested(broken)
    hooks.connect_events_ingested(good)
    hooks.connect_events_ingested(good)  # connecting twice (app ready runs twice) is harmless
    try:
        hooks.events_ingested(workspace_id=7, event_ids=[1, 2])
        hooks.events_ingested(workspace_id=7, event_ids=[])  # nothing stored, nothing to hand over
    finally:
        hooks.disconnect_events_ingested(broken)
        hooks.disconnect_events_ingested(good)
        hooks.logger.removeHandler(caplog.handler)
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


@pytest.mark.django_db
def test_handlers_get_the_batch_event_names(workspace, django_capture_on_commit_callbacks):
    """The ingest hands over the names it stored (so the engine can decide without reading the
    batch back); a caller without them hands over None."""
    from audiences.services import events_ingest

    sizes, named = [], []

    def handler(workspace_id, ids, names):
        sizes.append(len(ids))
        named.append(names)

    hooks.connect_events_ingested(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(
                workspace=workspace,
                events=[
                    {"customer_id": "a", "name": "view"},
                    {"customer_id": "b", "name": "purchase"},
                    {"customer_id": "a", "name": "view"},
                ],
            )
        hooks.events_ingested(workspace_id=workspace.pk, event_ids=[1])  # a caller without names
    finally:
        hooks.disconnect_events_ingested(handler)
    assert sizes == [3, 1]
    assert named == [frozenset({"view", "purchase"}), None]
