"""The one seam between ingest and the journey engine: the engine registers handlers here, and the
audiences services call them after commit, so ingest never waits on (or imports) journey logic.

    connect_events_ingested(handler)    # handler(workspace_id, event_ids), at app ready
    connect_events_ingested(handler, names=True)  # handler(workspace_id, event_ids, names)
    connect_customers_changed(handler)  # handler(workspace_id, customer_ids)

Handlers run in the request or task that committed the rows: they should enqueue work (a Celery
task per batch), not do it. A handler that raises is logged and the others still run; the data
is already committed, so the caller is not failed for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

logger = logging.getLogger(__name__)

Handler = Callable[[int, list[int]], None]
_events_ingested: list[Handler] = []
# Handlers that also take the batch's event names (a frozenset, or None when the caller did not
# give them): the ingest holds them in memory, so a handler can decide from them without reading
# the batch back from the events table.
_named: list[Callable] = []
_customers_changed: list[Handler] = []


def _connect(handlers: list[Handler], handler: Handler) -> None:
    if handler not in handlers:  # app ready() may run twice (tests, autoreload)
        handlers.append(handler)


def _fire(
    handlers: list[Handler],
    name: str,
    workspace_id: int,
    ids: list[int],
    named: Sequence[Callable] = (),
    names: frozenset[str] | None = None,
) -> None:
    if not ids:
        return
    for handler in list(handlers):
        try:
            if handler in named:
                handler(workspace_id, ids, names)
            else:
                handler(workspace_id, ids)
        except Exception:
            logger.exception("%s handler %r failed for workspace %s", name, handler, workspace_id)


def connect_events_ingested(handler: Callable, *, names: bool = False) -> None:
    """Register handler(workspace_id, event_ids), called for every stored batch of events; with
    names=True, handler(workspace_id, event_ids, names): the batch's distinct event names, or None
    when they were not given."""
    _connect(_events_ingested, handler)
    if names:
        _connect(_named, handler)


def disconnect_events_ingested(handler: Callable) -> None:
    for handlers in (_events_ingested, _named):
        if handler in handlers:
            handlers.remove(handler)


def events_ingested(
    *, workspace_id: int, event_ids: list[int], names: Iterable[str] | None = None
) -> None:
    """Calls every handler; the ingest service calls this via transaction.on_commit, with the
    batch's event names when it has them (a superset does no harm: handlers only skip work for
    names that are absent)."""
    _fire(
        _events_ingested,
        "events_ingested",
        workspace_id,
        list(event_ids),
        _named,
        None if names is None else frozenset(names),
    )


def connect_customers_changed(handler: Handler) -> None:
    """Register handler(workspace_id, customer_ids), called after upserts, PATCH and imports
    (created or changed customers: attributes, tags, fields)."""
    _connect(_customers_changed, handler)


def disconnect_customers_changed(handler: Handler) -> None:
    if handler in _customers_changed:
        _customers_changed.remove(handler)


def customers_changed(*, workspace_id: int, customer_ids: list[int]) -> None:
    """Calls every handler; services call this via transaction.on_commit."""
    _fire(_customers_changed, "customers_changed", workspace_id, list(customer_ids))
