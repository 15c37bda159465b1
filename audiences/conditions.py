"""The condition language (API.md): validate a condition, evaluate it for one customer in Python,
and compile it to SQL for counting and selecting customers at scale. Both sides share one set of
rules, written down here, and a property-based test checks that they agree:

- A field's value is "missing" when absent, JSON null, an empty top-level text field ("") or an
  empty tag list. Every op but neq, not_in, not_contains and not_exists is false on a missing value;
  those four are the negations of eq, in, contains and exists.
- Types are strict: a number equals only a number (1 == 1.0, never "1" or true), a string only a
  string, a boolean only a boolean. gt/gte/lt/lte take a number and are false unless the value is one.
- contains: substring of a string value, or an element (by eq) of a list value.
- before/after/within_last compare datetimes: created_at/updated_at, or a string value in strict
  ISO-8601 form (ISO_DATETIME_RE; naive means UTC). within_last takes a DURATION and means
  now - duration <= value <= now.
- Attribute paths: a top-level field name (TOP_LEVEL_FIELDS) or a path into attributes ("plan",
  "address.city"; "attributes.email" forces the attributes JSON). Segments ({"segment": id}) nest
  the segment's stored condition; a missing segment, a list that does not exist or a segment
  cycle matches nobody.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Customer, CustomerList, Event, ListMember, Segment

DURATION_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
MAX_DURATION_SECONDS = 20 * 366 * 86400  # twenty years: anything longer is a typo
OPS = (
    "eq neq gt gte lt lte in not_in contains not_contains starts_with exists not_exists "
    "before after within_last"
).split()
COUNT_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")
TEXT_FIELDS = ("email", "phone", "timezone", "locale", "external_id")
DATETIME_FIELDS = ("created_at", "updated_at")
TOP_LEVEL_FIELDS = (*TEXT_FIELDS, *DATETIME_FIELDS, "tags")
# Which ops make sense on which top-level field; attribute and event-property paths take them all.
_TEXT_OPS = {"eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "exists", "not_exists"}
_FIELD_OPS = {
    **{name: _TEXT_OPS for name in TEXT_FIELDS},
    **{name: {"exists", "not_exists", "before", "after", "within_last"} for name in DATETIME_FIELDS},
    "tags": {"contains", "not_contains", "exists", "not_exists"},
}
KINDS = ("all", "any", "not", "attribute", "event", "list", "segment")
_KEYS = {
    "all": {"all"},
    "any": {"any"},
    "not": {"not"},
    "attribute": {"attribute", "op", "value"},
    "event": {"event", "where", "count", "within"},
    "list": {"list"},
    "segment": {"segment"},
}
MAX_DEPTH = 32
MAX_NODES = 1000
MAX_IN_VALUES = 1000
# Strict ISO-8601 date or date-time; both Python and PostgreSQL parse exactly these the same way.
ISO_DATETIME_RE = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4]):?[0-5][0-9])?)?$"
)
_ISO_RE = re.compile(ISO_DATETIME_RE)
_INTEGER_SEGMENT = re.compile(r"^-?[0-9]+$")


class ConditionInvalid(ValueError):
    """A condition that did not pass validate_condition reached evaluation or compilation."""


@dataclass(frozen=True)
class ConditionError:
    """One problem with a condition; `field` is a dotted path inside it ("all.1.op"), "" for the root."""

    field: str
    message: str


# ---- Validation ---------------------------------------------------------------------------
def _join(prefix: str, name: str | int) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool)) or _is_number(value)


def duration_errors(value: Any, path: str) -> list[ConditionError]:
    if not isinstance(value, dict):
        return [ConditionError(path, 'Must be a duration {"value": n, "unit": "seconds|minutes|hours|days|weeks"}.')]
    errors = [ConditionError(_join(path, k), f"Unknown field {k!r}.") for k in value if k not in ("value", "unit")]
    unit, amount = value.get("unit"), value.get("value")
    if unit not in DURATION_UNITS:
        errors.append(ConditionError(_join(path, "unit"), f"Must be one of {', '.join(DURATION_UNITS)}."))
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        errors.append(ConditionError(_join(path, "value"), "Must be a whole number ≥ 0."))
    elif unit in DURATION_UNITS and amount * DURATION_UNITS[unit] > MAX_DURATION_SECONDS:
        errors.append(ConditionError(_join(path, "value"), "Must be at most twenty years."))
    return errors


def _path_errors(value: Any, path: str, what: str) -> list[ConditionError]:
    if not isinstance(value, str) or not value.strip():
        return [ConditionError(path, f"Must be a non-empty {what} name.")]
    if len(value) > 255:
        return [ConditionError(path, "Must be at most 255 characters.")]
    if any(not part or _INTEGER_SEGMENT.match(part) for part in value.split(".")):
        return [ConditionError(path, f"{what.capitalize()} path {value!r} has an empty or numeric segment.")]
    return []


def _op_value_errors(node: dict, path: str, allowed_ops: set[str] | None, subject: str) -> list[ConditionError]:
    op = node.get("op")
    if op not in OPS:
        return [ConditionError(_join(path, "op"), f"Unknown op {op!r}; use one of {', '.join(OPS)}.")]
    if allowed_ops is not None and op not in allowed_ops:
        return [ConditionError(_join(path, "op"), f"Op {op!r} does not apply to {subject}.")]
    value, vpath = node.get("value"), _join(path, "value")
    if op in ("exists", "not_exists"):
        return []
    if op in ("eq", "neq", "contains", "not_contains"):
        ok, need = _is_scalar(value), "a string, number or boolean"
    elif op in ("gt", "gte", "lt", "lte"):
        ok, need = _is_number(value), "a number"
    elif op == "starts_with":
        ok, need = isinstance(value, str), "a string"
    elif op in ("in", "not_in"):
        ok = isinstance(value, list) and 0 < len(value) <= MAX_IN_VALUES and all(_is_scalar(v) for v in value)
        need = f"a list of 1–{MAX_IN_VALUES} strings, numbers or booleans"
    elif op in ("before", "after"):
        ok, need = parse_iso_datetime(value) is not None, "an ISO-8601 date or date-time"
    else:  # within_last
        return duration_errors(value, vpath)
    return [] if ok else [ConditionError(vpath, f"Op {op!r} needs {need}.")]


class _Validator:
    def __init__(self, *, in_journey: bool, workspace):
        self.in_journey = in_journey
        self.workspace = workspace
        self.nodes = 0
        self.list_ids: dict[int, str] = {}  # id → path, checked in one query at the end
        self.segment_ids: dict[int, str] = {}
        self.errors: list[ConditionError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(ConditionError(path, message))

    def node(self, node: Any, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.error(path, f"A condition may have at most {MAX_NODES} parts.")
            return
        if depth > MAX_DEPTH:
            self.error(path, f"A condition may nest at most {MAX_DEPTH} levels.")
            return
        if not isinstance(node, dict):
            self.error(path, "Must be an object (a condition).")
            return
        kinds = [k for k in KINDS if k in node]
        if len(kinds) != 1:
            unknown = sorted(k for k in node if k not in {"op", "value", "where", "count", "within"})
            if kinds:
                self.error(path, f"Must have exactly one of {', '.join(KINDS)}; found {', '.join(kinds)}.")
            elif unknown:
                for key in unknown:
                    self.error(_join(path, key), f"Unknown field {key!r}.")
            else:
                self.error(path, f"Must have one of {', '.join(KINDS)}.")
            return
        kind = kinds[0]
        for key in node:
            if key not in _KEYS[kind]:
                self.error(_join(path, key), f"Unknown field {key!r}.")
        getattr(self, f"_{kind}")(node, path, depth)

    def _group(self, node: dict, path: str, depth: int, kind: str) -> None:
        children = node[kind]
        if not isinstance(children, list):
            self.error(_join(path, kind), "Must be a list of conditions.")
            return
        for i, child in enumerate(children):
            self.node(child, _join(_join(path, kind), i), depth + 1)

    def _all(self, node, path, depth):
        self._group(node, path, depth, "all")

    def _any(self, node, path, depth):
        self._group(node, path, depth, "any")

    def _not(self, node, path, depth):
        self.node(node["not"], _join(path, "not"), depth + 1)

    def _attribute(self, node, path, depth):
        name = node["attribute"]
        errors = _path_errors(name, _join(path, "attribute"), "attribute")
        if errors:
            self.errors.extend(errors)
            return
        allowed = _FIELD_OPS.get(name)
        self.errors.extend(_op_value_errors(node, path, allowed, f"field {name!r}"))

    def _event(self, node, path, depth):
        name = node["event"]
        if not isinstance(name, str) or not name.strip():
            self.error(_join(path, "event"), "Must be a non-empty event name.")
        elif len(name) > 200:
            self.error(_join(path, "event"), "Must be at most 200 characters.")
        self.errors.extend(where_errors(node.get("where"), _join(path, "where")))
        if "count" in node:
            count, cpath = node["count"], _join(path, "count")
            if not isinstance(count, dict):
                self.error(cpath, 'Must be {"op": "gte", "value": n}.')
            else:
                for key in count:
                    if key not in ("op", "value"):
                        self.error(_join(cpath, key), f"Unknown field {key!r}.")
                if count.get("op") not in COUNT_OPS:
                    self.error(_join(cpath, "op"), f"Unknown op {count.get('op')!r}; use one of {', '.join(COUNT_OPS)}.")
                n = count.get("value")
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    self.error(_join(cpath, "value"), "Must be a whole number ≥ 0.")
        if "within" in node:
            within, wpath = node["within"], _join(path, "within")
            if within == "since_entry":
                if not self.in_journey:
                    self.error(wpath, '"since_entry" is only valid inside a journey.')
            else:
                self.errors.extend(duration_errors(within, wpath))

    def _ref(self, node, path, kind: str, found: dict[int, str]):
        ref = node[kind]
        if not isinstance(ref, int) or isinstance(ref, bool) or ref <= 0:
            self.error(_join(path, kind), f"Must be a {kind} id.")
        else:
            found.setdefault(ref, _join(path, kind))

    def _list(self, node, path, depth):
        self._ref(node, path, "list", self.list_ids)

    def _segment(self, node, path, depth):
        self._ref(node, path, "segment", self.segment_ids)

    def check_references(self) -> None:
        """With a workspace, every list and segment id must exist in it (another workspace's id
        reads exactly like a missing one)."""
        if self.workspace is None:
            return
        if self.list_ids:
            known = set(
                CustomerList.objects.for_workspace(self.workspace)
                .filter(pk__in=list(self.list_ids))
                .values_list("pk", flat=True)
            )
            for ref, path in self.list_ids.items():
                if ref not in known:
                    self.error(path, f"List {ref} does not exist.")
        if self.segment_ids:
            conditions = segment_conditions(workspace_id=_workspace_id(self.workspace), ids=set(self.segment_ids))
            for ref, path in self.segment_ids.items():
                if ref not in conditions:
                    self.error(path, f"Segment {ref} does not exist.")
                elif segment_cycle(workspace_id=_workspace_id(self.workspace), start=ref):
                    self.error(path, f"Segment {ref} refers back to itself.")


def where_errors(where: Any, path: str) -> list[ConditionError]:
    """Errors of an event's property filters [{"property", "op", "value"}]."""
    if where is None:
        return []
    if not isinstance(where, list):
        return [ConditionError(path, "Must be a list of property filters.")]
    errors: list[ConditionError] = []
    for i, item in enumerate(where):
        ipath = _join(path, i)
        if not isinstance(item, dict):
            errors.append(ConditionError(ipath, 'Must be {"property", "op", "value"}.'))
            continue
        errors.extend(ConditionError(_join(ipath, k), f"Unknown field {k!r}.") for k in item if k not in ("property", "op", "value"))
        prop_errors = _path_errors(item.get("property"), _join(ipath, "property"), "property")
        errors.extend(prop_errors)
        errors.extend(_op_value_errors(item, ipath, None, "a property"))
    return errors


def validate_condition(condition: Any, *, in_journey: bool = False, workspace=None) -> list[ConditionError]:
    """Every problem with `condition`, at once; never raises. `in_journey` allows "since_entry";
    with `workspace`, list and segment ids must exist in that workspace."""
    validator = _Validator(in_journey=in_journey, workspace=workspace)
    try:
        validator.node(condition, "", 0)
        if not validator.errors:
            validator.check_references()
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops this long before
        validator.error("", "The condition nests too deeply.")
    return validator.errors


def _workspace_id(workspace) -> int:
    return workspace if isinstance(workspace, int) else workspace.pk


# ---- Segments referenced by conditions ----------------------------------------------------
def _references(condition: Any, kind: str) -> set[int]:
    """Every `kind` ("list" or "segment") id named in `condition`, not following segments."""
    found: set[int] = set()
    stack = [condition]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if isinstance(node.get(kind), int):
            found.add(node[kind])
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
        if "not" in node:
            stack.append(node["not"])
    return found


def segment_conditions(*, workspace_id: int, ids: set[int]) -> dict[int, dict]:
    """The stored conditions of these segments of the workspace, and of every segment they nest
    (one query per nesting level)."""
    found: dict[int, dict] = {}
    todo = set(ids)
    for _ in range(MAX_DEPTH):
        todo -= set(found)
        if not todo:
            break
        rows = Segment.objects.for_workspace(workspace_id).filter(pk__in=todo).values_list("pk", "condition")
        loaded = dict(rows)
        found.update(loaded)
        todo = set().union(*(_references(c, "segment") for c in loaded.values())) if loaded else set()
    return found


def segment_cycle(*, workspace_id: int, start: int, condition: Any = None) -> bool:
    """True when segment `start` (with `condition`, if it is about to be saved) nests itself."""
    conditions = segment_conditions(workspace_id=workspace_id, ids=_references(condition, "segment") | {start})
    if condition is not None:
        conditions[start] = condition
    seen: set[int] = set()
    stack = list(_references(conditions.get(start), "segment"))
    while stack:
        ref = stack.pop()
        if ref == start:
            return True
        if ref in seen:
            continue
        seen.add(ref)
        stack.extend(_references(conditions.get(ref), "segment"))
    return False


# ---- Python evaluation --------------------------------------------------------------------
def parse_iso_datetime(value: Any) -> datetime | None:
    """A strict ISO-8601 string as an aware datetime (naive means UTC), else None."""
    if not isinstance(value, str) or not _ISO_RE.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # e.g. 2024-02-30
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def duration_timedelta(value: dict) -> timedelta:
    return timedelta(seconds=value["value"] * DURATION_UNITS[value["unit"]])


def _json_path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def customer_field(customer: Customer, name: str) -> Any:
    """The value an attribute condition sees: top-level fields, else a path into attributes.
    Missing values are None (see the module's rules)."""
    if name in TEXT_FIELDS:
        return getattr(customer, name) or None
    if name in DATETIME_FIELDS:
        return getattr(customer, name)
    if name == "tags":
        return list(customer.tags) or None
    if name.startswith("attributes."):
        name = name[len("attributes.") :]
    return _json_path(customer.attributes, name)


def _eq(value: Any, operand: Any) -> bool:
    if _is_number(operand):
        return _is_number(value) and value == operand
    if isinstance(operand, bool):
        return isinstance(value, bool) and value is operand
    return isinstance(value, str) and value == operand


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else parse_iso_datetime(value)


def op_matches(op: str, value: Any, operand: Any, *, now: datetime) -> bool:
    """One op applied to a field's value (None when missing)."""
    if op in ("neq", "not_in", "not_contains", "not_exists"):
        return not op_matches(op[4:] if op.startswith("not_") else "eq", value, operand, now=now)
    if op == "exists":
        return value is not None
    if value is None:
        return False
    if op == "eq":
        return _eq(value, operand)
    if op in ("gt", "gte", "lt", "lte"):
        if not _is_number(value):
            return False
        return {"gt": value > operand, "gte": value >= operand, "lt": value < operand, "lte": value <= operand}[op]
    if op == "in":
        return any(_eq(value, item) for item in operand)
    if op == "contains":
        if isinstance(value, str):
            return isinstance(operand, str) and operand in value
        return isinstance(value, list) and any(_eq(item, operand) for item in value)
    if op == "starts_with":
        return isinstance(value, str) and value.startswith(operand)
    moment = _as_datetime(value)
    if moment is None:
        return False
    if op == "before":
        return moment < parse_iso_datetime(operand)
    if op == "after":
        return moment > parse_iso_datetime(operand)
    if op == "within_last":
        return now - duration_timedelta(operand) <= moment <= now
    raise ConditionInvalid(f"unknown op {op!r}")


def _where_matches(where: list[dict] | None, properties: dict, *, now: datetime) -> bool:
    return all(
        op_matches(item["op"], _json_path(properties, item["property"]), item.get("value"), now=now)
        for item in where or ()
    )


def event_matches(spec: dict, event_name: str, properties: dict, *, now: datetime | None = None) -> bool:
    """Whether an event fits an entry/wait filter {"name"|"event": str, "where"?: [...]}."""
    name = spec.get("name", spec.get("event"))
    if name != event_name:
        return False
    return _where_matches(spec.get("where"), properties or {}, now=now or timezone.now())


_COUNT_OPS = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _count_matches(count: dict | None, n: int) -> bool:
    op, target = (count["op"], count["value"]) if count else ("gte", 1)
    return _COUNT_OPS[op](n, target)


@dataclass(slots=True)
class CustomerFacts:
    """What evaluate() needs about one customer: the events the conditions look at, the lists the
    customer is on, and (inside a journey) when they entered. `segments` holds the conditions of
    segments the conditions nest (filled by facts_for; loaded on demand when absent). `compiled`
    (filled by facts_for, shared by its whole batch) holds its conditions compiled to Python
    functions, which evaluate() runs instead of walking the condition for every customer."""

    customer: Customer
    events: list[Any] = field(default_factory=list)  # EventFact, or Event objects a simulation adds
    list_ids: set[int] = field(default_factory=set)
    entered_at: datetime | None = None
    segments: dict[int, dict | None] = field(default_factory=dict)
    compiled: dict[int, tuple[dict, Callable[[CustomerFacts, datetime], bool]]] | None = None


def evaluate(condition: dict, facts: CustomerFacts, *, now: datetime) -> bool:
    """Whether the customer meets a (validated) condition at `now`."""
    if facts.compiled is not None:
        found = facts.compiled.get(id(condition))
        if found is not None and found[0] is condition:
            return found[1](facts, now)
    return _evaluate(condition, facts, now, ())


def _evaluate(node: dict, facts: CustomerFacts, now: datetime, segment_stack: tuple[int, ...]) -> bool:
    if not isinstance(node, dict):
        raise ConditionInvalid("a condition must be an object")
    if "all" in node:
        return all(_evaluate(child, facts, now, segment_stack) for child in node["all"])
    if "any" in node:
        return any(_evaluate(child, facts, now, segment_stack) for child in node["any"])
    if "not" in node:
        return not _evaluate(node["not"], facts, now, segment_stack)
    if "attribute" in node:
        return op_matches(node["op"], customer_field(facts.customer, node["attribute"]), node.get("value"), now=now)
    if "event" in node:
        since = _event_since(node, now=now, entered_at=facts.entered_at)
        n = sum(
            1
            for event in facts.events
            if event.name == node["event"]
            and (since is None or event.occurred_at >= since)
            and _where_matches(node.get("where"), event.properties, now=now)
        )
        return _count_matches(node.get("count"), n)
    if "list" in node:
        return node["list"] in facts.list_ids
    if "segment" in node:
        ref = node["segment"]
        if ref in segment_stack:
            return False  # a cycle matches nobody (validation refuses to save one)
        if ref not in facts.segments:
            facts.segments.update(segment_conditions(workspace_id=facts.customer.workspace_id, ids={ref}))
            facts.segments.setdefault(ref, None)
        nested = facts.segments[ref]
        return nested is not None and _evaluate(nested, facts, now, (*segment_stack, ref))
    raise ConditionInvalid("unknown condition kind")


def _event_since(node: dict, *, now: datetime, entered_at: datetime | None) -> datetime | None:
    within = node.get("within")
    if within is None:
        return None
    if within == "since_entry":
        return entered_at
    return now - duration_timedelta(within)


@dataclass(slots=True)
class EventFact:
    """The part of a stored event that evaluate() reads (properties only when a clause filters on them)."""

    name: str
    occurred_at: datetime
    properties: dict


def facts_for(
    *,
    workspace_id: int,
    customers: list[Customer],
    conditions: list[dict],
    entered_at: dict[int, datetime] | None = None,
    now: datetime | None = None,
) -> dict[int, CustomerFacts]:
    """CustomerFacts for many customers (keyed by customer id) in a fixed number of queries:
    nested segments (one per nesting level), then events, then list memberships. Only the events
    a clause can count are loaded, as plain tuples probed by customer, with properties only when a
    clause filters on them; given the `now` evaluate() will use, only those since the longest
    window each name's clauses look back (all of them when one has no window)."""
    segments = segment_conditions(
        workspace_id=workspace_id, ids=set().union(*(_references(c, "segment") for c in conditions))
    )
    every = [*conditions, *segments.values()]
    list_ids = set().union(*(_references(c, "list") for c in every))
    entered_at = entered_at or {}
    # One segments cache and one set of compiled conditions for the batch, and no empty event
    # list or list-id set per customer (a shared empty tuple and frozenset until one is found):
    # 40,000 containers kept for a batch of 10,000 made the garbage collector's full passes over
    # the process (~75 ms each) come every other batch.
    compiled = _compiled_conditions(conditions)
    if entered_at:  # the engine's batches: each fact made with its entry time, not set after
        facts = {c.id: CustomerFacts(c, _NO_EVENTS, _NO_LISTS, entered_at.get(c.id), segments, compiled) for c in customers}
    else:
        facts = {c.id: CustomerFacts(c, _NO_EVENTS, _NO_LISTS, None, segments, compiled) for c in customers}
    ids = [pk for pk in facts if pk is not None]  # a simulated customer has no id

    def first_entry() -> datetime | None:
        """The batch's earliest entry, None when a customer has none (a branch outside goals):
        read only for a since_entry clause."""
        if not entered_at:
            return None
        entries = [item.entered_at for item in facts.values()]
        return None if not entries or None in entries else min(entries)

    needs = _event_needs(every, now=now, first_entry=first_entry)
    if not ids or not (needs or list_ids):
        return facts
    # The batch's ids as one array literal, built once for both queries: `__in` sent 10,000
    # parameters, whose conversion took longer than the query (~2.5 µs an id); str() of the list
    # of ints is 3x faster than joining them one by one.
    batch = "{" + str(ids)[1:-1] + "}"
    if needs:
        with_properties = {name for name, (_, filtered) in needs.items() if filtered}
        with _no_parallel_workers() as cur:
            rows = _batch_events(cur, workspace_id, needs, batch, bool(with_properties))
        rows.sort(key=operator.itemgetter(2))
        at = datetime.fromtimestamp
        for customer_id, name, epoch, *properties in rows:
            if properties and name in with_properties:
                found = properties[0]
                event = EventFact(name, at(epoch, UTC), json.loads(found) if isinstance(found, str) else found)
            else:
                event = EventFact(name, at(epoch, UTC), EMPTY_PROPERTIES)
            item = facts[customer_id]
            if item.events:
                item.events.append(event)
            else:
                item.events = [event]
    if list_ids:
        with connection.cursor() as cur:
            cur.execute(
                'SELECT "customer_id", "customer_list_id" FROM "audiences_listmember" WHERE "workspace_id" = %s'
                ' AND "customer_list_id" = ANY(%s::bigint[]) AND "customer_id" = ANY(%s::bigint[])',
                [workspace_id, sorted(list_ids), batch],
            )
            rows = cur.fetchall()
        for customer_id, list_id in rows:
            item = facts[customer_id]
            if item.list_ids:
                item.list_ids.add(list_id)
            else:
                item.list_ids = {list_id}
    return facts


@contextmanager
def _no_parallel_workers():
    """A cursor for the batch's events query without parallel workers: it reads one window of the
    workspace index (333k entries for a batch of 10,000 at 1M customers × 20M events), and under
    load the two workers took longer to start (86 ms at load 10) than the scan alone (46–56 ms at
    load 5.5). Within the caller's transaction, the setting is put back for its later statements."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT current_setting('max_parallel_workers_per_gather'),"
            " set_config('max_parallel_workers_per_gather', '0', true)"
        )
        before = cur.fetchone()[0]
        yield cur
        cur.execute("SELECT set_config('max_parallel_workers_per_gather', %s, true)", [before])


def _batch_events(cur, workspace_id: int, needs: dict, batch: str, properties: bool) -> list:
    """(customer_id, name, occurred_at as epoch seconds[, properties]) of the batch's events that
    `needs` asks for, unsorted (an ORDER BY made PostgreSQL walk every event of the name). Plain
    SQL: the ORM's per-row converters cost more than the rows (~1 µs a row)."""
    window, params = [], [workspace_id]
    for name, (since, _) in sorted(needs.items()):
        if since is None:
            window.append('"name" = %s')
            params.append(name)
        else:
            window.append('("name" = %s AND "occurred_at" >= %s)')
            params += [name, since]
    # occurred_at as epoch seconds: a float8 carries microseconds exactly for these dates (its step
    # near 2e9 s is 0.24 µs) and loads ~5x faster than the ISO text Django parses for a timestamptz.
    read = ', "properties"' if properties else ""
    columns = f'"customer_id", "name", extract(epoch FROM "occurred_at")::float8{read}'
    where = f'"workspace_id" = %s AND ({" OR ".join(window)})'
    # Up to a little after now, PostgreSQL probes the (customer, name, occurred_at) index per
    # customer or scans the names' entries of the workspace index keeping the batch's (a hashed
    # filter), whichever it estimates cheaper. The bound keeps the months made ahead and the default
    # partition out of that plan: with the ids as a constant array, each partition cost an estimate
    # of the filter element by element (8–30 ms of planning for 10,000 ids and five partitions) and,
    # empty, an index scan sorting the 10,000 ids (2–6 ms each). Events dated after the bound (an
    # event dated ahead counts in a window) are read apart, the filter kept above their scan
    # (OFFSET 0: estimated once for all those partitions), usually none.
    later = datetime.now(UTC) + timedelta(days=1)
    cur.execute(
        f'SELECT {columns} FROM "audiences_event" WHERE {where} AND "occurred_at" < %s AND "customer_id" = ANY(%s::bigint[])'
        f' UNION ALL SELECT {columns} FROM (SELECT "customer_id", "name", "occurred_at"{read}'
        f' FROM "audiences_event" WHERE {where} AND "occurred_at" >= %s OFFSET 0) ahead WHERE "customer_id" = ANY(%s::bigint[])',
        [*params, later, batch, *params, later, batch],
    )
    return cur.fetchall()


EMPTY_PROPERTIES: dict = {}  # shared, never written: events whose properties no clause reads
_NO_EVENTS: list = ()  # type: ignore[assignment]  # shared by facts without events: replaced, never appended to
_NO_LISTS: set = frozenset()  # type: ignore[assignment]  # the same for list memberships


def _event_needs(
    conditions: list[dict], *, now: datetime | None, first_entry: Callable[[], datetime | None]
) -> dict[str, tuple[datetime | None, bool]]:
    """Event name → (the earliest occurred_at a clause on it can count at `now`, or None for all
    time or when `now` is not known; whether a clause on it filters on properties)."""
    needs: dict[str, tuple[datetime | None, bool]] = {}
    for node in _event_nodes(conditions):
        within = node.get("within")
        if within is None or now is None:
            since = None
        elif within == "since_entry":
            since = first_entry()
        else:
            since = now - duration_timedelta(within)
        name = node["event"]
        if name in needs:
            earlier, filtered = needs[name]
            since = None if since is None or earlier is None else min(since, earlier)
            needs[name] = (since, filtered or bool(node.get("where")))
        else:
            needs[name] = (since, bool(node.get("where")))
    return needs


def event_clauses(condition: Any) -> list[dict]:
    """The event clauses of a condition, however nested."""
    return _event_nodes([condition])


def _event_nodes(conditions: list[Any]) -> list[dict]:
    found: list[dict] = []
    stack = list(conditions)
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("event"), str):
            found.append(node)
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
        if "not" in node:
            stack.append(node["not"])
    return found


# ---- Compiled evaluation ------------------------------------------------------------------
# A journey branch evaluates one condition for every customer of a batch (10,000): walking the
# condition's dict for each cost ~3 µs a customer, as much as loading the batch's events. facts_for
# compiles its conditions once into nested functions that do exactly what _evaluate does, node for
# node (a nested segment is still walked, with its cycle check), and evaluate() runs them.
_Compiled = Callable[[CustomerFacts, datetime], bool]


def _compiled_conditions(conditions: list[Any]) -> dict[int, tuple[dict, _Compiled]]:
    """id(condition) → (the condition, its function) for each condition that compiles; one that
    does not (not a valid condition) is left to _evaluate, which raises as before."""
    found: dict[int, tuple[dict, _Compiled]] = {}
    for condition in conditions:
        try:
            fn = _compile(condition)
        except (KeyError, TypeError, AttributeError, ValueError):
            fn = None
        if fn is not None:
            found[id(condition)] = (condition, fn)
    return found


def _compile(node: Any) -> _Compiled | None:
    if not isinstance(node, dict):
        return None
    if "all" in node or "any" in node:
        children = [_compile(child) for child in node["all" if "all" in node else "any"]]
        if None in children:
            return None
        return _all(children) if "all" in node else _any(children)
    if "not" in node:
        inner = _compile(node["not"])
        return None if inner is None else (lambda facts, now: not inner(facts, now))
    if "attribute" in node:
        return _compile_attribute(node["attribute"], node["op"], node.get("value"))
    if "event" in node:
        return _compile_event(node)
    if "list" in node:
        list_id = node["list"]
        return lambda facts, now: list_id in facts.list_ids
    if "segment" in node:
        return lambda facts, now: _evaluate(node, facts, now, ())
    return None


def _all(children: list[_Compiled]) -> _Compiled:
    def all_of(facts: CustomerFacts, now: datetime) -> bool:
        for child in children:
            if not child(facts, now):
                return False
        return True

    return all_of


def _any(children: list[_Compiled]) -> _Compiled:
    def any_of(facts: CustomerFacts, now: datetime) -> bool:
        for child in children:
            if child(facts, now):
                return True
        return False

    return any_of


def _compile_attribute(name: str, op: str, operand: Any) -> _Compiled:
    if op not in OPS:
        raise ValueError(op)
    if name in TOP_LEVEL_FIELDS or name.startswith("attributes."):
        return lambda facts, now: op_matches(op, customer_field(facts.customer, name), operand, now=now)
    parts = name.split(".")

    def value_of(customer: Customer) -> Any:  # _json_path(customer.attributes, name)
        data = customer.attributes
        for part in parts:
            if not isinstance(data, dict):
                return None
            data = data.get(part)
        return data

    if op == "eq" and isinstance(operand, str):  # _eq on a string operand, None never equal
        return lambda facts, now: isinstance(value := value_of(facts.customer), str) and value == operand
    return lambda facts, now: op_matches(op, value_of(facts.customer), operand, now=now)


def _compile_event(node: dict) -> _Compiled:
    name, where, within = node["event"], node.get("where"), node.get("within")
    count = node.get("count")
    compare, target = (_COUNT_OPS[count["op"]], count["value"]) if count else (operator.ge, 1)
    window = duration_timedelta(within) if within is not None and within != "since_entry" else None
    # Most of a batch's customers have none of the clause's events: their answer is the count 0's,
    # without computing the window's start for each of them.
    without_events = compare(0, target)

    def meets(facts: CustomerFacts, now: datetime) -> bool:
        if not facts.events:
            return without_events
        if within is None:
            since = None
        elif window is None:
            since = facts.entered_at
        else:
            since = now - window
        n = 0
        for event in facts.events:
            if (
                event.name == name
                and (since is None or event.occurred_at >= since)
                and (not where or _where_matches(where, event.properties, now=now))
            ):
                n += 1
        return compare(n, target)

    return meets


# ---- SQL compilation ----------------------------------------------------------------------
_SLOT = re.compile(r"\{(\d+)\}|%s")


class SQL(Expression):
    """A boolean SQL snippet. `{0}`, `{1}`… are Django expressions (so columns get the right
    table alias inside subqueries); each `%s` takes the next of `params`."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, template: str, expressions=(), params=()):
        super().__init__(output_field=BooleanField())
        self.template = template
        self.expressions = list(expressions)
        self.params = list(params)

    def get_source_expressions(self):
        return self.expressions

    def set_source_expressions(self, exprs):
        self.expressions = list(exprs)

    def as_sql(self, compiler, connection):
        compiled = [compiler.compile(e) for e in self.expressions]
        out_params: list = []
        literal = iter(self.params)

        def slot(match: re.Match) -> str:
            if match.group(1) is None:
                out_params.append(next(literal))
                return "%s"
            sql, params = compiled[int(match.group(1))]
            out_params.extend(params)
            return f"({sql})"

        return _SLOT.sub(slot, self.template), out_params


TRUE = SQL("TRUE")
FALSE = SQL("FALSE")


class _Field:
    """How a field's value reads in SQL: `json` is a jsonb expression (NULL when missing), or the
    field is a native column (`column`, of kind text/datetime/tags)."""

    def __init__(self, kind: str, expr):
        self.kind = kind  # "json", "text", "datetime", "tags"
        self.expr = expr


def _json_field(column: str, path: str) -> _Field:
    parts = path.split(".")
    # NULLIF turns JSON null into SQL NULL, so "missing" is one thing on both sides.
    return _Field("json", SQL("NULLIF({0} #> %s, 'null'::jsonb)", [F(column)], [parts]))


def _customer_field(name: str) -> _Field:
    if name in TEXT_FIELDS:
        return _Field("text", F(name))
    if name in DATETIME_FIELDS:
        return _Field("datetime", F(name))
    if name == "tags":
        return _Field("tags", F("tags"))
    if name.startswith("attributes."):
        name = name[len("attributes.") :]
    return _json_field("attributes", name)


def _jsonb(value: Any) -> str:
    import json

    return json.dumps(value)


def _eq_sql(f: _Field, operand: Any) -> SQL:
    if f.kind in ("tags", "datetime"):
        return FALSE  # a list or a datetime never equals a scalar (see _eq)
    if f.kind == "text":
        if not isinstance(operand, str):
            return FALSE
        return SQL("COALESCE({0} <> '' AND {1} = %s, FALSE)", [f.expr, f.expr.copy()], [operand])
    # jsonb equality compares numbers numerically and never across types, like _eq.
    return SQL("COALESCE({0} = %s::jsonb, FALSE)", [f.expr.copy()], [_jsonb(operand)])


def _op_sql(op: str, f: _Field, operand: Any, *, now: datetime) -> Expression:
    if op in ("neq", "not_in", "not_contains", "not_exists"):
        positive = _op_sql(op[4:] if op.startswith("not_") else "eq", f, operand, now=now)
        return SQL("NOT {0}", [positive])
    if op == "exists":
        if f.kind == "text":
            return SQL("COALESCE({0} <> '', FALSE)", [f.expr])
        if f.kind == "tags":
            return SQL("COALESCE(cardinality({0}) > 0, FALSE)", [f.expr])
        return SQL("{0} IS NOT NULL", [f.expr])
    if op == "eq":
        return _eq_sql(f, operand)
    if op in ("gt", "gte", "lt", "lte"):
        if f.kind != "json":
            return FALSE
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return SQL(
            f"COALESCE(CASE WHEN jsonb_typeof({{0}}) = 'number' THEN ({{1}} #>> '{{}}')::numeric {sign} %s END, FALSE)",
            [f.expr, f.expr.copy()],
            [operand],
        )
    if op == "in":
        parts = [_eq_sql(f, item) for item in operand]
        return SQL(" OR ".join(f"{{{i}}}" for i in range(len(parts))), parts)
    if op == "contains":
        if f.kind == "tags":
            return SQL("COALESCE(%s = ANY({0}), FALSE)", [f.expr], [operand]) if isinstance(operand, str) else FALSE
        if f.kind == "text":
            if not isinstance(operand, str):
                return FALSE
            # An empty text field is missing (as in Python), so it contains nothing, not "".
            return SQL("COALESCE({0} <> '' AND strpos({1}, %s) > 0, FALSE)", [f.expr, f.expr.copy()], [operand])
        if f.kind == "datetime":
            return FALSE
        string_part = (
            SQL(
                "COALESCE(jsonb_typeof({0}) = 'string' AND strpos({1} #>> '{}', %s) > 0, FALSE)",
                [f.expr, f.expr.copy()],
                [operand],
            )
            if isinstance(operand, str)
            else FALSE
        )
        list_part = SQL(
            "COALESCE(jsonb_typeof({0}) = 'array' AND {1} @> %s::jsonb, FALSE)",
            [f.expr.copy(), f.expr.copy()],
            [_jsonb([operand])],
        )
        return SQL("{0} OR {1}", [string_part, list_part])
    if op == "starts_with":
        if f.kind in ("tags", "datetime"):
            return FALSE
        if f.kind == "text":
            return SQL("COALESCE({0} <> '' AND starts_with({1}, %s), FALSE)", [f.expr, f.expr.copy()], [operand])
        return SQL(
            "COALESCE(jsonb_typeof({0}) = 'string' AND starts_with({1} #>> '{}', %s), FALSE)",
            [f.expr, f.expr.copy()],
            [operand],
        )
    if op in ("before", "after", "within_last"):
        if f.kind == "datetime":
            moment = f.expr
        elif f.kind == "json":
            moment = SQL(
                "CASE WHEN jsonb_typeof({0}) = 'string' THEN waymark_iso_ts({1} #>> '{}') END",
                [f.expr, f.expr.copy()],
            )
        elif f.kind == "text":
            moment = SQL("waymark_iso_ts({0})", [f.expr])
        else:
            return FALSE
        if op == "within_last":
            return SQL(
                "COALESCE({0} BETWEEN %s AND %s, FALSE)", [moment], [now - duration_timedelta(operand), now]
            )
        sign = "<" if op == "before" else ">"
        return SQL(f"COALESCE({{0}} {sign} %s, FALSE)", [moment], [parse_iso_datetime(operand)])
    raise ConditionInvalid(f"unknown op {op!r}")


class _Compiler:
    def __init__(self, workspace_id: int, now: datetime):
        self.workspace_id = workspace_id
        self.now = now
        self.segments: dict[int, dict | None] = {}

    def node(self, node: Any, segment_stack: tuple[int, ...]) -> Expression:
        if not isinstance(node, dict):
            raise ConditionInvalid("a condition must be an object")
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            parts = [self.node(child, segment_stack) for child in node[key]]
            if not parts:
                return TRUE if key == "all" else FALSE
            joiner = " AND " if key == "all" else " OR "
            return SQL(joiner.join(f"{{{i}}}" for i in range(len(parts))), parts)
        if "not" in node:
            return SQL("NOT {0}", [self.node(node["not"], segment_stack)])
        if "attribute" in node:
            return _op_sql(node["op"], _customer_field(node["attribute"]), node.get("value"), now=self.now)
        if "event" in node:
            return self.event(node)
        if "list" in node:
            members = ListMember.objects.for_workspace(self.workspace_id).filter(
                customer_list_id=node["list"], customer_id=OuterRef("pk")
            )
            return Exists(members)
        if "segment" in node:
            ref = node["segment"]
            if ref in segment_stack:
                return FALSE
            if ref not in self.segments:
                self.segments.update(segment_conditions(workspace_id=self.workspace_id, ids={ref}))
                self.segments.setdefault(ref, None)
            nested = self.segments[ref]
            return FALSE if nested is None else self.node(nested, (*segment_stack, ref))
        raise ConditionInvalid("unknown condition kind")

    def customers_with_event(self, node: Any) -> Expression | None:
        """An event clause over the whole workspace, set-based: the customers whose count of
        matching events meets the clause, found once from the (workspace, name, occurred_at)
        index, as `pk = ANY(ARRAY(their ids))`; when a count of 0 meets it ("fewer than 2",
        "never"), `NOT (pk = ANY(ARRAY(ids of those with events whose count does not)))`. None
        when `node` is another kind of clause. A per-customer count subquery probed every
        customer's events: 1M customers × ~5 µs, against one index range scan of the window."""
        if not isinstance(node, dict) or "event" not in node or node.get("within") == "since_entry":
            return None
        op, n = (node["count"]["op"], node["count"]["value"]) if node.get("count") else ("gte", 1)
        zero_matches = _count_matches({"op": op, "value": n}, 0)
        events = self._events(node, Event.objects.for_workspace(self.workspace_id)).order_by().values("customer_id")
        if (op, n) in (("gte", 1), ("gt", 0), ("neq", 0), ("lt", 1), ("eq", 0), ("lte", 0)):
            ids = events.distinct()  # "at least once" / "never": any matching event decides
        else:
            lookup = {"eq": "exact", "neq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}[op]
            meets = ~Q(**{f"n__{lookup}": n}) if op == "neq" else Q(**{f"n__{lookup}": n})
            # COUNT(*), not COUNT(id): the index holds no id, and the scan stays index-only.
            ids = events.annotate(n=Count("*")).filter(~meets if zero_matches else meets).values("customer_id")
        found = SQL("{0} = ANY(ARRAY{1})", [F("pk"), Subquery(ids)])
        return SQL("NOT {0}", [found]) if zero_matches else found

    def _events(self, node: dict, events: QuerySet) -> QuerySet:
        """The events a clause looks at (name, time window, property filters)."""
        events = events.filter(name=node["event"])
        since = _event_since(node, now=self.now, entered_at=None)
        if since is not None:
            events = events.filter(occurred_at__gte=since)
        for item in node.get("where") or ():
            events = events.filter(
                _op_sql(item["op"], _json_field("properties", item["property"]), item.get("value"), now=self.now)
            )
        return events

    def event(self, node: dict) -> Expression:
        if node.get("within") == "since_entry":
            raise ConditionInvalid('"since_entry" needs a journey; evaluate it per customer')
        events = self._events(node, Event.objects.for_workspace(self.workspace_id).filter(customer_id=OuterRef("pk")))
        op, n = (node["count"]["op"], node["count"]["value"]) if node.get("count") else ("gte", 1)
        # "at least once" and "never" are (NOT) EXISTS: a semi-join, the fast path.
        if (op, n) in (("gte", 1), ("gt", 0), ("neq", 0)):
            return Exists(events)
        if (op, n) in (("lt", 1), ("eq", 0), ("lte", 0)):
            return ~Exists(events)
        counted = events.order_by().values("customer_id").annotate(n=Count("id")).values("n")
        sign = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        total = Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
        return SQL(f"{{0}} {sign} %s", [total], [n])


def condition_q(
    *, workspace_id: int, condition: dict, now: datetime | None = None, whole_workspace: bool = False
) -> Expression:
    """The condition as a boolean expression over Customer rows (filter a Customer queryset of
    the same workspace with it). `whole_workspace`: see customers_matching."""
    compiler = _Compiler(workspace_id, now or timezone.now())
    if whole_workspace:
        top = condition.get("all") if isinstance(condition, dict) else None
        parts = top if isinstance(top, list) and top else [condition]
        compiled = [compiler.customers_with_event(part) or compiler.node(part, ()) for part in parts]
        return SQL(" AND ".join(f"{{{i}}}" for i in range(len(compiled))), compiled)
    return compiler.node(condition, ())


def customers_matching(
    *, workspace_id: int, condition: dict, now: datetime | None = None, whole_workspace: bool = False
) -> QuerySet[Customer]:
    """The workspace's customers meeting a (validated) condition, as one SQL query.

    `whole_workspace=True` is for reading the whole audience (a segment's count): each top-level
    "did X at least once" clause becomes `id = ANY(ARRAY(customer ids from the event index))`,
    computed once, so PostgreSQL probes only those customers instead of scanning them all (1M
    customers, ~70k buyers: 0.4 s against 1.0–1.4 s for the semi-join over a parallel scan). Not
    for checking a few customers: the array holds every customer who did X."""
    return Customer.objects.for_workspace(workspace_id).filter(
        condition_q(workspace_id=workspace_id, condition=condition, now=now, whole_workspace=whole_workspace)
    )
