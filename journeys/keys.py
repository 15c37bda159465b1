"""Keyed journeys: an event entry's key property (a cart id) makes each value its own pass; these
read the key from settings and events, for entries, the engine and validation alike."""

from __future__ import annotations

from typing import Any

MAX_KEY_LENGTH = 200  # Enrollment.key


def entry_key_property(settings: dict | None) -> str | None:
    """The event property whose value keys a pass ({"entry": {"type": "event", "key": {"property"}}})."""
    entry = (settings or {}).get("entry") or {}
    key = entry.get("key") if isinstance(entry, dict) and entry.get("type") == "event" else None
    prop = key.get("property") if isinstance(key, dict) else None
    return prop if isinstance(prop, str) and prop else None


def key_of(properties: Any, prop: str) -> str | None:
    """An event's key: its `prop` value as text (numbers too); None when absent, not a scalar or
    too long to store."""
    value = properties.get(prop) if isinstance(properties, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    return text if text and len(text) <= MAX_KEY_LENGTH else None


def without_same_key(condition: Any) -> Any:
    """The condition as the condition language reads it (`same_key` is the journey's own flag)."""
    if isinstance(condition, dict) and "same_key" in condition:
        return {k: v for k, v in condition.items() if k != "same_key"}
    return condition


# A where clause that makes the facts load an event's properties (facts_for reads them only for
# event names some clause filters on) when the real key filter is known only per enrollment.
PROPERTIES_LOADER = {"property": "", "op": "exists"}


def key_filter(prop: str, key: str) -> dict:
    """The where clause an event must meet to carry `key` in `prop` (a numeric key also matches
    the number, as key_of writes 7 as "7")."""
    values: list = [key]
    try:
        number = float(key)
    except ValueError:
        number = None
    if number is not None and number == number and abs(number) != float("inf"):
        values.append(int(number) if number.is_integer() else number)
    return {"property": prop, "op": "in", "value": values}


def same_key_where(ctx, where: list | None) -> list | None:
    """A node's `where` plus its enrollment's key filter (`same_key` in a keyed journey)."""
    prop = entry_key_property(ctx.version.settings)
    key = getattr(ctx.enrollment, "key", "")
    if not prop or not key:
        return where
    return [*(where or []), key_filter(prop, key)]
