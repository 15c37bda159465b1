"""Celery tasks for channels (config/celery.py routes them to the outbound pool): thin wrappers
over services that take ids and re-fetch. Services queue them by name (services.enqueue), never
by import. Each has a hard time limit sized on the deadlines of the calls it makes."""

from __future__ import annotations

from celery import shared_task

from . import services


# SEND_BUDGET_SECONDS of provider calls, one more call in flight, then the batch's write.
@shared_task(
    acks_late=True,
    name="channels_app.tasks.messages_send_task",
    soft_time_limit=240,
    time_limit=300,
)
def messages_send_task(*, message_ids: list[int], workspace_id: int, slot_waits: int = 0) -> dict:
    """Sends a batch (≤ services.SEND_BATCH); rows already sent are skipped, so redelivery is safe."""
    return services.messages_send_batch(
        message_ids=message_ids, workspace_id=workspace_id, slot_waits=slot_waits
    )


# POLL_BATCH dealer calls of at most providers.base.MAX_TIMEOUT_SECONDS each would exceed this,
# but the dealers answer a result query in well under a second; a run cut short resumes next time.
@shared_task(
    name="channels_app.tasks.dealer_results_poll_task",
    soft_time_limit=240,
    time_limit=300,
)
def dealer_results_poll_task() -> dict:
    """Delivery results of the Kakao dealers (services.dealer_results_poll)."""
    return services.dealer_results_poll()


# One call of at most nodes.MAX_WEBHOOK_TIMEOUT (30 s), then its write and the engine signal.
@shared_task(
    acks_late=True, name="channels_app.tasks.webhook_call_task", soft_time_limit=60, time_limit=90
)
def webhook_call_task(
    *, call_id: int, workspace_id: int, attempt: int = 0, slot_waits: int = 0
) -> bool | None:
    """One attempt of a webhook call; a redelivered or duplicate task finds it done and skips."""
    outcome = services.webhook_call_attempt(
        call_id=call_id, workspace_id=workspace_id, attempt=attempt, slot_waits=slot_waits
    )
    return None if outcome is None else outcome.ok


# WALLET_UPDATE_BATCH customers' passes, each a rebuild and an APNs or Google call of ≤ 10 s.
@shared_task(
    bind=True,
    acks_late=True,
    name="channels_app.tasks.wallet_passes_update_task",
    soft_time_limit=240,
    time_limit=300,
    max_retries=5,
)
def wallet_passes_update_task(self, *, workspace_id: int, customer_ids: list[int]) -> dict:
    """Tells the wallets holding these customers' passes of each change; a wallet service that
    could not be reached is tried again later (a pass already told is skipped then)."""
    counts = services.wallet_passes_update(workspace_id=workspace_id, customer_ids=customer_ids)
    if counts.get("retry"):
        raise self.retry(countdown=60 * 2**self.request.retries)
    return counts
