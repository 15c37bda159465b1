"""Addresses an email provider reported as undeliverable (hard bounces) or as complaining (spam
reports): recorded once per workspace, and every later email to them fails at once with
`undeliverable`. The ESP's event webhook lands here through `esp_events_record`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import DeliveryEvent, Message, SuppressedAddress
from .receipts import receipt_apply, receipt_signal_on_commit


def _normal(address: str) -> str:
    return address.strip().casefold()


def address_suppressed(*, workspace_id: int, channel: str, address: str) -> bool:
    return (
        SuppressedAddress.objects.for_workspace(workspace_id)
        .filter(channel=channel, address=_normal(address))
        .exists()
    )


def address_suppress(
    *, workspace_id: int, channel: str, address: str, reason: str, detail: str = "", message=None
) -> None:
    """Records the address once; a second report keeps the first reason."""
    if not address.strip():
        return
    SuppressedAddress.objects.for_workspace(workspace_id).get_or_create(
        workspace_id=workspace_id,
        channel=channel,
        address=_normal(address),
        defaults={"reason": reason, "detail": detail[:255], "message": message},
    )


# SendGrid's `dropped` reasons that mean the address itself will not take mail.
_DROPPED_FOR_ADDRESS = ("bounced address", "spam reporting address", "invalid")
# What we act on; processed, deferred, open and click (ours are tracked by our own links) are not.
ESP_KINDS = ("delivered", "bounce", "dropped", "spamreport")
MAX_ID = 2**63 - 1
BULK_BATCH = 1000


@dataclass(frozen=True)
class _EspEvent:
    message_id: int
    kind: str
    hard_bounce: bool
    reason: str
    at: datetime | None


def _esp_event_parse(event: Any) -> _EspEvent | None:
    """One ESP event that names our message and means something to us, else None."""
    if not isinstance(event, dict) or event.get("event") not in ESP_KINDS:
        return None
    try:
        message_id = int(event.get("waymark_message_id"))
    except (TypeError, ValueError):
        return None
    try:
        at = datetime.fromtimestamp(int(event["timestamp"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        at = None
    return _EspEvent(
        message_id=message_id,
        kind=event["event"],
        hard_bounce=event.get("type", "bounce") == "bounce",
        reason=str(event.get("reason") or event.get("response") or "")[:255],
        at=at,
    )


class _EspBatch:
    """The writes one event batch makes, applied in memory to its locked messages and then
    written in bulk: receipts (with the message updates they imply) and suppressions."""

    def __init__(self, workspace_id: int, source: str):
        self.workspace_id, self.source = workspace_id, source
        self.now = timezone.now()
        self.updated: dict[int, tuple[Message, set[str]]] = {}
        self.receipts: list[DeliveryEvent] = []
        self.suppressions: dict[tuple[str, str], SuppressedAddress] = {}

    def receipt(self, message: Message, status: str, event: _EspEvent, error: str = "") -> None:
        at = event.at or self.now
        fields = receipt_apply(message, status, at=at, error=error)
        self.updated.setdefault(message.pk, (message, set()))[1].update(fields)
        data = {"provider_event": event.kind}
        if event.reason:
            data["reason"] = event.reason
        if error:
            data["error"] = error
        self.receipts.append(
            DeliveryEvent(
                workspace_id=self.workspace_id,
                message=message,
                status=status,
                source=self.source,
                at=at,
                data=data,
            )
        )
        receipt_signal_on_commit(message, status, fields)

    def suppress(self, message: Message, reason: str, detail: str) -> None:
        address = _normal(message.to)
        key = (message.channel, address)
        if address and key not in self.suppressions:  # a second report keeps the first reason
            self.suppressions[key] = SuppressedAddress(
                workspace_id=self.workspace_id,
                channel=message.channel,
                address=address,
                reason=reason,
                detail=detail[:255],
                message=message,
            )

    def write(self) -> None:
        fields = sorted({f for _, changed in self.updated.values() for f in changed})
        changed_messages = [m for m, changed in self.updated.values() if changed]
        if changed_messages:
            Message.objects.for_workspace(self.workspace_id).bulk_update(
                changed_messages, fields, batch_size=BULK_BATCH
            )
        DeliveryEvent.objects.for_workspace(self.workspace_id).bulk_create(
            self.receipts, batch_size=BULK_BATCH
        )
        # An address suppressed before keeps its first row (the unique constraint).
        SuppressedAddress.objects.for_workspace(self.workspace_id).bulk_create(
            list(self.suppressions.values()), batch_size=BULK_BATCH, ignore_conflicts=True
        )


def esp_events_record(*, workspace_id: int, source: str, events: list[dict]) -> int:
    """An ESP event batch (SendGrid's Event Webhook shape): delivered, bounce (hard: `type`
    bounce; soft: blocked), dropped and spamreport become receipts and suppressions. Events
    name our message in `waymark_message_id`; others (and other workspaces' ids) are ignored.
    One transaction per batch: its messages are read and locked in one workspace-scoped query,
    the events applied in their order, and everything written in bulk.
    Returns how many events changed something."""
    parsed = [e for e in map(_esp_event_parse, events) if e is not None]
    ids = {e.message_id for e in parsed if 0 < e.message_id <= MAX_ID}
    if not ids:
        return 0
    batch = _EspBatch(workspace_id, source)
    changed = 0
    with transaction.atomic():
        messages = {
            m.pk: m
            for m in Message.objects.for_workspace(workspace_id)
            .filter(pk__in=ids)
            .order_by("pk")  # one lock order: batches naming the same messages cannot deadlock
            .select_for_update()
        }
        for event in parsed:
            message = messages.get(event.message_id)
            if message is None:
                continue
            if event.kind == "delivered":
                batch.receipt(message, "delivered", event)
            elif event.kind == "bounce":
                batch.receipt(
                    message, "bounced", event, error="bounced" if event.hard_bounce else "blocked"
                )
                if event.hard_bounce:
                    batch.suppress(message, SuppressedAddress.Reason.BOUNCE, event.reason)
            elif event.kind == "dropped":
                batch.receipt(message, "failed", event, error="undeliverable")
                if event.reason.casefold().startswith(_DROPPED_FOR_ADDRESS):
                    batch.suppress(message, SuppressedAddress.Reason.BOUNCE, event.reason)
            else:  # spamreport
                batch.suppress(message, SuppressedAddress.Reason.COMPLAINT, "marked as spam")
            changed += 1
        batch.write()
    return changed
