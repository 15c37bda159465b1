"""The branch node: groups of conditions checked in order, the first match wins, else `else`.

Config: {"groups": [{"id", "name", "condition": C}, …]}. Handles: each group id, then `else`."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import condition_errors, unique_ids_errors, unknown_keys
from .base import ConfigError, Next, NodeType, Result, register
from .describe import CONDITION, named_items

ELSE = "else"


@register
class BranchNode(NodeType):
    type = "branch"
    label = "User branch"
    category = "flow"
    default_config: ClassVar[dict] = {"groups": [{"id": "group_1", "name": "Group 1", "condition": {"all": []}}]}

    # GET /node-types
    icon = "BR"
    description = "Split by profile attributes, first matching group wins"
    config_schema: ClassVar[dict] = named_items("groups", "Groups", 1, {"condition": CONDITION}, ("condition",))
    outputs: ClassVar[list[dict]] = [
        {"handles": [{"each": "groups", "skip": [ELSE]}, {"id": ELSE, "label": "Everyone else"}]}
    ]

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        errors = unknown_keys(config, {"groups"})
        groups = config.get("groups")
        if not isinstance(groups, list) or not groups:
            return [*errors, ConfigError("groups", "At least one group is required.")]
        errors += unique_ids_errors(groups, "groups", reserved=(ELSE,))
        for i, group in enumerate(groups):
            if not isinstance(group, dict):
                continue
            errors += unknown_keys(group, {"id", "name", "condition"}, f"groups.{i}")
            if "name" in group and not isinstance(group["name"], str):
                errors.append(ConfigError(f"groups.{i}.name", "Must be a string."))
            errors += condition_errors(group.get("condition"), f"groups.{i}.condition")
        return errors

    def conditions(self, config: dict[str, Any]) -> list[dict]:
        return [g.get("condition") for g in config.get("groups") or [] if isinstance(g, dict)]

    def execute(self, ctx) -> Result:
        for group in ctx.config.get("groups") or []:
            if ctx.matches(group["condition"]):
                return Next(group["id"])
        return Next(ELSE)
