"""Celery tasks of the audiences app: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from .importer import DATABASE_UNAVAILABLE, customers_import
from .retention import events_retention_sweep


# A job interrupted because PostgreSQL went away runs again when it is back: backoff 2, 4, 8 … s,
# at most 2 minutes apart, for about an hour before Celery gives up on it.
@shared_task(acks_late=True, name="audiences.tasks.import_customers", autoretry_for=DATABASE_UNAVAILABLE,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=False, max_retries=35)
def import_customers(job_id: int) -> None:
    """Runs a CSV import (routed to the `imports` queue by config/celery.py)."""
    customers_import(job_id=job_id)


@shared_task(acks_late=True, name="audiences.tasks.events_retention", soft_time_limit=3300, time_limit=3600)
def events_retention() -> int:
    """The daily retention sweep (config/celery.py): every workspace's expired events, in batches."""
    return events_retention_sweep()
