"""The node-type contract: each node type is one module declaring its config rules, its output
handles and how it executes. Modules register themselves in REGISTRY; channel node types
(message, webhook) register from channels_app, so the engine never imports channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class ConfigError:
    """One problem with a node's config; `field` is a dotted path inside config ("paths.1.percent")."""

    field: str
    message: str


# ---- What an executor returns (ARCHITECTURE.md "Execution") --------------------------------
@dataclass(frozen=True)
class Next:
    """Leave the node through `handle` (an unconnected handle completes the journey)."""

    handle: str


@dataclass(frozen=True)
class Wait:
    """Park at the node. Wakes at `until` (timer) and/or when an event named `event` (matching
    `where`) arrives; `resume` runs then. `data` is kept for `resume` (e.g. which handle a
    timeout takes)."""

    until: datetime | None = None
    event: str | None = None
    where: list[dict] | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Exit:
    """Leave the journey early, recording `reason`."""

    reason: str


@dataclass(frozen=True)
class Complete:
    """Finish the journey here (the exit node)."""


@dataclass(frozen=True)
class Fail:
    """The enrollment cannot go on (a bug or corrupt state, not a failed send: that is Next("failed"))."""

    reason: str


Result = Next | Wait | Exit | Complete | Fail


class NodeType:
    """Subclass per node type; set `type`, implement `validate` and `handles`, and the engine's
    `execute` (and `resume` for types that wait)."""

    type: ClassVar[str]
    label: ClassVar[str] = ""
    # Category for the canvas palette: trigger, channel, flow, action, exit.
    category: ClassVar[str] = "flow"
    # True for types that send to the customer (skipped for holdout customers).
    sends_messages: ClassVar[bool] = False

    # ---- How GET /node-types describes the type to the canvas (see describe.py) ----
    icon: ClassVar[str] = ""  # the monogram the canvas draws on the node
    description: ClassVar[str] = ""  # one line: what the step does (palette tooltip)
    config_schema: ClassVar[dict] = {"type": "object"}  # JSON Schema of `config`
    outputs: ClassVar[list[dict]] = [{"handles": [{"id": "next", "label": "Next"}]}]
    default_config: ClassVar[dict] = {}
    # Palette entries when one type is offered several ways (a message per channel); else one.
    presets: ClassVar[list[dict]] = []

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        """Every problem with `config`, at once. Must never raise for any JSON input."""
        return []

    def link_errors(self, config: dict[str, Any]) -> list[ConfigError]:
        """Problems refused even in a draft: ids in `config` that are not rows the journey may
        link to (another workspace's). Reads the workspace from `fields.current_workspace()`."""
        return []

    def handles(self, config: dict[str, Any]) -> list[str]:
        """The output handles, which may depend on config (branch groups, split paths, await)."""
        from .describe import handles_from_outputs

        return handles_from_outputs(self.outputs, config)

    def fallthrough(self, config: dict[str, Any]) -> dict[str, str]:
        """Handle → the handle taken instead when it has no edge (`unconnected` in `outputs`)."""
        from .describe import fallthrough_from_outputs

        return fallthrough_from_outputs(self.outputs, config)

    def conditions(self, config: dict[str, Any]) -> list[dict]:
        """The conditions (audiences.conditions) a node with this config evaluates through
        `ctx.matches`: the engine loads their facts once per batch, with the journey's exit
        conditions and goals, instead of once per customer."""
        return []

    def execute(self, ctx) -> Result:  # ctx: journeys.engine.StepContext
        raise NotImplementedError(f"node type {self.type!r} has no executor")

    def resume(self, ctx, wake) -> Result:
        """Called when a Wait ends; `wake` says why (timer or the event that arrived)."""
        raise NotImplementedError(f"node type {self.type!r} does not wait")


REGISTRY: dict[str, NodeType] = {}


def register(cls: type[NodeType]) -> type[NodeType]:
    if cls.type in REGISTRY:
        raise ValueError(f"node type {cls.type!r} registered twice")
    REGISTRY[cls.type] = cls()
    return cls


def get_node_type(type_name: str) -> NodeType | None:
    return REGISTRY.get(type_name)
