"""Providers that deliver nowhere or only into our own tables: sandbox and the in-app inbox."""

from __future__ import annotations

from ..rendering import CHANNELS
from .base import Outbound, Provider, SendResult


class SandboxProvider(Provider):
    """Renders and records, delivers nowhere, marks sent; receipts can be posted by hand."""

    key = "sandbox"
    channels = CHANNELS

    def send(self, out: Outbound) -> SendResult:
        return SendResult(ok=True, provider_message_id=f"sandbox-{out.message_id}")


class InboxProvider(Provider):
    """In-app messages: the Message row is the inbox entry, so sending means delivered."""

    key = "in_app"
    channels = ("in_app",)

    def send(self, out: Outbound) -> SendResult:
        return SendResult(
            ok=True, provider_message_id=f"inbox-{out.message_id}", status="delivered"
        )
