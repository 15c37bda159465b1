"""The live canvas: a websocket that pushes a journey's node and message counts while they change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from journeys.models import Journey
from workspaces.live import membership_group
from workspaces.models import Membership

from .live import journey_group
from .selectors import journey_live_counts

logger = logging.getLogger(__name__)

# "At most a few times a second" (issue #7): notices arriving faster are folded into one push.
MIN_PUSH_SECONDS = 0.25
# A notice can be lost (Redis restarted, the channel's queue full, the group membership expired
# after channels_redis's group_expiry); every RESYNC_SECONDS the socket re-joins its group and
# re-reads, so a canvas left open never stays stale for longer than this.
RESYNC_SECONDS = 30.0
# Closing with 1011 (server error) makes the canvas fall back to polling and reconnect.
CLOSE_SERVER_ERROR = 1011
# Membership is re-read at a push when the last check is older than this, so a removal whose
# notice was lost (Redis restarted) still closes the socket within about RESYNC_SECONDS.
MEMBERSHIP_RECHECK_SECONDS = 30.0
# The user is no longer a member of the journey's workspace: the canvas's reconnect is refused.
CLOSE_NOT_A_MEMBER = 4403
# The user's role was lowered: reconnecting re-reads what the socket may see.
CLOSE_ROLE_CHANGED = 4001


@database_sync_to_async
def _journey_workspace_for(user, journey_id: int) -> int | None:
    """The journey's workspace id when the session's user is a member of it (any role), else None."""
    workspace_id = Journey.objects.unscoped().filter(pk=journey_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None or not Membership.objects.filter(user=user, workspace_id=workspace_id).exists():
        return None
    return workspace_id


@database_sync_to_async
def _still_member(user_id: int, workspace_id: int) -> bool:
    return Membership.objects.filter(user_id=user_id, workspace_id=workspace_id, user__is_active=True).exists()


_read_counts = database_sync_to_async(journey_live_counts)


class JourneyCountsConsumer(AsyncJsonWebsocketConsumer):
    """/ws/journeys/{id}/: session-authenticated members of the journey's workspace receive
    {"type": "counts", "journey_id", "summary", "nodes"} on connect and after each change
    (selectors.journey_live_counts: a node that sent messages carries their "messages" numbers,
    so delivery receipts are pushed too).

    Changes arrive as group notices from the rollup run (analytics.live); a reconnecting client
    simply gets the current counts first, so nothing depends on what an earlier socket saw.
    Removing the user from the workspace (or lowering their role) closes the socket at once
    (workspaces.live); membership is also re-read every MEMBERSHIP_RECHECK_SECONDS."""

    async def connect(self):
        self.journey_id = None
        self.pending: asyncio.Task | None = None
        self.resync: asyncio.Task | None = None
        self.last_sent: dict | None = None
        self.last_push = 0.0
        self.closing = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        journey_id = int(self.scope["url_route"]["kwargs"]["journey_id"])
        self.workspace_id = await _journey_workspace_for(user, journey_id)
        if self.workspace_id is None:  # another workspace's journey looks like a missing one
            await self.close(code=4404)
            return
        self.journey_id = journey_id
        self.user_id = user.pk
        self.member_checked = time.monotonic()
        # Join before the first read: a change committed in between is then pushed, not missed.
        await self.channel_layer.group_add(journey_group(journey_id), self.channel_name)
        # And the user's own group in this workspace: a removal or lowered role closes the socket.
        await self.channel_layer.group_add(self._membership_group(), self.channel_name)
        await self.accept()
        await self._push()
        self.resync = asyncio.create_task(self._resync_forever())

    async def disconnect(self, code):
        for task in (self.pending, self.resync):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.journey_id is not None:
            for group in (journey_group(self.journey_id), self._membership_group()):
                with contextlib.suppress(Exception):  # the group membership expires by itself anyway
                    await self.channel_layer.group_discard(group, self.channel_name)

    def _membership_group(self) -> str:
        return membership_group(user_id=self.user_id, workspace_id=self.workspace_id)

    async def membership_changed(self, event):
        """Notice from workspaces.services: this user was removed or their role was lowered."""
        if not await _still_member(self.user_id, self.workspace_id):
            await self._close(CLOSE_NOT_A_MEMBER)
        elif event.get("reason") == "role_lowered":
            await self._close(CLOSE_ROLE_CHANGED)

    async def _close(self, code: int) -> None:
        self.closing = True
        await self.close(code=code)

    async def receive_json(self, content, **kwargs):
        """Clients only listen."""

    async def counts_changed(self, event):
        """Group notice: schedule one push, no sooner than MIN_PUSH_SECONDS after the last."""
        if self.pending is None or self.pending.done():
            self.pending = asyncio.create_task(self._push_later())

    async def _push_later(self):
        await asyncio.sleep(max(0.0, self.last_push + MIN_PUSH_SECONDS - time.monotonic()))
        await self._push()

    async def _resync_forever(self):
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            with contextlib.suppress(Exception):
                await self.channel_layer.group_add(journey_group(self.journey_id), self.channel_name)
            await self.counts_changed(None)

    async def _push(self):
        """Sends the journey's counts when they differ from what this socket last sent, while the
        user is still a member of the journey's workspace."""
        if self.closing:
            return
        self.last_push = time.monotonic()
        if self.last_push - self.member_checked >= MEMBERSHIP_RECHECK_SECONDS:
            if not await _still_member(self.user_id, self.workspace_id):
                await self._close(CLOSE_NOT_A_MEMBER)
                return
            self.member_checked = self.last_push
        try:
            counts = await _read_counts(journey_id=self.journey_id, workspace_id=self.workspace_id)
            if self.closing:  # closed while reading: a send after the close would abort the connection
                return
            if counts != self.last_sent:
                await self.send_json({"type": "counts", "journey_id": self.journey_id, **counts})
                self.last_sent = counts
        except Exception:
            logger.exception("live counts of journey %s not pushed", self.journey_id)
            await self.close(code=CLOSE_SERVER_ERROR)
