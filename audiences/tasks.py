"""Celery tasks of the audiences app: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from .importer import DATABASE_UNAVAILABLE, customers_import, uploads_expire
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


# Not `import_*`: a sweep of a few DELETEs waits behind no running import (default queue).
@shared_task(name="audiences.tasks.uploads_expire", soft_time_limit=600, time_limit=660)
def uploads_expire_task() -> dict:
    """The hourly sweep (config/celery.py): imports never started or stalled for 24 hours fail,
    and uploads of ended imports are deleted."""
    return uploads_expire()
