"""Validators for the value shapes shared by node configs and journey settings: DURATION,
"HH:MM" times, conditions and event `where` filters. Each returns ConfigError(field, message)
with `field` a dotted path, and never raises for any JSON input."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

DURATION_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
# Ten years: longer waits are typos, and they would overflow datetime arithmetic.
MAX_DURATION_SECONDS = 10 * 365 * 86400
TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The workspace whose journey is being validated. Node types' `validate(config)` has no
# workspace argument (the contract in nodes/base.py), yet a condition's {"segment": id} or
# {"list": id} must belong to the journey's workspace; graph validation sets this around its run.
_validation_workspace: ContextVar[Any] = ContextVar("journey_validation_workspace", default=None)
# The journey itself (None while creating one): a `journey` node must not hand off to it.
_validation_journey_id: ContextVar[int | None] = ContextVar("journey_validation_id", default=None)


@contextmanager
def validating_for(workspace, journey_id: int | None = None) -> Iterator[None]:
    token = _validation_workspace.set(workspace)
    journey_token = _validation_journey_id.set(journey_id)
    try:
        yield
    finally:
        _validation_journey_id.reset(journey_token)
        _validation_workspace.reset(token)


def current_workspace():
    return _validation_workspace.get()


def current_journey_id() -> int | None:
    return _validation_journey_id.get()


def join(prefix: str, name: str | int) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def unknown_keys(config: dict, allowed: set[str], prefix: str = "") -> list[ConfigError]:
    return [
        ConfigError(join(prefix, key), f"Unknown field {key!r}.")
        for key in config
        if key not in allowed
    ]


def duration_errors(
    value: Any, field: str, *, required: bool = True, signed: bool = False
) -> list[ConfigError]:
    """DURATION = {"value": positive integer, "unit": seconds|minutes|hours|days|weeks}; with
    `signed` the value may be negative (an offset before a date)."""
    if value is None:
        return [ConfigError(field, "A duration is required.")] if required else []
    if not isinstance(value, dict):
        return [ConfigError(field, 'Must be a duration {"value", "unit"}.')]
    errors = unknown_keys(value, {"value", "unit"}, field)
    amount, unit = value.get("value"), value.get("unit")
    if signed and not is_int(amount):
        errors.append(ConfigError(join(field, "value"), "Must be a whole number."))
    elif not signed and (not is_int(amount) or amount <= 0):
        errors.append(ConfigError(join(field, "value"), "Must be a positive whole number."))
    if unit not in DURATION_UNITS:
        errors.append(
            ConfigError(join(field, "unit"), f"Must be one of {', '.join(DURATION_UNITS)}.")
        )
    elif is_int(amount) and abs(amount) * DURATION_UNITS[unit] > MAX_DURATION_SECONDS:
        errors.append(ConfigError(join(field, "value"), "Must be at most ten years."))
    return errors


def duration_seconds(value: dict) -> int:
    """A validated DURATION in seconds."""
    return value["value"] * DURATION_UNITS[value["unit"]]


def time_errors(value: Any, field: str) -> list[ConfigError]:
    if not isinstance(value, str) or not TIME_RE.match(value):
        return [ConfigError(field, 'Must be a time "HH:MM" (00:00–23:59).')]
    return []


def condition_errors(condition: Any, field: str, *, in_journey: bool = True) -> list[ConfigError]:
    """A condition (API.md "The condition language"), its segment/list ids checked against the
    workspace being validated."""
    from audiences.conditions import validate_condition  # the audiences app owns the language

    if condition is None:
        return [ConfigError(field, "A condition is required.")]
    problems = validate_condition(condition, in_journey=in_journey, workspace=current_workspace())
    return [ConfigError(join(field, p.field) if p.field else field, p.message) for p in problems]


def where_errors(where: Any, field: str) -> list[ConfigError]:
    """An event's property filters, [{"property", "op", "value"}], by the condition language's rules."""
    from audiences.conditions import where_errors as condition_where_errors

    return [ConfigError(p.field or field, p.message) for p in condition_where_errors(where, field)]


def event_name_errors(value: Any, field: str) -> list[ConfigError]:
    if not nonempty_str(value):
        return [ConfigError(field, "An event name is required.")]
    if len(value) > 200:  # Event.name's column width
        return [ConfigError(field, "Must be at most 200 characters.")]
    return []


def unique_ids_errors(
    items: list, field: str, *, reserved: tuple[str, ...] = ()
) -> list[ConfigError]:
    """Each item is a dict with a non-empty string `id`, unique in the list."""
    errors, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(ConfigError(join(field, i), "Must be an object."))
            continue
        item_id = item.get("id")
        if not nonempty_str(item_id) or len(item_id) > 100:
            errors.append(
                ConfigError(join(field, f"{i}.id"), "An id (1–100 characters) is required.")
            )
        elif item_id in reserved:
            errors.append(ConfigError(join(field, f"{i}.id"), f"{item_id!r} is reserved."))
        elif item_id in seen:
            errors.append(ConfigError(join(field, f"{i}.id"), f"Duplicate id {item_id!r}."))
        else:
            seen.add(item_id)
    return errors


# Imported last on purpose: importing journeys.nodes runs every node module, and those import
# this one; by now every name they need is defined, so either import order works.
from .nodes.base import ConfigError  # noqa: E402
