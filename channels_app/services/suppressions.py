"""Addresses an email provider reported as undeliverable (hard bounces) or as complaining (spam
reports): recorded once per workspace, and every later email to them fails at once with
`undeliverable`. The ESP's event webhook lands here through `esp_events_record`."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from ..models import Message, SuppressedAddress
from .receipts import message_receipt


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


def esp_events_record(*, workspace_id: int, source: str, events: list[dict]) -> int:
    """An ESP event batch (SendGrid's Event Webhook shape): delivered, bounce (hard: `type`
    bounce; soft: blocked), dropped and spamreport become receipts and suppressions. Events
    name our message in `waymark_message_id`; others (and other workspaces' ids) are ignored.
    Returns how many events changed something."""
    changed = 0
    for event in events:
        if not isinstance(event, dict):
            continue
        try:
            message_id = int(event.get("waymark_message_id"))
        except (TypeError, ValueError):
            continue
        message = Message.objects.for_workspace(workspace_id).filter(pk=message_id).first()
        if message is None:
            continue
        kind = event.get("event")
        reason = str(event.get("reason") or event.get("response") or "")[:255]
        try:
            at = datetime.fromtimestamp(int(event["timestamp"]), tz=UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            at = None
        data = {"provider_event": kind, "reason": reason} if reason else {"provider_event": kind}
        with transaction.atomic():
            if kind == "delivered":
                message_receipt(message=message, status="delivered", source=source, at=at, data=data)
            elif kind == "bounce":
                hard = event.get("type", "bounce") == "bounce"
                message_receipt(
                    message=message, status="bounced", source=source, at=at, data=data,
                    error="bounced" if hard else "blocked",
                )
                if hard:
                    address_suppress(
                        workspace_id=workspace_id, channel=message.channel, address=message.to,
                        reason=SuppressedAddress.Reason.BOUNCE, detail=reason, message=message,
                    )
            elif kind == "dropped":
                message_receipt(
                    message=message, status="failed", source=source, at=at, data=data,
                    error="undeliverable",
                )
                if reason.casefold().startswith(_DROPPED_FOR_ADDRESS):
                    address_suppress(
                        workspace_id=workspace_id, channel=message.channel, address=message.to,
                        reason=SuppressedAddress.Reason.BOUNCE, detail=reason, message=message,
                    )
            elif kind == "spamreport":
                address_suppress(
                    workspace_id=workspace_id, channel=message.channel, address=message.to,
                    reason=SuppressedAddress.Reason.COMPLAINT, detail="marked as spam",
                    message=message,
                )
            else:  # processed, deferred, open, click (ours are tracked by our own links)…
                continue
        changed += 1
    return changed
