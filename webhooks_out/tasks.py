"""Celery tasks of event webhooks, on the outbound queue (config/celery.py): thin wrappers."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="webhooks_out.tasks.event_webhooks_pump_task", soft_time_limit=50, time_limit=60)
def event_webhooks_pump_task() -> dict:
    """Fans out new events and queues due retries (periodic, every few seconds)."""
    return services.event_webhooks_pump()


# One POST of at most ATTEMPT_TIMEOUT_SECONDS, then the delivery's write.
@shared_task(
    acks_late=True, name="webhooks_out.tasks.event_delivery_task", soft_time_limit=30, time_limit=45
)
def event_delivery_task(
    *, delivery_id: int, workspace_id: int, attempt: int = 0, slot_waits: int = 0
) -> bool | None:
    return services.event_delivery_attempt(
        delivery_id=delivery_id, workspace_id=workspace_id, attempt=attempt, slot_waits=slot_waits
    )


@shared_task(
    name="webhooks_out.tasks.customer_events_fan_out_task", soft_time_limit=50, time_limit=60
)
def customer_events_fan_out_task(*, workspace_id: int, event_ids: list[int]) -> int:
    """Deliveries for the opt-outs in one stored batch of customer events."""
    return services.customer_events_fan_out(workspace_id=workspace_id, event_ids=event_ids)


# One POST carrying up to the webhook's batch_size deliveries, then their writes.
@shared_task(
    acks_late=True,
    name="webhooks_out.tasks.event_batch_delivery_task",
    soft_time_limit=30,
    time_limit=45,
)
def event_batch_delivery_task(
    *, deliveries: list[list[int]], workspace_id: int, slot_waits: int = 0
) -> bool | None:
    return services.event_batch_delivery_attempt(
        deliveries=[(pk, attempt) for pk, attempt in deliveries],
        workspace_id=workspace_id,
        slot_waits=slot_waits,
    )
