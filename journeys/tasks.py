"""Thin Celery wrappers over the engine and trigger services (queue `engine`, see config/celery.py).
Every task takes ids, is idempotent (step_seq and state checks), and acks late. Nothing imports
this module: journeys/dispatch.py queues these tasks by their registered names."""

from __future__ import annotations

import gc

from celery import shared_task
from celery.signals import worker_process_init

from . import engine, experiments, lifecycle, retention, triggers


@worker_process_init.connect
def _freeze_startup_objects(**kwargs) -> None:
    """A worker child's objects from start-up (Django, the apps, Celery) live as long as it does:
    frozen, the collector's full passes between tasks no longer walk them every time (an engine
    batch's leftovers set one off every few tasks)."""
    gc.freeze()


@shared_task(name="journeys.tasks.advance_task", acks_late=True, ignore_result=True)
def advance_task(items: list, attempt: int = 0) -> int:
    """One engine batch: items are [enrollment_id, expected step_seq | None, wake | None]."""
    return engine.advance(items=items, attempt=attempt).executions


@shared_task(name="journeys.tasks.events_process_task", acks_late=True, ignore_result=True)
def events_process_task(workspace_id: int, event_ids: list[int]) -> None:
    triggers.events_process(workspace_id=workspace_id, event_ids=event_ids)


@shared_task(name="journeys.tasks.customers_changed_task", acks_late=True, ignore_result=True)
def customers_changed_task(workspace_id: int, customer_ids: list[int]) -> None:
    triggers.customers_changed(workspace_id=workspace_id, customer_ids=customer_ids)


@shared_task(name="journeys.tasks.profile_changes_task", acks_late=True, ignore_result=True)
def profile_changes_task(workspace_id: int) -> None:
    """Profiles the workspace's journeys changed in the last second reach the profile-change hook
    (acknowledged after it ran: a worker lost with it queued leaves the set for the redelivery)."""
    triggers.profile_changes_drain(workspace_id=workspace_id)


@shared_task(name="journeys.tasks.journey_entry_task", acks_late=True, ignore_result=True)
def journey_entry_task(journey_id: int) -> None:
    """Enrolls a segment/list/all journey's audience (on start, and for recurring segments)."""
    triggers.journey_entry_audience(journey_id=journey_id)


@shared_task(name="journeys.tasks.journey_release_task", acks_late=True, ignore_result=True)
def journey_release_task(journey_id: int) -> None:
    lifecycle.journey_release(journey_id=journey_id)


@shared_task(name="journeys.tasks.segment_entries_task", acks_late=True, ignore_result=True)
def segment_entries_task() -> None:
    """Beat: re-evaluates recurring segment entries."""
    triggers.segment_entries_recurring()


@shared_task(name="journeys.tasks.date_attribute_entries_task", acks_late=True, ignore_result=True)
def date_attribute_entries_task() -> None:
    """Beat (daily): date-attribute entries (birthdays) due within the next day."""
    triggers.date_attribute_entries()


@shared_task(name="journeys.tasks.experiments_decide_task", ignore_result=True)
def experiments_decide_task() -> int:
    return experiments.experiments_decide()


@shared_task(name="journeys.tasks.steps_retention_task", acks_late=True, soft_time_limit=3300, time_limit=3600)
def steps_retention_task() -> int:
    """The daily step-event retention sweep (config/celery.py)."""
    return retention.steps_retention_sweep()
