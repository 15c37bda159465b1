"""Periodic analytics work (declared in config/celery.py beat_schedule)."""

from __future__ import annotations

import logging

from celery import shared_task

from .services import rollups_refresh

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def rollups_refresh_task() -> None:
    """Folds new step and delivery events into the rollups; safe to run twice at once (the
    second finds the cursor locked and returns)."""
    report = rollups_refresh()
    logger.debug("rollups refreshed: %s", report)
