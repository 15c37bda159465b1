"""Tells the open live canvases (analytics.consumers) that a journey's counts moved."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

COUNTS_CHANGED = "counts.changed"  # handled by JourneyCountsConsumer.counts_changed


def journey_group(journey_id: int) -> str:
    return f"journey-counts-{journey_id}"


async def _notify(journey_ids: list[int]) -> None:
    layer = get_channel_layer()
    for journey_id in journey_ids:
        await layer.group_send(journey_group(journey_id), {"type": COUNTS_CHANGED})


def _notify_now(journey_ids: list[int]) -> None:
    try:
        async_to_sync(_notify)(journey_ids)
    except Exception:  # a Redis hiccup costs the canvases one push, never the rollup run
        logger.warning("live counts notice for journeys %s not sent", journey_ids, exc_info=True)


def journeys_counts_changed(*, journey_ids: Iterable[int]) -> None:
    """After commit: each watching socket re-reads the journey's counts (a notice, not the counts:
    journeys nobody watches cost one Redis call, and each socket reads its own at its own pace)."""
    ids = sorted(set(journey_ids))
    if ids:
        transaction.on_commit(lambda: _notify_now(ids))
