"""The one seam between ingest and the journey engine: the engine registers handlers here, and the
audiences services call them after commit, so ingest never waits on (or imports) journey logic.

    connect_events_ingested(handler)    # handler(workspace_id, event_ids, names), at app ready
    connect_customers_changed(handler)  # handler(workspace_id, customer_ids)

Handlers run in the request or task that committed the rows: they should enqueue work (a Celery
task per batch), not do it. A handler that raises is logged and the others still run; the data
is already committed, so the caller is not failed for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

Handler = Callable[[int, list[int]], None]
# handler(workspace_id, event_ids, names): names are the batch's distinct event names (a
# frozenset, or None when the caller did not give them). The ingest holds them in memory, so a
# handler can decide from them without reading the batch back from the events table.
EventsHandler = Callable[[int, list[int], frozenset[str] | None], None]
_events_ingested: list[EventsHandler] = []
_customers_changed: list[Handler] = []


def _connect(handlers: list, handler: Callable) -> None:
    if handler not in handlers:  # app ready() may run twice (tests, autoreload)
        handlers.append(handler)


def _fire(handlers: list[Callable], name: str, workspace_id: int, *args) -> None:
    if not args[0]:  # no ids: nothing stored, nothing to hand over
        return
    for handler in list(handlers):
        try:
            handler(workspace_id, *args)
        except Exception:
            logger.exception("%s handler %r failed for workspace %s", name, handler, workspace_id)


def connect_events_ingested(handler: EventsHandler) -> None:
    """Register handler(workspace_id, event_ids, names), called for every stored batch of events."""
    _connect(_events_ingested, handler)


def disconnect_events_ingested(handler: EventsHandler) -> None:
    if handler in _events_ingested:
        _events_ingested.remove(handler)


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
