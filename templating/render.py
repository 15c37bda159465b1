"""Rendering through the sandbox: parsed templates and their results cached, parse errors with
their line and column, and RenderError naming the content field that broke."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from liquid.exceptions import LiquidError, LiquidSyntaxError

from .sandbox import ENV, MAX_MARKUP_CHARS, MAX_SOURCE_CHARS, TemplateSizeError


class RenderError(Exception):
    """A template could not be parsed or rendered; `field` names the content key."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _SizedCache:
    """A least-recently-used map bounded by the characters it holds, not by its entry count:
    one entry may be a 100 kB email body or a two-word subject."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self.chars = 0
        self.entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()  # sync views run on a thread pool

    def get(self, key: Any) -> Any:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key: Any, value: Any, chars: int) -> None:
        if chars > self.max_chars:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.chars -= old[1]
            self.entries[key] = (value, chars)
            self.chars += chars
            while self.chars > self.max_chars:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.chars -= dropped


# Parsed templates by source: a parse tree takes ~1–30 bytes per source character, so ~1 M
# characters of source stay well under 50 MB while holding every template of a busy workspace.
_parsed = _SizedCache(max_chars=1_000_000)
# Renders keyed by the values a template reads (from python-liquid's own static analysis): a
# render costs ~25 µs, a lookup ~1 µs, and "{{ journey.name }}" is the same for every customer.
_rendered = _SizedCache(max_chars=4_000_000)
_MISSING = object()  # a path that does not resolve (distinct from an explicit null)
_DYNAMIC = ()  # the paths of a template whose output may vary with more than its variables


class _Parsed:
    __slots__ = ("template", "_paths")

    def __init__(self, template):
        self.template = template
        self._paths: tuple | None = None

    @property
    def paths(self) -> tuple:
        """The variable paths the template reads, or _DYNAMIC when its output may vary with
        anything else (the `date` filter reads the clock; dynamic lookups like
        customer[event.key])."""
        if self._paths is None:
            self._paths = self._read_paths()
        return self._paths

    def _read_paths(self) -> tuple:
        analysis = self.template.analyze()
        if "date" in analysis.filters:
            return _DYNAMIC
        paths = []
        for variables in analysis.globals.values():
            for variable in variables:
                if not all(isinstance(part, str) for part in variable.segments):
                    return _DYNAMIC
                paths.append(tuple(variable.segments))
        return (None, *sorted(set(paths)))  # the leading None tells it from _DYNAMIC


def markup_chars(source: str) -> int:
    """The characters inside `{{ }}` and `{% %}` (an unclosed one runs to the end), in one pass."""
    total, pos = 0, 0
    while (start := source.find("{", pos)) >= 0 and start + 1 < len(source):
        opener = source[start + 1]
        if opener not in "{%":
            pos = start + 1
            continue
        end = source.find("}}" if opener == "{" else "%}", start + 2)
        if end < 0:
            return total + len(source) - start
        total += end + 2 - start
        pos = end + 2
    return total


def _parse(source: str) -> _Parsed:
    parsed = _parsed.get(source)
    if parsed is None:
        if len(source) > MAX_SOURCE_CHARS:
            raise TemplateSizeError(
                f"a template is at most {MAX_SOURCE_CHARS:,} characters (this one has "
                f"{len(source):,})",
                token=None,
            )
        if (markup := markup_chars(source)) > MAX_MARKUP_CHARS:
            raise TemplateSizeError(
                f"a template holds at most {MAX_MARKUP_CHARS:,} characters of Liquid markup "
                f"({{{{ }}}} and {{% %}}; this one has {markup:,})",
                token=None,
            )
        parsed = _Parsed(ENV.from_string(source))
        _parsed.put(source, parsed, len(source))
    return parsed


def memo_key(source: str, context: dict) -> tuple | None:
    """The render cache's key: the source and every value it reads; None when not cacheable."""
    paths = _parse(source).paths
    if paths is _DYNAMIC:
        return None
    values = []
    for path in paths[1:]:
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
        return _parse(source).template.render(**context)
    rendered = _rendered.get(key)
    if rendered is None:
        rendered = _parse(source).template.render(**context)
        read = sum(
            len(value[1]) for value in key[1:] if len(value) == 2 and isinstance(value[1], str)
        )
        # ~200 characters' worth for the key's tuples, so at most ~20,000 renders are held.
        _rendered.put(key, rendered, len(rendered) + read + 200)
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
        _parse(source)
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
