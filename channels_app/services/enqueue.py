"""The one place channel services queue Celery work. Tasks are sent by name, so services never
import channels_app.tasks (which imports them); the names are the registered task names, which
must not change while tasks of an older release may still sit in a queue."""

from __future__ import annotations

from celery import current_app

from ..models import WebhookCall

# Messages per send task: per-task costs (commit, round trips, broker) amortized over the batch;
# 1,000 measured 15–50% above 500 on the loaded 2-core machine (bench/bench_channels.py).
SEND_BATCH = 1000
MESSAGES_SEND_TASK = "channels_app.tasks.messages_send_task"
WEBHOOK_CALL_TASK = "channels_app.tasks.webhook_call_task"
WALLET_PASSES_UPDATE_TASK = "channels_app.tasks.wallet_passes_update_task"
# Customers per wallet update task: each pass is rebuilt and may wait on APNs or Google.
WALLET_UPDATE_BATCH = 200


def messages_enqueue(
    *,
    message_ids: list[int],
    workspace_id: int,
    countdown: float | None = None,
    slot_waits: int = 0,
) -> None:
    """Queues send tasks of ≤ SEND_BATCH messages; `slot_waits` counts how often this work found
    no free outbound slot (channels_app.outbound_slots), so its next wait is longer."""
    for start in range(0, len(message_ids), SEND_BATCH):
        current_app.send_task(
            MESSAGES_SEND_TASK,
            kwargs={
                "message_ids": message_ids[start : start + SEND_BATCH],
                "workspace_id": workspace_id,
                **({"slot_waits": slot_waits} if slot_waits else {}),
            },
            countdown=countdown,
        )


def webhook_call_enqueue(*, call: WebhookCall, countdown: float | None = None) -> None:
    """Queues the call's next attempt (the task carries the attempt number it is for)."""
    webhook_attempt_enqueue(
        call_id=call.pk, workspace_id=call.workspace_id, attempt=call.attempts, countdown=countdown
    )


def webhook_attempt_enqueue(
    *,
    call_id: int,
    workspace_id: int,
    attempt: int,
    countdown: float | None = None,
    slot_waits: int = 0,
) -> None:
    kwargs = {"call_id": call_id, "workspace_id": workspace_id, "attempt": attempt}
    if slot_waits:
        kwargs["slot_waits"] = slot_waits
    current_app.send_task(WEBHOOK_CALL_TASK, kwargs=kwargs, countdown=countdown)


def wallet_passes_update_enqueue(*, workspace_id: int, customer_ids: list[int]) -> None:
    """Queues the rebuild of these customers' wallet passes and the news of their changes."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), WALLET_UPDATE_BATCH):
        current_app.send_task(
            WALLET_PASSES_UPDATE_TASK,
            kwargs={
                "workspace_id": workspace_id,
                "customer_ids": ids[start : start + WALLET_UPDATE_BATCH],
            },
        )
