"""What a journey's status change does to its customers: the engine's side of start, stop,
pause, resume and publish. The definition services (journeys/services.py) call these inside
their transaction, after the journey row is updated; effects on workers go through on_commit."""

from __future__ import annotations

from .models import Journey, JourneyVersion


def journey_activated(*, journey: Journey, version: JourneyVersion) -> None:
    """First start of a journey: enroll the entry audience for segment/list/all entries."""


def journey_version_published(
    *, journey: Journey, previous: JourneyVersion, version: JourneyVersion, in_flight: str
) -> None:
    """A new version of an active journey: `in_flight` is "move" (to the same node id in the new
    version, or exit with reason node_removed) or "keep" (stay on the previous version)."""


def journey_paused(*, journey: Journey) -> None:
    """Nothing advances while paused; due timers hold until resume."""


def journey_resumed(*, journey: Journey) -> None:
    """Release what became due while paused."""


def journey_stopped(*, journey: Journey) -> None:
    """Every active or waiting enrollment exits with reason journey_stopped; timers cleared."""
