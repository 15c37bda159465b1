"""Celery tasks of the workspaces app: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from .partitions import partitions_ensure


@shared_task(acks_late=True, name="workspaces.tasks.partitions_ensure", soft_time_limit=1700, time_limit=1800)
def partitions_ensure_task() -> list[str]:
    """The daily beat task (config/celery.py): month partitions of events and step events exist
    for the current month and the next two."""
    return partitions_ensure()
