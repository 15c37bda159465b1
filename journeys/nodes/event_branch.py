"""The event branch: did the customer do `event` (matching `where`) within a duration or since
entering the journey? Config: {"event", "where"?, "within": DURATION | "since_entry",
"same_key"?: bool (keyed journeys: only events carrying the pass's key)}. Handles: `yes`, `no`."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import duration_errors, event_name_errors, unknown_keys, where_errors
from ..keys import PROPERTIES_LOADER, same_key_where
from .base import ConfigError, Next, NodeType, Result, register
from .describe import DURATION, WHERE, fixed, object_schema

SINCE_ENTRY = "since_entry"


@register
class EventBranchNode(NodeType):
    type = "event_branch"
    label = "Event branch"
    category = "flow"
    default_config: ClassVar[dict] = {"event": "", "within": SINCE_ENTRY}

    # GET /node-types
    icon = "EV"
    description = "Did the customer do an event?"
    config_schema: ClassVar[dict] = object_schema(
        {
            "event": {"type": "string", "minLength": 1, "title": "Event name"},
            "where": WHERE,
            "within": {"title": "Looking back", "anyOf": [{"const": SINCE_ENTRY}, DURATION]},
            "same_key": {"type": "boolean", "title": "Only events with this pass's key"},
        },
        ("event", "within"),
    )
    outputs: ClassVar[list[dict]] = fixed({"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"})

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        errors = unknown_keys(config, {"event", "where", "within", "same_key"})
        if config.get("same_key") is not None and not isinstance(config["same_key"], bool):
            errors.append(ConfigError("same_key", "Must be true or false."))
        errors += event_name_errors(config.get("event"), "event")
        errors += where_errors(config.get("where"), "where")
        within = config.get("within")
        if within != SINCE_ENTRY:
            if within is None:
                errors.append(ConfigError("within", 'Required: a duration or "since_entry".'))
            else:
                errors += duration_errors(within, "within")
        return errors

    def conditions(self, config: dict[str, Any]) -> list[dict]:
        where = [*(config.get("where") or []), PROPERTIES_LOADER] if config.get("same_key") else None
        return [event_branch_condition(config, where)]

    def execute(self, ctx) -> Result:
        where = same_key_where(ctx, ctx.config.get("where")) if ctx.config.get("same_key") else None
        return Next("yes" if ctx.matches(event_branch_condition(ctx.config, where)) else "no")


def event_branch_condition(config: dict, where: list | None = None) -> dict:
    """An event_branch's question as a condition of the condition language (`where` replaces the
    config's, with the pass's key filter)."""
    condition: dict = {"event": config.get("event"), "within": config.get("within", "since_entry")}
    where = where if where is not None else config.get("where")
    if where:
        condition["where"] = where
    return condition
