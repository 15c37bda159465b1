"""The start node: where every enrollment enters (the entry rules live in the journey settings)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import unknown_keys
from .base import ConfigError, Next, NodeType, Result, register


@register
class StartNode(NodeType):
    type = "start"
    label = "Start"
    category = "trigger"
    default_config: ClassVar[dict] = {}

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        return unknown_keys(config, set())

    def handles(self, config: dict[str, Any]) -> list[str]:
        return ["next"]

    def execute(self, ctx) -> Result:
        return Next("next")
