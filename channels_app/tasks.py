"""Celery tasks of the `messages` queue (config/celery.py routes channels_app.tasks.* there):
thin wrappers over services that take ids and re-fetch."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, name="channels_app.tasks.messages_send_task")
def messages_send_task(*, message_ids: list[int], workspace_id: int) -> dict:
    """Sends a batch (≤ services.SEND_BATCH); rows already sent are skipped, so redelivery is safe."""
    return services.messages_send(message_ids=message_ids, workspace_id=workspace_id)


@shared_task(acks_late=True, name="channels_app.tasks.webhook_call_task")
def webhook_call_task(
    *,
    workspace_id: int,
    enrollment_id: int,
    step_seq: int,
    customer_id: int,
    request: dict,
    attempt: int = 0,
) -> bool | None:
    outcome = services.webhook_call(
        workspace_id=workspace_id,
        enrollment_id=enrollment_id,
        step_seq=step_seq,
        customer_id=customer_id,
        request=request,
        attempt=attempt,
    )
    return None if outcome is None else outcome.ok
