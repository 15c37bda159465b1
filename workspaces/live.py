"""Membership notices for open websockets: each socket joins its user-in-workspace group, and a
removal or a lowered role is sent there after commit, so the socket closes at once."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def membership_group(*, user_id: int, workspace_id: int) -> str:
    return f"membership.{user_id}.{workspace_id}"


def membership_changed_notify(*, user_id: int, workspace_id: int, reason: str) -> None:
    """After commit, tells the user's sockets in the workspace that their access changed
    (`reason`: "removed" or "role_lowered"); the sockets re-check and close."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                membership_group(user_id=user_id, workspace_id=workspace_id),
                {"type": "membership.changed", "reason": reason},
            )
        except Exception:  # the periodic re-check closes the socket anyway, within RESYNC_SECONDS
            logger.warning("membership notice for user %s in workspace %s not sent", user_id, workspace_id,
                           exc_info=True)

    transaction.on_commit(send)
