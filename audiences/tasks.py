"""Celery tasks of the audiences app: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from .importer import customers_import


@shared_task(acks_late=True, name="audiences.tasks.import_customers")
def import_customers(job_id: int) -> None:
    """Runs a CSV import (routed to the `imports` queue by config/celery.py)."""
    customers_import(job_id=job_id)
