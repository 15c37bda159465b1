"""The wait node: a fixed duration, until a time of day (customer tz, optional weekdays), or until
an event arrives with a timeout.

Config: {"mode": "duration", "duration": DURATION}
      | {"mode": "until", "time": "HH:MM", "days"?: ["mon", …, "sun"]}
      | {"mode": "event", "event": name, "where"?: [filters], "timeout": DURATION}
Handles: `next`; event mode: `event` (it arrived) and `timeout`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from ..fields import (
    TIME_RE,
    WEEKDAYS,
    duration_errors,
    duration_seconds,
    event_name_errors,
    time_errors,
    unknown_keys,
    where_errors,
)
from .base import ConfigError, Next, NodeType, Result, Wait, register
from .describe import DURATION, NEXT, WHERE, object_schema

MODES = ("duration", "until", "event")


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
        },
        ("mode",),
        oneOf=[
            {"properties": {"mode": {"const": "duration"}}, "required": ["duration"]},
            {"properties": {"mode": {"const": "until"}}, "required": ["time"]},
            {"properties": {"mode": {"const": "event"}}, "required": ["event", "timeout"]},
        ],
    )
    outputs: ClassVar[list[dict]] = [
        {
            "when": {"field": "mode", "equals": "event"},
            "handles": [{"id": "event", "label": "Event arrived"}, {"id": "timeout", "label": "Timed out"}],
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
        errors = unknown_keys(config, {"mode", "duration", "time", "days", "event", "where", "timeout"})
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
        else:
            errors.append(ConfigError("mode", f"Must be one of {', '.join(MODES)}."))
        return errors

    def execute(self, ctx) -> Result:
        mode = ctx.config.get("mode")
        if mode == "duration":
            return Wait(until=ctx.now + timedelta(seconds=duration_seconds(ctx.config["duration"])))
        if mode == "until":
            return Wait(until=next_local_time(ctx.now, ctx.timezone, ctx.config["time"], ctx.config.get("days")))
        return Wait(
            until=ctx.now + timedelta(seconds=duration_seconds(ctx.config["timeout"])),
            event=ctx.config["event"],
            where=ctx.config.get("where") or None,
        )

    def resume(self, ctx, wake) -> Result:
        if wake.kind not in ("timer", "event"):  # not ours (a stray signal): keep waiting
            return Wait(until=ctx.enrollment.wake_at, event=ctx.config.get("event"), where=ctx.config.get("where") or None)
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
