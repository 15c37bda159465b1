"""The start node: where every enrollment enters (the entry rules live in the journey settings)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import unknown_keys
from .base import ConfigError, Next, NodeType, Result, register
from .describe import NEXT, NO_CONFIG, fixed


@register
class StartNode(NodeType):
    type = "start"
    label = "Trigger"
    category = "trigger"
    default_config: ClassVar[dict] = {}

    # GET /node-types
    icon = "GO"
    description = "Where customers enter (set the entry in Journey settings)"
    config_schema: ClassVar[dict] = NO_CONFIG
    outputs: ClassVar[list[dict]] = fixed(NEXT)

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        return unknown_keys(config, set())

    def execute(self, ctx) -> Result:
        return Next("next")
