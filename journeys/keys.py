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
