"""Validation of a journey's settings (API.md "Settings"): every problem at once, each with a
field path such as "settings.entry.events.0.name"; never raises for any JSON input."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime

from audiences.models import CustomerList, Segment

from .fields import (
    condition_errors,
    duration_errors,
    event_name_errors,
    is_int,
    is_number,
    nonempty_str,
    time_errors,
    unique_ids_errors,
    unknown_keys,
    validating_for,
    where_errors,
)
from .keys import MAX_KEY_LENGTH, entry_key_property, without_same_key
from .nodes.base import ConfigError

MAX_ENTRY_EVENTS = 10  # API.md: "≤ 10 events"
MAX_HOLDOUT_PERCENT = 50
ENTRY_TYPES = ("event", "segment", "list", "all", "api", "date_attribute")
RE_ENTRY_POLICIES = ("never", "always", "after")
SETTINGS_KEYS = {
    "entry",
    "audience",
    "window",
    "re_entry",
    "exit_conditions",
    "goals",
    "frequency_cap",
    "quiet_hours",
    "holdout",
}
# What a new journey starts with: entered through the API only, once per customer.
DEFAULT_SETTINGS: dict = {
    "entry": {"type": "api"},
    "audience": None,
    "window": None,
    "re_entry": {"policy": "never"},
    "exit_conditions": [],
    "goals": [],
    "frequency_cap": None,
    "quiet_hours": None,
    "holdout": None,
}


def _owned_id_errors(model, value: Any, field: str, workspace, what: str) -> list[ConfigError]:
    """A segment or list id must name a row of the journey's own workspace (never a link to
    another tenant's: STYLE.md "Scope related fields too")."""
    if not is_int(value):
        return [ConfigError(field, f"A {what} id is required.")]
    if workspace is None or not model.objects.for_workspace(workspace).filter(pk=value).exists():
        return [ConfigError(field, f"No {what} with id {value} in this workspace.")]
    return []


def _entry_errors(entry: Any, workspace) -> list[ConfigError]:
    f = "settings.entry"
    if not isinstance(entry, dict):
        return [ConfigError(f, "An entry rule is required.")]
    kind = entry.get("type")
    if kind not in ENTRY_TYPES:
        return [ConfigError(f"{f}.type", f"Must be one of {', '.join(ENTRY_TYPES)}.")]
    if kind == "event":
        errors = unknown_keys(entry, {"type", "events", "key"}, f)
        errors += _entry_key_errors(entry.get("key"), f"{f}.key")
        events = entry.get("events")
        if not isinstance(events, list) or not events:
            return [*errors, ConfigError(f"{f}.events", "At least one entry event is required.")]
        if len(events) > MAX_ENTRY_EVENTS:
            errors.append(ConfigError(f"{f}.events", f"At most {MAX_ENTRY_EVENTS} entry events."))
        for i, event in enumerate(events):
            if not isinstance(event, dict):
                errors.append(ConfigError(f"{f}.events.{i}", 'Must be {"name", "where"?}.'))
                continue
            errors += unknown_keys(event, {"name", "where"}, f"{f}.events.{i}")
            errors += event_name_errors(event.get("name"), f"{f}.events.{i}.name")
            errors += where_errors(event.get("where"), f"{f}.events.{i}.where")
        return errors
    if kind == "segment":
        errors = unknown_keys(entry, {"type", "segment_id", "condition", "recurring"}, f)
        if ("segment_id" in entry) == ("condition" in entry):
            errors.append(ConfigError(f, "Give either segment_id or condition."))
        elif "segment_id" in entry:
            errors += _owned_id_errors(
                Segment, entry["segment_id"], f"{f}.segment_id", workspace, "segment"
            )
        else:
            errors += condition_errors(entry["condition"], f"{f}.condition", in_journey=False)
        if "recurring" in entry and not isinstance(entry["recurring"], bool):
            errors.append(ConfigError(f"{f}.recurring", "Must be true or false."))
        return errors
    if kind == "list":
        errors = unknown_keys(entry, {"type", "list_id"}, f)
        return errors + _owned_id_errors(
            CustomerList, entry.get("list_id"), f"{f}.list_id", workspace, "list"
        )
    if kind == "date_attribute":
        errors = unknown_keys(entry, {"type", "attribute", "offset_days", "time"}, f)
        if not nonempty_str(entry.get("attribute")):
            errors.append(
                ConfigError(f"{f}.attribute", "The date attribute (e.g. birthday) is required.")
            )
        offset = entry.get("offset_days", 0)
        if not is_int(offset) or not -365 <= offset <= 365:
            errors.append(
                ConfigError(f"{f}.offset_days", "Must be a whole number of days from -365 to 365.")
            )
        if "time" in entry:
            errors += time_errors(entry["time"], f"{f}.time")
        return errors
    return unknown_keys(entry, {"type"}, f)  # all, api


def _window_errors(window: Any) -> list[ConfigError]:
    f = "settings.window"
    if window is None:
        return []
    if not isinstance(window, dict):
        return [ConfigError(f, 'Must be {"start_at"?, "end_at"?} or null.')]
    errors = unknown_keys(window, {"start_at", "end_at"}, f)
    bounds = {}
    for key in ("start_at", "end_at"):
        value = window.get(key)
        if value is None:
            continue
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            errors.append(
                ConfigError(f"{f}.{key}", "Must be an ISO-8601 date-time with a time zone.")
            )
        else:
            bounds[key] = parsed
    if len(bounds) == 2 and bounds["end_at"] <= bounds["start_at"]:
        errors.append(ConfigError(f"{f}.end_at", "Must be after start_at."))
    return errors


def _re_entry_errors(re_entry: Any) -> list[ConfigError]:
    f = "settings.re_entry"
    if re_entry is None:
        return []
    if not isinstance(re_entry, dict):
        return [ConfigError(f, 'Must be {"policy", "cooldown"?}.')]
    errors = unknown_keys(re_entry, {"policy", "cooldown"}, f)
    policy = re_entry.get("policy")
    if policy not in RE_ENTRY_POLICIES:
        errors.append(ConfigError(f"{f}.policy", f"Must be one of {', '.join(RE_ENTRY_POLICIES)}."))
    elif policy == "after":
        errors += duration_errors(re_entry.get("cooldown"), f"{f}.cooldown")
    elif "cooldown" in re_entry:
        errors.append(
            ConfigError(f"{f}.cooldown", 'A cooldown applies only to the policy "after".')
        )
    return errors


def _goal_errors(goals: Any) -> list[ConfigError]:
    f = "settings.goals"
    if goals is None:
        return []
    if not isinstance(goals, list):
        return [ConfigError(f, "Must be a list of goals.")]
    errors = unique_ids_errors(goals, f)
    for i, goal in enumerate(goals):
        if not isinstance(goal, dict):
            continue
        errors += unknown_keys(goal, {"id", "name", "condition", "exit", "window", "value", "same_key"}, f"{f}.{i}")
        if "same_key" in goal and not isinstance(goal["same_key"], bool):
            errors.append(ConfigError(f"{f}.{i}.same_key", "Must be true or false."))
        if not nonempty_str(goal.get("name")):
            errors.append(ConfigError(f"{f}.{i}.name", "A goal needs a name."))
        errors += condition_errors(goal.get("condition"), f"{f}.{i}.condition")
        if "exit" in goal and not isinstance(goal["exit"], bool):
            errors.append(ConfigError(f"{f}.{i}.exit", "Must be true or false."))
        if "window" in goal:
            errors += duration_errors(goal["window"], f"{f}.{i}.window")
        value = goal.get("value")
        if "value" in goal and not (
            isinstance(value, dict) and set(value) == {"property"} and nonempty_str(value.get("property"))
        ):
            errors.append(ConfigError(f"{f}.{i}.value", 'Must be {"property": "<event property>"}.'))
    return errors


def _frequency_cap_errors(cap: Any) -> list[ConfigError]:
    f = "settings.frequency_cap"
    if cap is None:
        return []
    if not isinstance(cap, dict):
        return [ConfigError(f, 'Must be {"max", "per"} or null.')]
    errors = unknown_keys(cap, {"max", "per"}, f)
    if not is_int(cap.get("max")) or cap["max"] < 1:
        errors.append(ConfigError(f"{f}.max", "Must be a whole number of at least 1."))
    return errors + duration_errors(cap.get("per"), f"{f}.per")


def _quiet_hours_errors(quiet: Any) -> list[ConfigError]:
    f = "settings.quiet_hours"
    if quiet is None:
        return []
    if not isinstance(quiet, dict):
        return [ConfigError(f, 'Must be {"start": "HH:MM", "end": "HH:MM"} or null.')]
    errors = unknown_keys(quiet, {"start", "end"}, f)
    errors += time_errors(quiet.get("start"), f"{f}.start") + time_errors(
        quiet.get("end"), f"{f}.end"
    )
    if not errors and quiet["start"] == quiet["end"]:
        errors.append(
            ConfigError(f"{f}.end", "Quiet hours must not start and end at the same time.")
        )
    return errors


def _holdout_errors(holdout: Any) -> list[ConfigError]:
    f = "settings.holdout"
    if holdout is None:
        return []
    if not isinstance(holdout, dict):
        return [ConfigError(f, 'Must be {"percent"} or null.')]
    errors = unknown_keys(holdout, {"percent"}, f)
    percent = holdout.get("percent")
    if not is_number(percent) or not 0 <= percent <= MAX_HOLDOUT_PERCENT:
        errors.append(
            ConfigError(f"{f}.percent", f"Must be a number from 0 to {MAX_HOLDOUT_PERCENT}.")
        )
    return errors


def settings_validate(*, settings: Any, workspace) -> list[ConfigError]:
    """Every problem with a journey's settings; ids are checked against `workspace`."""
    if not isinstance(settings, dict):
        return [ConfigError("settings", "The settings must be an object.")]
    with validating_for(workspace):
        errors = unknown_keys(settings, SETTINGS_KEYS, "settings")
        errors += _entry_errors(settings.get("entry"), workspace)
        if settings.get("audience") is not None:
            errors += condition_errors(settings["audience"], "settings.audience", in_journey=False)
        errors += _window_errors(settings.get("window"))
        errors += _re_entry_errors(settings.get("re_entry"))
        exit_conditions = settings.get("exit_conditions")
        if exit_conditions is not None and not isinstance(exit_conditions, list):
            errors.append(ConfigError("settings.exit_conditions", "Must be a list of conditions."))
        elif exit_conditions:
            keyed = bool(entry_key_property(settings))
            for i, condition in enumerate(exit_conditions):
                errors += _same_key_errors(condition, keyed, f"settings.exit_conditions.{i}")
                errors += condition_errors(without_same_key(condition), f"settings.exit_conditions.{i}")
        errors += _goal_errors(settings.get("goals"))
        errors += _frequency_cap_errors(settings.get("frequency_cap"))
        errors += _quiet_hours_errors(settings.get("quiet_hours"))
        errors += _holdout_errors(settings.get("holdout"))
    return errors


# ---- Keyed journeys -------------------------------------------------------------------------
def _entry_key_errors(key: Any, f: str) -> list[ConfigError]:
    if key is None:
        return []
    if not isinstance(key, dict):
        return [ConfigError(f, 'Must be {"property": name}.')]
    errors = unknown_keys(key, {"property"}, f)
    prop = key.get("property")
    if not isinstance(prop, str) or not prop.strip() or len(prop) > MAX_KEY_LENGTH:
        errors.append(ConfigError(f"{f}.property", f"Must be a property name (1–{MAX_KEY_LENGTH} characters)."))
    return errors


def _same_key_errors(condition: Any, keyed: bool, f: str) -> list[ConfigError]:
    if not isinstance(condition, dict) or "same_key" not in condition:
        return []
    if not isinstance(condition["same_key"], bool):
        return [ConfigError(f"{f}.same_key", "Must be true or false.")]
    if condition["same_key"] and not keyed:
        return [ConfigError(f"{f}.same_key", "Only for journeys whose entry event has a key.")]
    if condition["same_key"] and "event" not in condition:
        return [ConfigError(f"{f}.same_key", "Only on an event condition.")]
    return []
