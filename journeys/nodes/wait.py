"""The wait node: a fixed duration, until a time of day (customer tz, optional weekdays), until an
event arrives with a timeout, or until a date read from the profile or the trigger event.

Config: {"mode": "duration", "duration": DURATION}
      | {"mode": "until", "time": "HH:MM", "days"?: ["mon", …, "sun"]}
      | {"mode": "event", "event": name, "where"?: [filters], "timeout": DURATION}
      | {"mode": "date", "attribute": A | "event_property": P, "offset"?: ±DURATION, "time"?: "HH:MM"}
Handles: `next`; event mode: `event` (it arrived) and `timeout`; date mode: `next` and `missed`
(the value is absent, unreadable or already past). A date-mode wait on an attribute is re-read
when the customer's profile changes (journeys/triggers.customers_changed): a moved appointment
moves the wake-up."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from django.utils.dateparse import parse_date, parse_datetime

from ..fields import (
    TIME_RE,
    WEEKDAYS,
    duration_errors,
    duration_seconds,
    event_name_errors,
    nonempty_str,
    time_errors,
    unknown_keys,
    where_errors,
)
from ..keys import same_key_where
from .base import ConfigError, Next, NodeType, Result, Wait, register
from .describe import DURATION, NEXT, WHERE, object_schema

MODES = ("duration", "until", "event", "date")
# Wait.data of a date-mode wait on a profile attribute; customers_changed finds these waits by it.
DATE_ATTRIBUTE_KEY = "date_attribute"
SIGNED_DURATION = {
    **DURATION,
    "properties": {**DURATION["properties"], "value": {"type": "integer", "title": "Amount (negative: before)"}},
}


@register
class WaitNode(NodeType):
    type = "wait"
    label = "Wait"
    category = "flow"
    default_config: ClassVar[dict] = {"mode": "duration", "duration": {"value": 1, "unit": "days"}}

    # GET /node-types
    icon = "WT"
    description = "Wait a while or until a time of day"
    config_schema: ClassVar[dict] = object_schema(
        {
            "mode": {"enum": list(MODES), "title": "Wait"},
            "duration": {**DURATION, "title": "Duration"},
            "time": {"type": "string", "pattern": TIME_RE.pattern, "title": "Time (customer's time zone)"},
            "days": {"type": "array", "minItems": 1, "items": {"enum": list(WEEKDAYS)}, "title": "On days"},
            "event": {"type": "string", "minLength": 1, "title": "Event name"},
            "where": WHERE,
            "timeout": {**DURATION, "title": "Give up after"},
            "attribute": {"type": "string", "minLength": 1, "title": "Date attribute"},
            "event_property": {"type": "string", "minLength": 1, "title": "Date property of the trigger event"},
            "offset": {**SIGNED_DURATION, "title": "Offset from the date"},
            "same_key": {"type": "boolean", "title": "Only events with this pass's key"},
        },
        ("mode",),
        oneOf=[
            {"properties": {"mode": {"const": "duration"}}, "required": ["duration"]},
            {"properties": {"mode": {"const": "until"}}, "required": ["time"]},
            {"properties": {"mode": {"const": "event"}}, "required": ["event", "timeout"]},
            {
                "properties": {"mode": {"const": "date"}},
                "oneOf": [{"required": ["attribute"]}, {"required": ["event_property"]}],
            },
        ],
    )
    outputs: ClassVar[list[dict]] = [
        {
            "when": {"field": "mode", "equals": "event"},
            "handles": [{"id": "event", "label": "Event arrived"}, {"id": "timeout", "label": "Timed out"}],
        },
        {
            "when": {"field": "mode", "equals": "date"},
            "handles": [NEXT, {"id": "missed", "label": "No date, or already past"}],
        },
        {"handles": [NEXT]},
    ]
    presets: ClassVar[list[dict]] = [
        {"key": "wait", "label": "Wait", "hint": description, "config": default_config},
        {
            "key": "wait_event",
            "label": "Wait for event",
            "hint": "Wait until an event arrives, with a timeout",
            "config": {"mode": "event", "event": "", "timeout": {"value": 1, "unit": "days"}},
        },
    ]

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        errors = unknown_keys(
            config,
            {
                "mode", "duration", "time", "days", "event", "where", "timeout", "attribute", "event_property",
                "offset", "same_key",
            },
        )
        mode = config.get("mode")
        if mode == "duration":
            errors += duration_errors(config.get("duration"), "duration")
        elif mode == "until":
            errors += time_errors(config.get("time"), "time")
            days = config.get("days")
            if days is not None:
                if not isinstance(days, list) or not days:
                    errors.append(ConfigError("days", f"Must be a non-empty list of {', '.join(WEEKDAYS)}."))
                else:
                    errors += [
                        ConfigError(f"days.{i}", f"Must be one of {', '.join(WEEKDAYS)}.")
                        for i, day in enumerate(days)
                        if day not in WEEKDAYS
                    ]
        elif mode == "event":
            errors += event_name_errors(config.get("event"), "event")
            errors += where_errors(config.get("where"), "where")
            errors += duration_errors(config.get("timeout"), "timeout")
            if config.get("same_key") is not None and not isinstance(config["same_key"], bool):
                errors.append(ConfigError("same_key", "Must be true or false."))
        elif mode == "date":
            errors += _date_errors(config)
        else:
            errors.append(ConfigError("mode", f"Must be one of {', '.join(MODES)}."))
        return errors

    def execute(self, ctx) -> Result:
        mode = ctx.config.get("mode")
        if mode == "date":
            return _date_wait(ctx)
        if mode == "duration":
            return Wait(until=ctx.now + timedelta(seconds=duration_seconds(ctx.config["duration"])))
        if mode == "until":
            return Wait(until=next_local_time(ctx.now, ctx.timezone, ctx.config["time"], ctx.config.get("days")))
        where = ctx.config.get("where") or None
        if ctx.config.get("same_key"):
            where = same_key_where(ctx, where)
        return Wait(
            until=ctx.now + timedelta(seconds=duration_seconds(ctx.config["timeout"])),
            event=ctx.config["event"],
            where=where,
        )

    def resume(self, ctx, wake) -> Result:
        date_mode = ctx.config.get("mode") == "date"
        if date_mode and wake.kind == "signal" and (wake.payload or {}).get("profile"):
            return _date_wait(ctx)  # the profile changed: re-read the date
        if wake.kind not in ("timer", "event"):  # not ours (a stray signal): keep waiting
            wait = ctx.enrollment.wait or {}
            return Wait(until=ctx.enrollment.wake_at, event=wait.get("event"), where=wait.get("where"), data=ctx.wait_data)
        if ctx.config.get("mode") == "event":
            return Next("event" if wake.kind == "event" else "timeout")
        return Next("next")


def next_local_time(now: datetime, tz, hhmm: str, days: list[str] | None) -> datetime:
    """The first moment after `now` that is `hhmm` in `tz` on one of `days` (any day if None)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = now.astimezone(tz)
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if days and WEEKDAYS[day.weekday()] not in days:
            continue
        moment = datetime.combine(day, time(hour, minute), tzinfo=tz)
        if moment > now:
            return moment
    raise ValueError("no matching weekday")  # unreachable for validated configs


def _date_errors(config: dict) -> list[ConfigError]:
    sources = [key for key in ("attribute", "event_property") if key in config]
    if len(sources) != 1:
        return [ConfigError("attribute", "Give exactly one of attribute or event_property.")]
    errors = []
    if not nonempty_str(config[sources[0]]):
        errors.append(ConfigError(sources[0], "Must be a non-empty string."))
    errors += duration_errors(config.get("offset"), "offset", required=False, signed=True)
    if config.get("time") is not None:
        errors += time_errors(config.get("time"), "time")
    return errors


def _date_wait(ctx) -> Result:
    """Wait until the configured date; `missed` when it is absent, unreadable or already past."""
    config = ctx.config
    if config.get("attribute"):
        value = (ctx.customer.attributes or {}).get(config["attribute"])
        data = {DATE_ATTRIBUTE_KEY: config["attribute"]}
    else:
        value = ctx.event.get(config.get("event_property"))
        data = {}
    moment = date_wake_at(value, ctx.timezone, config.get("offset"), config.get("time"))
    if moment is None or moment <= ctx.now:
        return Next("missed")
    return Wait(until=moment, data=data)


def date_wake_at(value: Any, tz, offset: dict | None, hhmm: str | None) -> datetime | None:
    """When a date-mode wait ends for `value`: an ISO date or date-time (a date-time without a
    zone is read in `tz`), plus `offset` (wall-clock in `tz`), then at `hhmm` in `tz` when given
    or when the value has no time of day (midnight without one). None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        day = parse_date(value)
        moment = None if day is not None else parse_datetime(value)
    except ValueError:  # well-formed but impossible, such as 2026-02-30
        return None
    if day is not None:
        local = datetime.combine(day, time(0, 0), tzinfo=tz)
    elif moment is not None:
        local = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    else:
        return None
    if offset:
        try:
            local = local + timedelta(seconds=duration_seconds(offset))  # aware + timedelta: wall clock
        except OverflowError:  # past year 9999
            return None
    if hhmm:
        hour, minute = (int(x) for x in hhmm.split(":"))
        local = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    return local
