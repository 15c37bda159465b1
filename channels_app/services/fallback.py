"""A message its own channel cannot deliver (RCS to a phone without RCS) sent instead as SMS
through the workspace's default SMS channel, and marked `failover: "sms"` on its content."""

from __future__ import annotations

from audiences.models import Customer

from ..callback_urls import twilio_callback_url
from ..models import Message
from ..providers import Outbound, SendResult
from .channels import channel_config_resolve, provider_for
from .consent import MARKETING


def sms_fallback_send(*, out: Outbound, text: str) -> SendResult:
    """Called by a provider during messages_send, which holds the message's row lock."""
    message = (
        Message.objects.unscoped()
        .filter(pk=out.message_id)
        .only("workspace_id", "customer_id", "category", "content")
        .first()
    )
    if message is None:
        return SendResult(ok=False, error="no_channel_configured", detail="message not found")
    config = channel_config_resolve(
        workspace_id=message.workspace_id, channel="sms", channel_id=None
    )
    if config is None:
        return SendResult(
            ok=False,
            error="rcs_unreachable",
            detail="not reachable over RCS, and the workspace has no default SMS channel",
        )
    if message.customer_id and message.category == MARKETING:
        customer = Customer.objects.for_workspace(message.workspace_id).filter(
            pk=message.customer_id
        )
        if customer.filter(unsubscribed__contains=["sms"]).exists():
            # Their RCS consent does not cover a channel they left.
            return SendResult(
                ok=False, error="unsubscribed", detail="not reachable over RCS; left SMS"
            )
    result = provider_for(config, "sms").send(
        Outbound(
            message_id=out.message_id,
            channel="sms",
            to=out.to,
            content={"text": text},
            targets=[out.to],
            status_callback_url=twilio_callback_url(config.pk)
            if config.provider == "twilio"
            else "",
        )
    )
    if result.ok:
        Message.objects.for_workspace(message.workspace_id).filter(pk=out.message_id).update(
            content={**message.content, "failover": "sms"}
        )
    return result
