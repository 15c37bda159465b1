"""The exit node: the enrollment completes here; it has no outputs."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import unknown_keys
from .base import Complete, ConfigError, NodeType, Result, register
from .describe import NO_CONFIG, fixed


@register
class ExitNode(NodeType):
    type = "exit"
    label = "Exit"
    category = "exit"
    default_config: ClassVar[dict] = {}

    # GET /node-types
    icon = "EX"
    description = "End the journey here"
    config_schema: ClassVar[dict] = NO_CONFIG
    outputs: ClassVar[list[dict]] = fixed()

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        return unknown_keys(config, set())

    def execute(self, ctx) -> Result:
        return Complete()
