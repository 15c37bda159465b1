"""What an executor sees of the engine: the StepContext of one enrollment at one node, the Wake
that resumes a wait, and the small helpers node types share (sticky buckets, timezones)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from audiences.conditions import evaluate
from audiences.models import Customer
from templating import liquid_context, render_liquid

if TYPE_CHECKING:
    from .rows import AnyEnrollment
    from .run import Run
    from .versions import CompiledVersion


@dataclass(frozen=True)
class Wake:
    """Why a waiting enrollment resumes: kind "timer" | "event" | "signal", with its payload."""

    kind: str
    payload: dict = field(default_factory=dict)


def stable_bucket(*parts: Any, buckets: int = 10_000) -> int:
    """A deterministic bucket in [0, buckets) for sticky choices (holdout, split paths)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


@lru_cache(maxsize=512)
def zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, KeyError, OSError):
        return None


class StepContext:
    """What an executor gets for one enrollment at one node."""

    def __init__(self, run: Run, enrollment: AnyEnrollment, node: dict, version: CompiledVersion, wait_data: dict):
        self._run = run
        self.enrollment = enrollment
        self.customer_id: int = enrollment.customer_id
        self.node = node
        self.node_id: str = node["id"]
        self.config: dict = node.get("config") or {}
        self.version = version
        self.graph: dict = version.graph
        self.settings: dict = version.settings
        self.journey_id: int = enrollment.journey_id
        self.journey_name: str = run.journey_names.get(enrollment.journey_id, "")
        self.workspace_id: int = enrollment.workspace_id
        self.now: datetime = run.now
        self.step_seq: int = enrollment.step_seq
        self.holdout: bool = enrollment.holdout
        self.simulate: bool = run.simulate
        self.wait_data: dict = wait_data
        self.notes: dict = {}

    @property
    def customer(self) -> Customer:
        """The enrollment's customer, with profile changes made earlier in this run."""
        return self._run.customer(self.customer_id)

    # -- the trigger event and templates
    @property
    def event(self) -> dict:
        """The trigger event's properties (Liquid `event`)."""
        return (self.enrollment.context or {}).get("event") or {}

    @property
    def timezone(self) -> ZoneInfo:
        """The customer's timezone, else the workspace's, else UTC."""
        return (
            zone_or_none(self.customer.timezone)
            or zone_or_none(self._run.workspace_timezone(self.workspace_id))
            or ZoneInfo("UTC")
        )

    def liquid_context(self) -> dict:
        return liquid_context(
            customer=self.customer,
            event=self.event,
            journey={"id": self.journey_id, "name": self.journey_name},
            enrollment={"key": getattr(self.enrollment, "key", "")},
        )

    def render(self, source: str) -> str:
        return render_liquid(source, self.liquid_context())

    # -- conditions
    def facts(self):
        """The customer's condition facts (audiences.conditions.facts_for), loaded for the batch."""
        return self._run.facts_group(self.enrollment, self.version).get(self.customer_id)

    def matches(self, condition: dict) -> bool:
        return bool(evaluate(condition, self.facts(), now=self.now))

    def simulated_steps(self) -> list[dict]:
        """A simulation's steps so far, oldest first, each {"node_id", "kind", "handle", "at",
        "data"}: its sends are written nowhere, so a rule that counts earlier sends (the frequency
        cap) counts them here. Empty in a real run, whose sends are rows."""
        return self._run.step_log if self.simulate else []

    # -- effects
    def on_commit(self, fn: Callable[[], Any]) -> None:
        """Runs `fn` after the batch commits; in simulation it is recorded, never called."""
        self._run.effects.append(fn)

    def note(self, **data: Any) -> None:
        """Adds details to this step's StepEvent data and the simulation's step (e.g. the rendered
        message)."""
        self.notes.update(data)

    def update_customer(self, *, set: dict | None = None, unset: Iterable[str] = (),
                        add_tags: Iterable[str] = (), remove_tags: Iterable[str] = ()) -> None:
        """Changes the profile now (later nodes see it) and stores it with the batch."""
        self._run.patch_customer(self.customer, set or {}, list(unset), list(add_tags), list(remove_tags))
