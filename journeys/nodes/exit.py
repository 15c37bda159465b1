"""The exit node: the enrollment completes here; it has no outputs."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import unknown_keys
from .base import Complete, ConfigError, NodeType, Result, register


@register
class ExitNode(NodeType):
    type = "exit"
    label = "Exit"
    category = "exit"
    default_config: ClassVar[dict] = {}

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        return unknown_keys(config, set())

    def handles(self, config: dict[str, Any]) -> list[str]:
        return []

    def execute(self, ctx) -> Result:
        return Complete()
