"""The ingest → engine seam: handlers registered once, every one called, failures contained."""

import pytest

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


@pytest.mark.django_db
def test_a_handler_that_asks_for_them_gets_the_batch_event_names(
    workspace, django_capture_on_commit_callbacks
):
    """The ingest hands over the names it stored (so the engine can decide without reading the
    batch back); handlers registered without names keep their two arguments."""
    from audiences.services import events_ingest

    plain, named = [], []

    def without_names(workspace_id, ids):
        plain.append(len(ids))

    def with_names(workspace_id, ids, names):
        named.append(names)

    hooks.connect_events_ingested(without_names)
    hooks.connect_events_ingested(with_names, names=True)
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
        hooks.disconnect_events_ingested(without_names)
        hooks.disconnect_events_ingested(with_names)
    assert plain == [3, 1]
    assert named == [frozenset({"view", "purchase"}), None]
