"""The API's parsers: a JSON, form or multipart body holding text PostgreSQL cannot store is a 400
naming where it is, never a 500.

JSON may carry values PostgreSQL refuses: a NUL character (text and jsonb columns cannot hold
U+0000), a lone UTF-16 surrogate (not encodable as UTF-8), or a number too large for a float
(Python reads 1e400 as inf, which jsonb cannot hold). Python's json module accepts all three, so
without this check they reach the database and fail there, after part of a request may have run.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

MAX_DEPTH = 64  # deeper JSON is refused too; no client of ours nests this far


def text_problem(text: str) -> str | None:
    """Why PostgreSQL cannot store this text (a sentence starting "must"), or None."""
    if "\x00" in text:
        return "must not contain the NUL character (U+0000)."
    if text.isascii():  # a flag CPython keeps on the string: no encoding pass on the hot path
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate; send valid UTF-8."
    return None


def json_problem(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """The first (path, message) of a value in `value` that PostgreSQL cannot store, or None.
    Paths read like the API's field errors: `events[0].properties.name`."""
    if depth > MAX_DEPTH:
        return path or "body", f"is nested deeper than {MAX_DEPTH} levels."
    if isinstance(value, str):
        problem = text_problem(value)
        return (path or "body", problem) if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        return path or "body", "must be a finite number."
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            problem = text_problem(key)
            if problem:
                # The key itself is the bad text: name its parent, not an unprintable path.
                return path or "body", f"has a key that {problem}"
            found = json_problem(item, where, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = json_problem(item, f"{path}[{index}]" if path else f"[{index}]", depth + 1)
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    """DRF's JSONParser, then the storability check: an error answers 400 with the field named."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        found = json_problem(data)
        if found:
            where, message = found
            raise ValidationError({where: [message]})
        return data


def _form_value_problem(value: str) -> str | None:
    """Why a form field's text cannot be stored: its own characters, or, when it holds a JSON
    object or array, what that JSON decodes to (DRF's JSONField reads a form field as JSON, so
    "\\u0000" or NaN there would reach the database as they would from a JSON body)."""
    problem = text_problem(value)
    if problem or value.lstrip()[:1] not in ("{", "["):
        return problem
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return None  # not JSON: plain text, already checked
    found = json_problem(parsed)
    return (found[1] if found[0] == "body" else f"{found[0]}: {found[1]}") if found else None


def _form_problem(data) -> dict[str, list[str]] | None:
    """The 400 details for a form field (name or value) holding what PostgreSQL cannot store.
    Uploaded file names need no check: Django's multipart parser keeps only a sanitized base name."""
    for name, values in data.lists():
        if text_problem(name):
            return {"body": [f"a field name {text_problem(name)}"]}
        for value in values:
            problem = _form_value_problem(value) if isinstance(value, str) else None
            if problem:
                return {name: [problem]}
    return None


class StrictFormParser(FormParser):
    """DRF's FormParser, then the storability check of every field (400 naming it)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        found = _form_problem(data)
        if found:
            raise ValidationError(found)
        return data


class StrictMultiPartParser(MultiPartParser):
    """DRF's MultiPartParser, then the storability check of every field. A file's content is the
    importer's to read (it reports bad lines), not the parser's."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        found = _form_problem(parsed.data)
        if found:
            raise ValidationError(found)
        return parsed
