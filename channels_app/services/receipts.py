"""Delivery receipts: a status (and those it implies) recorded on the message with a
DeliveryEvent, waking the enrollment that awaits it; and inbox reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from workspaces.errors import ServiceValidationError

from ..models import DeliveryEvent, Message

# Statuses as a ladder: a later receipt implies the earlier ones (a click means it was opened
# and delivered), so awaiting "delivered" is met by a click whose delivery receipt was lost.
IMPLIES: dict[str, tuple[str, ...]] = {
    "sent": (),
    "delivered": ("sent",),
    "opened": ("sent", "delivered"),
    "read": ("sent", "delivered"),
    "clicked": ("sent", "delivered", "opened"),
    "replied": ("sent", "delivered", "read"),
    "failed": (),
    "bounced": ("sent",),
}
RANK = {"queued": 0, "sent": 1, "delivered": 2, "opened": 3, "read": 3, "clicked": 4, "replied": 5}
FINAL_FAILURES = ("failed", "bounced")
RECEIPT_STATUSES = tuple(IMPLIES)


def _engine_signal(message: Message, status: str) -> None:
    """Wakes the enrollment that sent `message` (its step_seq makes a late signal a no-op)."""
    if message.enrollment_id is None or message.step_seq is None:
        return
    from journeys.dispatch import signal

    signal(
        enrollment_id=message.enrollment_id,
        step_seq=message.step_seq,
        payload=signal_payload(message, status),
    )


def signal_payload(message: Any, status: str) -> dict:
    """What the engine receives when a message's send or awaited receipt wakes a step."""
    return {"message_id": message.id, "status": status}


def awaited_reached(message: Message, awaited: str) -> bool:
    return getattr(message, f"{awaited}_at", None) is not None


def message_receipt(
    *,
    message: Message,
    status: str,
    source: str,
    at: datetime | None = None,
    error: str = "",
    data: dict | None = None,
) -> Message:
    """Records a delivery receipt: the status's timestamp (and those it implies), the status if
    it moves forward, a DeliveryEvent; then wakes an enrollment waiting for it."""
    if status not in RECEIPT_STATUSES:
        raise ServiceValidationError({"status": [f"Must be one of {', '.join(RECEIPT_STATUSES)}."]})
    at = at or timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.for_workspace(message.workspace_id)
            .select_for_update()
            .get(pk=message.pk)
        )
        fields = receipt_apply(message, status, at=at, error=error)
        if fields:
            message.save(update_fields=fields)
        DeliveryEvent.objects.for_workspace(message.workspace_id).create(
            workspace_id=message.workspace_id,
            message=message,
            status=status,
            source=source,
            at=at,
            data={**(data or {}), **({"error": error} if error else {})},
        )
        receipt_signal_on_commit(message, status, fields)
    return message


def receipt_apply(message: Message, status: str, *, at: datetime, error: str = "") -> list[str]:
    """Sets the status's timestamp (and those it implies) and moves the status forward on a
    locked message, in memory; returns the fields it changed."""
    fields = []
    for name in (*IMPLIES[status], status):
        if getattr(message, f"{name}_at") is None:
            setattr(message, f"{name}_at", at)
            fields.append(f"{name}_at")
    if status in FINAL_FAILURES:
        if message.status not in FINAL_FAILURES:
            message.status = status
            message.error = (error or status)[:255]
            fields += ["status", "error"]
    elif message.status not in FINAL_FAILURES and RANK[status] > RANK.get(message.status, 0):
        message.status = status
        fields.append("status")
    return fields


def receipt_signal_on_commit(message: Message, status: str, fields: list[str]) -> None:
    """Only news wakes the journey: the awaited status reached for the first time, or a failure."""
    awaiting = (message.awaiting or {}).get("status")
    if awaiting and fields and (status in FINAL_FAILURES or awaited_reached(message, awaiting)):
        snapshot = message
        transaction.on_commit(lambda: _engine_signal(snapshot, status))


def inbox_read(*, message: Message) -> Message:
    return message_receipt(message=message, status="read", source="inbox")
