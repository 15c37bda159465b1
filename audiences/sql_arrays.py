"""Array parameters as one PostgreSQL array literal, for batches on hot paths: psycopg's array
dumper inspects and dumps element by element (~1 µs an id, ~0.5 µs a string), a literal is one
join, and PostgreSQL parses either at the same cost."""

from __future__ import annotations

from collections.abc import Iterable


def id_array(ids: Iterable[int]) -> str:
    """Integer ids as one `{…}` literal for a `::bigint[]` parameter (int() keeps anything but a
    number out of it)."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


def text_array(values: list[str]) -> str | list[str]:
    """Strings for a `::text[]` parameter: one literal when none holds a double quote or a
    backslash (each then stands between quotes as it is); else the list, for psycopg to dump."""
    literal = '{"' + '","'.join(values) + '"}'
    if literal.count('"') != 2 * len(values) or "\\" in literal:
        return values
    return literal
