"""What an executor sees of the engine: the StepContext of one enrollment at one node, the Wake
that resumes a wait, and the small helpers node types share (sticky buckets, timezones)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from audiences.conditions import evaluate
from audiences.models import Customer
from templating import liquid_context, render_liquid
from templating.context import customer_liquid
from templating.sandbox import MAX_OUTPUT_CHARS

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


# Text with `{{ root.key… }}` outputs and nothing else of Liquid: no filters, tags, whitespace
# control or comments. Such a template prints its text with each value in place, which a string
# value prints as itself, so it needs neither the parser nor the full context (a keyed journey's
# "{{ enrollment.key }}" is a new value, and so a new render, for every pass).
_PLAIN_OUTPUT = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*\}\}")
_plain_templates: dict[str, tuple | None] = {}


def plain_template(source: str) -> tuple | None:
    """`source` as alternating text and variable paths (text first and last), or None when it
    holds anything else of Liquid; remembered per source."""
    if source in _plain_templates:
        return _plain_templates[source]
    parts: list = []
    pos = 0
    for match in _PLAIN_OUTPUT.finditer(source):
        parts += [source[pos : match.start()], tuple(match.group(1).split("."))]
        pos = match.end()
    parts.append(source[pos:])
    texts = parts[::2]
    plain = all("{{" not in t and "{%" not in t and "{#" not in t for t in texts) and all(
        path[0] in _LIQUID_ROOTS for path in parts[1::2]
    )
    if len(_plain_templates) > 2000:
        _plain_templates.clear()
    found = _plain_templates[source] = tuple(parts) if plain else None
    return found


# Each top-level object of StepContext.liquid_context(), built alone (plain templates read one or two).
_LIQUID_ROOTS: dict[str, Callable[[StepContext], dict]] = {
    "customer": lambda ctx: customer_liquid(ctx.customer),
    "event": lambda ctx: ctx.event,
    "journey": lambda ctx: {"id": ctx.journey_id, "name": ctx.journey_name},
    "enrollment": lambda ctx: {"key": getattr(ctx.enrollment, "key", "")},
}


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
        parts = plain_template(source)
        if parts is not None and (text := self._render_plain(parts)) is not None:
            return text
        return render_liquid(source, self.liquid_context())

    def _liquid_root(self, name: str) -> dict:
        """One top-level object of liquid_context(), built alone."""
        return _LIQUID_ROOTS[name](self)

    def _render_plain(self, parts: tuple) -> str | None:
        """A plain template (plain_template) printed when every value it reads is a string (what
        Liquid prints as is); None otherwise (absent, a number, a list: Liquid's own rules then)."""
        roots: dict[str, dict] = {}
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            path = parts[i]
            value: Any = roots.get(path[0])
            if value is None:
                value = roots[path[0]] = self._liquid_root(path[0])
            for key in path[1:]:
                value = value.get(key) if isinstance(value, dict) else None
            if type(value) is not str:
                return None
            out += [value, parts[i + 1]]
        text = "".join(out)
        return text if len(text) <= MAX_OUTPUT_CHARS else None  # past it: the sandbox's error

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
