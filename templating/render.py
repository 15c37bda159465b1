"""Rendering through the sandbox: parsed templates and their results cached, parse errors with
their line and column, and RenderError naming the content field that broke."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from liquid.exceptions import LiquidError, LiquidSyntaxError

from .sandbox import ENV


class RenderError(Exception):
    """A template could not be parsed or rendered; `field` names the content key."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@lru_cache(maxsize=2048)
def _template(source: str):
    return ENV.from_string(source)


# Renders keyed by the values a template reads (from python-liquid's own static analysis): a
# render costs ~25 µs, a lookup ~1 µs, and "{{ journey.name }}" is the same for every customer.
_MEMO_LIMIT = 20_000
_rendered: dict[tuple, str] = {}
_MISSING = object()  # a path that does not resolve (distinct from an explicit null)


@lru_cache(maxsize=2048)
def _template_paths(source: str) -> tuple[tuple, ...] | None:
    """The variable paths a template reads, or None when its output may vary with anything else
    (the `date` filter reads the clock; dynamic lookups like customer[event.key])."""
    analysis = _template(source).analyze()
    if "date" in analysis.filters:
        return None
    paths = []
    for variables in analysis.globals.values():
        for variable in variables:
            if not all(isinstance(part, str) for part in variable.segments):
                return None
            paths.append(tuple(variable.segments))
    return tuple(sorted(set(paths)))


def memo_key(source: str, context: dict) -> tuple | None:
    """The render cache's key: the source and every value it reads; None when not cacheable."""
    paths = _template_paths(source)
    if paths is None:
        return None
    values = []
    for path in paths:
        value: Any = context
        for part in path:
            if isinstance(value, dict):
                value = value.get(part, _MISSING)
            elif value is _MISSING:
                break
            else:  # .size/.first on a list or string: Liquid computes it; not worth modelling
                return None
        if (
            value is not None
            and value is not _MISSING
            and not isinstance(value, (str, int, float, bool))
        ):
            return None
        # The type name keeps 1, 1.0 and true apart (equal and same hash in Python, not in Liquid).
        values.append(("missing",) if value is _MISSING else (type(value).__name__, value))
    return (source, *values)


def render_liquid(source: str, context: dict) -> str:
    """Renders a Liquid template with a `liquid_context`; raises liquid's LiquidError when it is
    invalid or breaks a sandbox limit."""
    if "{" not in source:
        return source  # no output or tag markup: the text is the result
    key = memo_key(source, context)
    if key is None:
        return _template(source).render(**context)
    rendered = _rendered.get(key)
    if rendered is None:
        rendered = _template(source).render(**context)
        if len(_rendered) >= _MEMO_LIMIT:
            _rendered.clear()
        _rendered[key] = rendered
    return rendered


def _position(exc: LiquidSyntaxError) -> tuple[int, int] | None:
    token = getattr(exc, "token", None)
    index = getattr(token, "start_index", -1)
    source = getattr(token, "source", "") or ""
    if index is None or index < 0 or not source:
        return None
    before = source[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def template_error(source: str) -> str | None:
    """None when `source` parses; else the problem with its "line L, column C" position."""
    try:
        _template(source)
    except LiquidError as exc:
        message = getattr(exc, "message", None) or str(exc)
        pos = _position(exc) if isinstance(exc, LiquidSyntaxError) else None
        if pos:
            return f"Invalid Liquid at line {pos[0]}, column {pos[1]}: {message}"
        return f"Invalid Liquid: {message}"
    return None


def has_liquid(source: str) -> bool:
    return "{{" in source or "{%" in source


def render_string(source: str, context: dict[str, Any], *, field: str = "template") -> str:
    """`render_liquid`, with any failure as a RenderError naming `field`."""
    try:
        return render_liquid(source, context)
    except LiquidError as exc:
        problem = template_error(source)
        raise RenderError(
            field, problem or f"Liquid failed: {getattr(exc, 'message', exc)}"
        ) from exc


def render_value(value: Any, context: dict[str, Any], *, field: str) -> Any:
    """Renders every string inside a JSON value (webhook bodies, header maps, variables)."""
    if isinstance(value, str):
        return render_string(value, context, field=field)
    if isinstance(value, list):
        return [render_value(v, context, field=f"{field}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: render_value(v, context, field=f"{field}.{k}") for k, v in value.items()}
    return value


def template_errors_in(value: Any, field: str) -> list[tuple[str, str]]:
    """(field, message) for every string inside a JSON value that is not valid Liquid."""
    if isinstance(value, str):
        problem = template_error(value)
        return [(field, problem)] if problem else []
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in template_errors_in(v, f"{field}.{i}")]
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in template_errors_in(v, f"{field}.{k}")]
    return []
