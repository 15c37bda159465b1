"""The update-profile node: set (values may be Liquid), unset attributes, add or remove tags.

Config: {"set"?: {attr: value}, "unset"?: [attr], "add_tags"?: [tag], "remove_tags"?: [tag]};
at least one change. Handles: `next`."""

from __future__ import annotations

from typing import Any, ClassVar

from liquid.exceptions import LiquidError

from templating import has_liquid, template_error

from ..fields import nonempty_str, unknown_keys
from . import describe
from .base import ConfigError, Fail, Next, NodeType, Result, register

MAX_NAME = 100  # Customer.tags entries are varchar(100); attribute names follow suit


def _names_errors(value: Any, field: str, what: str) -> list[ConfigError]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [ConfigError(field, f"Must be a list of {what}s.")]
    return [
        ConfigError(f"{field}.{i}", f"Must be a {what} of 1–{MAX_NAME} characters.")
        for i, name in enumerate(value)
        if not nonempty_str(name) or len(name) > MAX_NAME
    ]


@register
class UpdateProfileNode(NodeType):
    type = "update_profile"
    label = "Update profile / tag"
    category = "action"
    default_config: ClassVar[dict] = {"set": {}}

    # GET /node-types
    icon = "UP"
    description = "Set attributes, add or remove tags"
    config_schema: ClassVar[dict] = describe.object_schema(
        {
            "set": {"type": "object", "title": "Set attributes"},
            "unset": {"type": "array", "items": {"type": "string"}, "title": "Unset attributes"},
            "add_tags": {"type": "array", "items": {"type": "string"}, "title": "Add tags"},
            "remove_tags": {"type": "array", "items": {"type": "string"}, "title": "Remove tags"},
        },
        minProperties=1,
    )

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        errors = unknown_keys(config, {"set", "unset", "add_tags", "remove_tags"})
        to_set = config.get("set")
        if to_set is not None and not isinstance(to_set, dict):
            errors.append(ConfigError("set", "Must be an object of attribute → value."))
        elif to_set:
            for name, value in to_set.items():
                if not name.strip() or len(name) > MAX_NAME:
                    errors.append(ConfigError(f"set.{name}", f"Attribute names are 1–{MAX_NAME} characters."))
                elif isinstance(value, str) and has_liquid(value) and (problem := template_error(value)):
                    errors.append(ConfigError(f"set.{name}", problem))
        errors += _names_errors(config.get("unset"), "unset", "attribute name")
        errors += _names_errors(config.get("add_tags"), "add_tags", "tag")
        errors += _names_errors(config.get("remove_tags"), "remove_tags", "tag")
        if not errors:
            if isinstance(to_set, dict) and set(to_set) & set(config.get("unset") or []):
                errors.append(ConfigError("unset", "An attribute cannot be both set and unset."))
            if set(config.get("add_tags") or []) & set(config.get("remove_tags") or []):
                errors.append(ConfigError("remove_tags", "A tag cannot be both added and removed."))
            if not any(config.get(key) for key in ("set", "unset", "add_tags", "remove_tags")):
                errors.append(ConfigError("set", "Set, unset, add or remove at least one thing."))
        return errors

    def execute(self, ctx) -> Result:
        to_set = ctx.config.get("set") or {}
        try:
            # ctx.render: the engine's memoized render through the sandboxed environment
            # (bounded loops, output and CPU time); text without Liquid markup is never parsed.
            values = {
                name: ctx.render(value) if isinstance(value, str) and has_liquid(value) else value
                for name, value in to_set.items()
            }
        except LiquidError as exc:
            # A template that hits a sandbox limit (loop, output, nesting) or reads a file fails
            # this enrollment with the reason; nothing of the profile is changed.
            return Fail(f"liquid: {getattr(exc, 'message', None) or exc}"[:64])
        ctx.update_customer(
            set=values,
            unset=ctx.config.get("unset") or [],
            add_tags=ctx.config.get("add_tags") or [],
            remove_tags=ctx.config.get("remove_tags") or [],
        )
        ctx.note(set=values)
        return Next("next")
