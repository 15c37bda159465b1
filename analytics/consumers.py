"""The live canvas: a websocket that pushes a journey's node counts while they change."""

from __future__ import annotations

import asyncio
import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from journeys.models import Journey
from workspaces.models import Membership

from .selectors import journey_live_counts

# The rollups move every ~2 s (config/celery.py); polling the few rollup rows of one journey
# twice a second shows each move promptly and sends at most 2 messages a second.
POLL_SECONDS = 0.5


@database_sync_to_async
def _journey_workspace_for(user, journey_id: int) -> int | None:
    """The journey's workspace id when the session's user is a member of it, else None."""
    workspace_id = Journey.objects.unscoped().filter(pk=journey_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None or not Membership.objects.filter(user=user, workspace_id=workspace_id).exists():
        return None
    return workspace_id


class JourneyCountsConsumer(AsyncJsonWebsocketConsumer):
    """/ws/journeys/{id}/: session-authenticated members of the journey's workspace receive
    {"type": "counts", "journey_id", "summary", "nodes"} on connect and on every change."""

    async def connect(self):
        user = self.scope.get("user")
        self.poller = None
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.journey_id = int(self.scope["url_route"]["kwargs"]["journey_id"])
        self.workspace_id = await _journey_workspace_for(user, self.journey_id)
        if self.workspace_id is None:  # another workspace's journey looks like a missing one
            await self.close(code=4404)
            return
        await self.accept()
        self.poller = asyncio.create_task(self._push_changes())

    async def disconnect(self, code):
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller

    async def receive_json(self, content, **kwargs):
        """Clients only listen."""

    async def _push_changes(self):
        read = database_sync_to_async(journey_live_counts)
        last = None
        while True:
            counts = await read(journey_id=self.journey_id, workspace_id=self.workspace_id)
            if counts != last:
                await self.send_json({"type": "counts", "journey_id": self.journey_id, **counts})
                last = counts
            await asyncio.sleep(POLL_SECONDS)
