"""The engine: advances batches of enrollments through their version's graph — one code path for
triggers, timers, events, signals and simulation.

The contract for node executors (journeys/nodes/*.py here, message/webhook in channels_app):

* `execute(ctx: StepContext) -> Result` runs when an enrollment arrives at the node;
  `resume(ctx, wake: Wake) -> Result` runs when a `Wait` it returned ends. Results are
  Next(handle) | Wait(until, event, where, data) | Exit(reason) | Complete | Fail (nodes/base.py).
* `ctx.enrollment` has the Enrollment model's field attributes (id, step_seq, wake_at, context…)
  on a plain row object, not a model instance: read it, never save it.
* `ctx.customer` is the Customer model instance, built on first use (`ctx.customer_id` when the
  id is all a node needs: a batch that never touches a profile never builds one).
* `Wake.kind` is "timer" (`Wait.until` passed), "event" (the awaited event arrived; payload
  {"name", "properties", "event_id", "occurred_at"}) or "signal" (`signal()` below; payload as
  given). `ctx.wait_data` is the `Wait.data` the node parked with.
* `(ctx.enrollment.id, ctx.step_seq)` identifies one visit to one node. Use it as the
  idempotency key of side effects (the Message row's unique key): a batch that crashed before
  its commit is re-run from the same step_seq, and its rows rolled back with it.
* Rows written in `execute` share the batch's transaction (a savepoint wraps types with
  `sends_messages`, so their database errors fail the enrollment, not the batch). Anything that
  leaves the process (enqueue a send, HTTP) goes through `ctx.on_commit(fn)`: after commit in a
  real run; recorded and never called when `ctx.simulate` is true.
* Holdout customers never reach an executor of a `sends_messages` type: the engine passes them
  through `next` (or `no` when the node only has yes/no/failed) with StepEvent data
  {"holdout": true}. `ctx.holdout` is there for anything else that should differ.
* `signal(enrollment_id=, step_seq=, payload=)` wakes one waiting enrollment with a payload (a
  send succeeded or failed, a receipt arrived); it is a no-op once the enrollment moved on. A
  resume that returns `Wait` again stays on the same step_seq, so later receipts still match.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from psycopg.types.json import Jsonb

from audiences.models import Customer
from templating import customer_liquid, liquid_context, render_liquid  # noqa: F401 (re-exported)
from templating.render import memo_key as _memo_key  # noqa: F401 (re-exported)
from workspaces.models import Workspace

from .models import Enrollment, JourneyVersion, StepEvent
from .nodes.base import Complete, Exit, Fail, Next, NodeType, Result, Wait, get_node_type

logger = logging.getLogger(__name__)


def raw_cursor() -> psycopg.Cursor:
    """A psycopg cursor with server-side binding on the ORM's connection and transaction: the
    bulk statements' arrays travel as parameters instead of being quoted in Python. The engine's
    hot statements also pass `prepare=True`: parsed and planned once per connection (Django
    leaves psycopg's automatic preparing off)."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)

# LIMITS.md: ~100 enrollments per task with set-based SQL reaches ~29k steps/s; per-customer tasks
# stall at ~680/s. 250 halves the per-task overhead again (Celery ~1 ms of CPU per task) while a
# batch still commits within tens of milliseconds. (500 was no better in one bench run under
# load ~18: 89 µs CPU per step against 67 µs at 250.)
BATCH_SIZE = 250
# A run stops after this many node executions per enrollment and re-queues it, so one long
# straight path cannot hold a batch's row locks for long. Graphs are acyclic (graph.py).
MAX_STEPS_PER_RUN = 50
# A timer task for a wait whose wake_at is this close ahead fires (clock skew between processes).
TIMER_TOLERANCE = timedelta(milliseconds=500)
# Lock contention (SKIP LOCKED left rows out): retry those items this many times, backing off.
MAX_LOCK_RETRIES = 8

LIVE = (Enrollment.State.ACTIVE, Enrollment.State.WAITING)
# Plain strings on the hot path (the TextChoices members compare equal, but cost an enum lookup).
ACTIVE, WAITING, COMPLETED, EXITED, FAILED = "active", "waiting", "completed", "exited", "failed"
EMPTY: dict = {}
Outcome = tuple[Result, dict]  # an executor's result and the notes it left for the StepEvent


# ---- The contract ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Wake:
    """Why a waiting enrollment resumes: kind "timer" | "event" | "signal", with its payload."""

    kind: str
    payload: dict = field(default_factory=dict)


def stable_bucket(*parts: Any, buckets: int = 10_000) -> int:
    """A deterministic bucket in [0, buckets) for sticky choices (holdout, split paths)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


@lru_cache(maxsize=512)
def zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, KeyError, OSError):
        return None


@dataclass
class CompiledVersion:
    """A version's graph in the shape the engine walks: nodes by id, edges by (source, handle)."""

    id: int
    journey_id: int
    workspace_id: int
    graph: dict
    settings: dict
    nodes: dict[str, dict]
    edges: dict[tuple[str, str], str]
    start_id: str | None

    @classmethod
    def build(cls, *, id: int, journey_id: int, workspace_id: int, graph: dict, settings: dict):
        nodes = {n["id"]: n for n in graph.get("nodes", []) if isinstance(n, dict) and "id" in n}
        edges = {
            (e.get("source"), e.get("source_handle")): e.get("target")
            for e in graph.get("edges", [])
            if isinstance(e, dict)
        }
        start = next((nid for nid, n in nodes.items() if n.get("type") == "start"), None)
        return cls(id, journey_id, workspace_id, graph, settings or {}, nodes, edges, start)

    @property
    def exit_conditions(self) -> list[dict]:
        return list(self.settings.get("exit_conditions") or [])

    @property
    def goals(self) -> list[dict]:
        return list(self.settings.get("goals") or [])

    def conditions(self) -> list[dict]:
        """Every condition this version may evaluate, so facts load once for all of them."""
        found = [*self.exit_conditions, *(g.get("condition") for g in self.goals)]
        for node in self.nodes.values():
            config = node.get("config") or {}
            if node.get("type") == "branch":
                found += [g.get("condition") for g in config.get("groups") or [] if isinstance(g, dict)]
            elif node.get("type") == "event_branch":
                found.append(event_branch_condition(config))
        return [c for c in found if isinstance(c, dict)]


def event_branch_condition(config: dict) -> dict:
    """An event_branch's question as a condition of the condition language."""
    condition: dict = {"event": config.get("event"), "within": config.get("within", "since_entry")}
    if config.get("where"):
        condition["where"] = config["where"]
    return condition


_versions: dict[int, CompiledVersion] = {}


def compiled_version(version_id: int) -> CompiledVersion | None:
    """Versions are immutable, so each process compiles each one once."""
    version = _versions.get(version_id)
    if version is None:
        row = (
            JourneyVersion.objects.unscoped()
            .filter(id=version_id)
            .values("id", "journey_id", "workspace_id", "graph", "settings")
            .first()
        )
        if row is None:
            return None
        version = CompiledVersion.build(**row)
        if len(_versions) > 1000:
            _versions.clear()
        _versions[version_id] = version
    return version


ENROLLMENT_FIELDS = (
    "id", "workspace_id", "journey_id", "version_id", "customer_id", "state", "node_id", "step_seq",
    "wake_at", "entered_at", "finished_at", "exit_reason", "holdout", "context", "goals", "wait",
)


class EnrollmentRow:
    """An enrollment as the engine carries it: the Enrollment model's attribute names on a plain
    slotted object (an ORM instance costs more to build than the node executions it feeds)."""

    __slots__ = ENROLLMENT_FIELDS

    def __init__(self, values: Iterable) -> None:
        for name, value in zip(ENROLLMENT_FIELDS, values, strict=True):
            setattr(self, name, value)


AnyEnrollment = EnrollmentRow | Enrollment  # simulation runs an unsaved Enrollment


_EMPTY_JSON = {"{}": dict, "[]": list}


def _json(value: Any) -> Any:
    """jsonb read as text (see _LOCK_AND_LOAD): the empty values most rows hold skip the decoder."""
    if not isinstance(value, str):
        return value
    empty = _EMPTY_JSON.get(value)
    return empty() if empty is not None else json.loads(value)


_CUSTOMER_FIELDS = Customer._meta.concrete_fields
_CUSTOMER_NAMES = [f.attname for f in _CUSTOMER_FIELDS]
_CUSTOMER_JSON = [i for i, f in enumerate(_CUSTOMER_FIELDS) if f.get_internal_type() == "JSONField"]
_CUSTOMER_ID_AT = _CUSTOMER_NAMES.index("id")
_JSON_AT = [ENROLLMENT_FIELDS.index(name) for name in ("context", "goals", "wait")]

# One round trip locks and loads a batch: enrollments (SKIP LOCKED) joined with their customers.
# "Not finished" rather than "state IN ('active', 'waiting')": the latter matches the predicate of
# enrollment_one_active_per_customer, and the generic plan of the prepared statement then ANDs a
# scan of that whole index (every live row) with the primary key (measured: 4 ms per batch).
# jsonb columns come as text: psycopg's jsonb loader would decode every one of them, while most
# enrollments hold empty ones and a customer's are only decoded if a node builds the customer.
_LOCK_AND_LOAD = (
    "SELECT " + ", ".join(f"e.{name}::text" if i in _JSON_AT else f"e.{name}" for i, name in enumerate(ENROLLMENT_FIELDS))
    + ", " + ", ".join(f"c.{f.column}::text" if i in _CUSTOMER_JSON else f"c.{f.column}" for i, f in enumerate(_CUSTOMER_FIELDS))
    + " FROM journeys_enrollment e JOIN audiences_customer c ON c.id = e.customer_id"
    " WHERE e.id = ANY(%b) AND e.state NOT IN ('completed', 'exited', 'failed')"
    " ORDER BY e.id FOR UPDATE OF e SKIP LOCKED"
)
# Timer wakes (the pump's batches) lock the enrollments alone and load customers for the batch on
# first use (_Run.customer): a wait that passes on to a message-free path never builds one, and at
# the pump's 1,000 ids the planner hashed the join over a seq scan of every customer (EXPLAIN
# ANALYZE: 14 of 24 ms per batch at 100k customers).
_LOCK_WAKES = (
    "SELECT " + ", ".join(f"e.{name}::text" if i in _JSON_AT else f"e.{name}" for i, name in enumerate(ENROLLMENT_FIELDS))
    + " FROM journeys_enrollment e"
    " WHERE e.id = ANY(%b) AND e.state NOT IN ('completed', 'exited', 'failed')"
    " ORDER BY e.id FOR UPDATE SKIP LOCKED"
)
_LOAD_CUSTOMERS = (
    "SELECT " + ", ".join(f"c.{f.column}::text" if i in _CUSTOMER_JSON else f"c.{f.column}" for i, f in enumerate(_CUSTOMER_FIELDS))
    + " FROM audiences_customer c WHERE c.id = ANY(%b)"
)


def _customer_from_row(values: list) -> Customer:
    """What Customer.from_db builds, without Model.__init__'s per-field descriptor and signal work
    (Customer defines no __init__ of its own): a branch node builds one per customer of a batch."""
    for i in _CUSTOMER_JSON:
        values[i] = _json(values[i])
    customer = Customer.__new__(Customer)
    customer.__dict__.update(zip(_CUSTOMER_NAMES, values, strict=True))
    customer._state = ModelState()
    customer._state.adding = False
    customer._state.db = DEFAULT_DB_ALIAS
    return customer


class _FactsGroup:
    """Condition facts of one version's customers in a batch, loaded with one facts_for call on
    first use (never per customer). Facts hold the customer object itself, so profile changes
    made earlier in the run are seen without reloading."""

    def __init__(self, *, workspace_id: int, conditions: list[dict], customers: dict[int, Customer],
                 entered_at: dict[int, datetime], extra_events: list | None = None):
        self.workspace_id = workspace_id
        self.conditions = conditions
        self.customers = customers
        self.entered_at = entered_at
        self.extra_events = extra_events or []  # simulation: unsaved Event objects
        self.loaded: dict[int, Any] | None = None

    def _load(self, customers: list[Customer]) -> dict[int, Any]:
        from audiences.conditions import facts_for

        facts = facts_for(
            workspace_id=self.workspace_id,
            customers=customers,
            conditions=self.conditions,
            entered_at=self.entered_at,
        )
        if self.extra_events:
            for item in facts.values():
                item.events = sorted([*item.events, *self.extra_events], key=lambda ev: ev.occurred_at)
        return facts

    def get(self, customer_id: int):
        if self.loaded is None:
            self.loaded = dict(self._load(list(self.customers.values())))
        if customer_id not in self.loaded:
            self.loaded.update(self._load([self.customers[customer_id]]))
        return self.loaded[customer_id]


@dataclass
class _CustomerPatch:
    """Profile changes of one customer, applied as a JSONB patch (not a rewrite), so concurrent
    API updates of other attributes are not lost."""

    attributes: dict = field(default_factory=dict)
    unset: set = field(default_factory=set)
    add_tags: set = field(default_factory=set)
    remove_tags: set = field(default_factory=set)


class StepContext:
    """What an executor gets for one enrollment at one node."""

    def __init__(self, run: _Run, enrollment: AnyEnrollment, node: dict, version: CompiledVersion, wait_data: dict):
        self._run = run
        self.enrollment = enrollment
        self.customer_id: int = enrollment.customer_id
        self.node = node
        self.node_id: str = node["id"]
        self.config: dict = node.get("config") or {}
        self.version = version
        self.graph: dict = version.graph
        self.settings: dict = version.settings
        self.journey_id: int = enrollment.journey_id
        self.journey_name: str = run.journey_names.get(enrollment.journey_id, "")
        self.workspace_id: int = enrollment.workspace_id
        self.now: datetime = run.now
        self.step_seq: int = enrollment.step_seq
        self.holdout: bool = enrollment.holdout
        self.simulate: bool = run.simulate
        self.wait_data: dict = wait_data
        self.notes: dict = {}

    @property
    def customer(self) -> Customer:
        """The enrollment's customer, with profile changes made earlier in this run."""
        return self._run.customer(self.customer_id)

    # -- the trigger event and templates
    @property
    def event(self) -> dict:
        """The trigger event's properties (Liquid `event`)."""
        return (self.enrollment.context or {}).get("event") or {}

    @property
    def timezone(self) -> ZoneInfo:
        """The customer's timezone, else the workspace's, else UTC."""
        return (
            zone_or_none(self.customer.timezone)
            or zone_or_none(self._run.workspace_timezone(self.workspace_id))
            or ZoneInfo("UTC")
        )

    def liquid_context(self) -> dict:
        return liquid_context(
            customer=self.customer,
            event=self.event,
            journey={"id": self.journey_id, "name": self.journey_name},
        )

    def render(self, source: str) -> str:
        return render_liquid(source, self.liquid_context())

    # -- conditions
    def facts(self):
        """The customer's condition facts (audiences.conditions.facts_for), loaded for the batch."""
        return self._run.facts_group(self.enrollment, self.version).get(self.customer_id)

    def matches(self, condition: dict) -> bool:
        from audiences.conditions import evaluate

        return bool(evaluate(condition, self.facts(), now=self.now))

    # -- effects
    def on_commit(self, fn: Callable[[], Any]) -> None:
        """Runs `fn` after the batch commits; in simulation it is recorded, never called."""
        self._run.effects.append(fn)

    def note(self, **data: Any) -> None:
        """Adds details to this step's StepEvent data and the simulation's step (e.g. the rendered
        message)."""
        self.notes.update(data)

    def update_customer(self, *, set: dict | None = None, unset: Iterable[str] = (),
                        add_tags: Iterable[str] = (), remove_tags: Iterable[str] = ()) -> None:
        """Changes the profile now (later nodes see it) and stores it with the batch."""
        self._run.patch_customer(self.customer, set or {}, list(unset), list(add_tags), list(remove_tags))


# ---- One run over a batch -------------------------------------------------------------------
class _Run:
    """Runs executors for a set of loaded enrollments in memory and collects every write."""

    def __init__(self, *, now: datetime, simulate: bool = False):
        self.now = now
        self.simulate = simulate
        self.customers: dict[int, Customer] = {}
        # Customers as loaded, turned into model instances on first use: a wait → exit run never
        # needs one (see customer()).
        self.customer_rows: dict[int, list] = {}
        # Customers of enrollments locked without them (timer wakes): loaded together on first use.
        self.deferred_customers: set[int] = set()
        # Woken by a timer wake: the pump popped its Redis member, so there is nothing to clear (a
        # reconciler re-queue may leave one behind; the pump pops it and the wake finds nothing due).
        self.timers_popped: set[int] = set()
        self.journey_status: dict[int, str] = {}
        self.journey_names: dict[int, str] = {}
        self.workspace_tz: dict[int, str] = {}
        self.versions: dict[int, CompiledVersion] = {}
        self.steps: list[tuple] = []  # StepEvent rows (see _write_steps)
        self.step_log: list[dict] = []  # the same, readable (simulation output)
        self.dirty: dict[int, AnyEnrollment] = {}
        self.timers_set: dict[int, datetime] = {}
        self.timers_clear: set[int] = set()
        self.followups: list[tuple[int, int]] = []
        self.effects: list[Callable[[], Any]] = []
        self.patches: dict[int, _CustomerPatch] = {}
        self._facts: dict[int, _FactsGroup] = {}
        self.extra_events: list | None = None  # simulation: unsaved Event objects
        self.batch: list[AnyEnrollment] = []  # every enrollment of this run (facts load for all)
        self.executions = 0

    def customer(self, customer_id: int) -> Customer:
        found = self.customers.get(customer_id)
        if found is None:
            if customer_id in self.deferred_customers:
                self._load_deferred_customers()
            found = self.customers[customer_id] = _customer_from_row(self.customer_rows.pop(customer_id))
        return found

    def has_customer(self, customer_id: int) -> bool:
        # A deferred customer exists: the enrollment's foreign key holds it, and a deletion has to
        # delete the enrollment we hold locked first.
        return (customer_id in self.customers or customer_id in self.customer_rows
                or customer_id in self.deferred_customers)

    def _load_deferred_customers(self) -> None:
        """Loads every deferred customer of the batch in one statement (never one per customer)."""
        ids = sorted(self.deferred_customers)
        self.deferred_customers.clear()
        with raw_cursor() as cursor:
            cursor.execute(_LOAD_CUSTOMERS, [ids], prepare=True, binary=True)
            for row in cursor.fetchall():
                self.customer_rows[row[_CUSTOMER_ID_AT]] = list(row)

    def workspace_timezone(self, workspace_id: int) -> str:
        """The workspace's timezone name, loaded on first use (most customers carry their own)."""
        if workspace_id not in self.workspace_tz:
            self.workspace_tz[workspace_id] = (
                Workspace.objects.filter(id=workspace_id).values_list("timezone", flat=True).first() or ""
            )
        return self.workspace_tz[workspace_id]

    # -- facts and profile changes
    def facts_group(self, enrollment: AnyEnrollment, version: CompiledVersion) -> _FactsGroup:
        group = self._facts.get(version.id)
        if group is None:
            same = [e for e in self.batch if e.version_id == version.id and self.has_customer(e.customer_id)]
            members = {e.customer_id: self.customer(e.customer_id) for e in same}
            entered = {e.customer_id: e.entered_at for e in same}
            group = _FactsGroup(
                workspace_id=version.workspace_id,
                conditions=version.conditions(),
                customers=members,
                entered_at=entered,
                extra_events=self.extra_events,
            )
            self._facts[version.id] = group
        group.customers.setdefault(enrollment.customer_id, self.customer(enrollment.customer_id))
        group.entered_at.setdefault(enrollment.customer_id, enrollment.entered_at)
        return group

    def patch_customer(self, customer: Customer, set_: dict, unset: list, add_tags: list, remove_tags: list):
        patch = self.patches.setdefault(customer.id, _CustomerPatch())
        attributes = dict(customer.attributes or {})
        for name, value in set_.items():
            attributes[name] = value
            patch.attributes[name] = value
            patch.unset.discard(name)
        for name in unset:
            attributes.pop(name, None)
            patch.attributes.pop(name, None)
            patch.unset.add(name)
        tags = list(customer.tags or [])
        for tag in add_tags:
            if tag not in tags:
                tags.append(tag)
            patch.add_tags.add(tag)
            patch.remove_tags.discard(tag)
        for tag in remove_tags:
            tags = [t for t in tags if t != tag]
            patch.remove_tags.add(tag)
            patch.add_tags.discard(tag)
        customer.attributes = attributes
        customer.tags = tags

    # -- recording moves
    def record(self, e: AnyEnrollment, kind: str, *, handle: str = "", to_node_id: str = "",
               data: dict | None = None) -> None:
        """One StepEvent; a "passed" with `to_node_id` is also the arrival there (models.StepEvent)."""
        self.steps.append(
            (e.workspace_id, e.id, e.journey_id, e.version_id, e.customer_id, e.node_id, kind, handle,
             to_node_id, e.step_seq, self.now, data or EMPTY)
        )
        if self.simulate:
            self.step_log.append(
                {"node_id": e.node_id, "kind": kind, "handle": handle, "step_seq": e.step_seq,
                 "at": self.now, "data": data or {}}
            )
            if to_node_id:
                self.step_log.append(
                    {"node_id": to_node_id, "kind": StepEvent.Kind.ARRIVED, "handle": "",
                     "step_seq": e.step_seq + 1, "at": self.now, "data": {}}
                )
        self.dirty[e.id] = e

    def _finish(self, e: AnyEnrollment, state: str, kind: str, reason: str = "", data: dict | None = None):
        self.record(e, kind, data=data)
        if e.state == WAITING and e.wake_at is not None:
            self.timers_clear.add(e.id)
        e.state = state
        e.finished_at = self.now
        e.exit_reason = reason
        e.wake_at = None
        e.wait = {}
        e.step_seq += 1

    def exit(self, e: AnyEnrollment, reason: str) -> None:
        self._finish(e, EXITED, StepEvent.Kind.EXITED, reason, {"reason": reason})

    # -- journey-level rules, checked on every touch and before every node
    def check_exit_and_goals(self, e: AnyEnrollment, version: CompiledVersion) -> bool:
        """Records newly reached goals; exits on an exit condition or an exiting goal. True when
        the enrollment is still in the journey."""
        if not version.exit_conditions and not version.goals:
            return True
        from audiences.conditions import evaluate

        facts = self.facts_group(e, version).get(e.customer_id)
        for condition in version.exit_conditions:
            if evaluate(condition, facts, now=self.now):
                self.exit(e, "exit_condition")
                return False
        reached = {g.get("id") for g in e.goals or []}
        for goal in version.goals:
            if goal.get("id") in reached or not isinstance(goal.get("condition"), dict):
                continue
            if evaluate(goal["condition"], facts, now=self.now):
                e.goals = [*(e.goals or []), {"id": goal["id"], "at": self.now.isoformat()}]
                self.record(e, StepEvent.Kind.GOAL, data={"goal_id": goal["id"]})
                if goal.get("exit"):
                    self.exit(e, "goal")
                    return False
        return True

    # -- executing
    def _context(self, e: AnyEnrollment, version: CompiledVersion, node: dict) -> StepContext:
        return StepContext(self, e, node, version, (e.wait or {}).get("data") or {})

    def _call(self, node_type: NodeType, fn: Callable[[], Result], e: AnyEnrollment) -> Result:
        """Runs an executor; a crash fails this enrollment, not the batch."""
        self.executions += 1
        try:
            if node_type.sends_messages and not self.simulate:
                with transaction.atomic():  # a savepoint: its rows roll back alone
                    return fn()
            return fn()
        except DatabaseError as exc:
            if not node_type.sends_messages or self.simulate:
                raise  # no savepoint: the transaction is broken, the whole batch retries
            logger.exception("executor %s failed for enrollment %s", node_type.type, e.id)
            return Fail(f"error: {exc.__class__.__name__}")
        except Exception as exc:
            logger.exception("executor %s failed for enrollment %s", node_type.type, e.id)
            return Fail(f"error: {exc.__class__.__name__}: {exc}"[:64])

    def execute(self, e: AnyEnrollment, version: CompiledVersion) -> Outcome:
        node = version.nodes.get(e.node_id)
        node_type = get_node_type(node.get("type")) if node else None
        if node is None or node_type is None:
            return Fail("node_missing"), {}
        if e.holdout and node_type.sends_messages:
            handles = node_type.handles(node.get("config") or {})
            return Next("next" if "next" in handles or not handles else "no"), {"holdout": True}
        ctx = self._context(e, version, node)
        return self._call(node_type, lambda: node_type.execute(ctx), e), ctx.notes

    def resume(self, e: AnyEnrollment, version: CompiledVersion, wake: Wake) -> Outcome:
        node = version.nodes.get(e.node_id)
        node_type = get_node_type(node.get("type")) if node else None
        if node is None or node_type is None:
            return Fail("node_missing"), {}
        ctx = self._context(e, version, node)
        return self._call(node_type, lambda: node_type.resume(ctx, wake), e), ctx.notes

    def apply(self, e: AnyEnrollment, version: CompiledVersion, outcome: Outcome) -> None:
        """Moves the enrollment according to its node's result."""
        result, notes = outcome
        if isinstance(result, Next):
            target = version.edges.get((e.node_id, result.handle))
            if target not in version.nodes:
                target = None
            self.record(e, StepEvent.Kind.PASSED, handle=result.handle, to_node_id=target or "", data=notes)
            if e.state == WAITING and e.wake_at is not None:
                self.timers_clear.add(e.id)
            if target is None:
                self._finish(e, COMPLETED, StepEvent.Kind.COMPLETED)
                return
            e.node_id = target
            e.step_seq += 1
            e.state = ACTIVE
            e.wake_at = self.now
            e.wait = {}
        elif isinstance(result, Wait):
            until = result.until
            if until is not None and timezone.is_naive(until):
                until = timezone.make_aware(until, ZoneInfo("UTC"))
            if e.state == WAITING and e.wake_at is not None and until is None:
                self.timers_clear.add(e.id)
            e.state = WAITING
            e.wake_at = until
            e.wait = {"event": result.event, "where": result.where, "data": result.data}
            if until is not None:
                self.timers_set[e.id] = until
            self.record(
                e, StepEvent.Kind.WAITING,
                data={**notes, "wake_at": until.isoformat() if until else None, "event": result.event},
            )
        elif isinstance(result, Exit):
            self._finish(e, EXITED, StepEvent.Kind.EXITED, result.reason,
                         {**notes, "reason": result.reason})
        elif isinstance(result, Complete):
            self._finish(e, COMPLETED, StepEvent.Kind.COMPLETED, data=notes)
        elif isinstance(result, Fail):
            self._finish(e, FAILED, StepEvent.Kind.FAILED, result.reason,
                         {**notes, "reason": result.reason})
        else:
            self._finish(e, FAILED, StepEvent.Kind.FAILED, "bad_result",
                         {"reason": f"executor returned {result!r}"[:200]})

    def wake_result(self, e: AnyEnrollment, version: CompiledVersion, wake: Wake | None) -> Outcome | None:
        """What a wake does to a waiting enrollment; None leaves it waiting."""
        wait = e.wait or {}
        if wake is None or wake.kind == "timer":
            if e.wake_at is None or e.wake_at > self.now + TIMER_TOLERANCE:
                return None  # an early or stale timer: the real one is still set
            if wake is not None:
                self.timers_popped.add(e.id)
            if wait.get("entry"):
                e.state = ACTIVE
                e.wait = {}
                return self.execute(e, version)
            return self.resume(e, version, Wake("timer", {"wake_at": e.wake_at.isoformat()}))
        if wake.kind == "event":
            if not wait.get("event") or wait["event"] != wake.payload.get("name"):
                return None
            from audiences.conditions import event_matches

            spec = {"event": wait["event"], "where": wait.get("where") or []}
            if not event_matches(spec, wake.payload.get("name"), wake.payload.get("properties") or {}):
                return None
            return self.resume(e, version, wake)
        if wake.kind == "signal":
            return self.resume(e, version, wake)
        return None

    def run_enrollment(self, e: AnyEnrollment, wake: Wake | None) -> None:
        """Runs one enrollment until it waits, leaves, or used its steps for this run."""
        version = self.versions[e.version_id]
        if not self.check_exit_and_goals(e, version):
            return
        if e.state == WAITING:
            result = self.wake_result(e, version, wake)
            if result is None:
                return
            self.apply(e, version, result)
        steps = 0
        while e.state == ACTIVE and steps < MAX_STEPS_PER_RUN:
            if steps and not self.check_exit_and_goals(e, version):
                return
            self.apply(e, version, self.execute(e, version))
            steps += 1
        if e.state == ACTIVE:
            self.followups.append((e.id, e.step_seq))
            self.dirty[e.id] = e


# ---- Loading, locking and writing -----------------------------------------------------------
def _lock_and_load(run: _Run, ids: list[int], *, customers: bool = True) -> list[EnrollmentRow]:
    """Locks the live enrollments among `ids` (SKIP LOCKED) and loads them with their customers,
    in one prepared statement, as plain rows (customers become model instances on first use).
    Without `customers` (timer wakes, see _LOCK_WAKES) the customers load on first use."""
    locked = []
    width = len(ENROLLMENT_FIELDS)
    with raw_cursor() as cursor:
        # Binary results: timestamps and arrays decode without parsing text.
        cursor.execute(_LOCK_AND_LOAD if customers else _LOCK_WAKES, [ids], prepare=True, binary=True)
        for row in cursor.fetchall():
            values = list(row[:width])
            for i in _JSON_AT:
                values[i] = _json(values[i])
            e = EnrollmentRow(values)
            locked.append(e)
            if customers:
                run.customer_rows[row[width + _CUSTOMER_ID_AT]] = list(row[width:])
            else:
                run.deferred_customers.add(e.customer_id)
    return locked


def _load_versions(run: _Run, enrollments: list[AnyEnrollment]) -> None:
    for version_id in {e.version_id for e in enrollments}:
        version = compiled_version(version_id)
        if version is not None:
            run.versions[version_id] = version


# Binary COPY: no text formatting of timestamps and integers on either side.
_COPY_STEPS = (
    "COPY journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id, customer_id,"
    " node_id, kind, handle, to_node_id, step_seq, at, data) FROM STDIN (FORMAT BINARY)"
)
_STEP_TYPES = [
    "int8", "int8", "int8", "int8", "int8", "varchar", "varchar", "varchar", "varchar", "int4", "timestamptz", "jsonb",
]
_EMPTY_JSONB = Jsonb({}, dumps=lambda _: "{}")  # most steps carry no data: skip the encoder


def _json_dumps(data: Any) -> str:
    return json.dumps(data, default=str)


def _write_steps(rows: list[tuple]) -> None:
    if not rows:
        return
    with raw_cursor() as cursor, cursor.copy(_COPY_STEPS) as copy:
        copy.set_types(_STEP_TYPES)
        for row in rows:
            data = row[11]
            copy.write_row((*row[:11], Jsonb(data, dumps=_json_dumps) if data else _EMPTY_JSONB))


# The batch's rows travel as one JSON document: one C-speed json.dumps, where ten parameter
# arrays cost psycopg a Python call per element (measured: the largest part of writing a batch).
# Timestamps and jsonb are read as text and cast: json_to_recordset's own conversion of those
# columns cost twice as much (measured: ~4 µs of PostgreSQL CPU per row).
_UPDATE_ENROLLMENTS = """
    UPDATE journeys_enrollment AS e SET
        state = v.state, node_id = v.node_id, step_seq = v.step_seq, wake_at = v.wake_at::timestamptz,
        finished_at = v.finished_at::timestamptz, exit_reason = v.exit_reason,
        goals = v.goals::jsonb, wait = v.wait::jsonb, version_id = v.version_id
    FROM json_to_recordset(%s::json)
         AS v(id bigint, state text, node_id text, step_seq int, wake_at text, finished_at text,
              exit_reason text, goals text, wait text, version_id bigint)
    WHERE e.id = v.id
"""


def _write_enrollments(enrollments: Iterable[AnyEnrollment]) -> None:
    rows = [
        {"id": e.id, "state": e.state, "node_id": e.node_id, "step_seq": e.step_seq, "wake_at": e.wake_at,
         "finished_at": e.finished_at, "exit_reason": e.exit_reason, "goals": e.goals or [], "wait": e.wait or {},
         "version_id": e.version_id}
        for e in enrollments
    ]
    if not rows:
        return
    with raw_cursor() as cursor:
        # default=str writes datetimes as "2026-01-01 10:00:00.5+00:00", which timestamptz reads.
        cursor.execute(_UPDATE_ENROLLMENTS, [json.dumps(rows, default=str)], prepare=True)


def _write_customers(patches: dict[int, _CustomerPatch], now: datetime) -> None:
    if not patches:
        return
    # jsonb values are read as text and cast, as in _UPDATE_ENROLLMENTS (measured: 2 against 5 ms
    # of PostgreSQL time per 250 customers for json_to_recordset's own jsonb columns).
    ids = sorted(patches)
    with raw_cursor() as cursor:
        # Lock in id order first, so two batches touching the same customers cannot deadlock.
        cursor.execute(
            "SELECT id FROM audiences_customer WHERE id = ANY(%b) ORDER BY id FOR NO KEY UPDATE", [ids], prepare=True
        )
        rows = [
            {"id": i, "set_attrs": patches[i].attributes, "unset": sorted(patches[i].unset),
             "add_tags": sorted(patches[i].add_tags), "remove_tags": sorted(patches[i].remove_tags),
             "touch_tags": bool(patches[i].add_tags or patches[i].remove_tags)}
            for i in ids
        ]
        cursor.execute(
            """
            UPDATE audiences_customer AS c SET
                attributes = (c.attributes || v.set_attrs::jsonb) - ARRAY(SELECT jsonb_array_elements_text(v.unset::jsonb)),
                tags = CASE WHEN v.touch_tags THEN ARRAY(
                    SELECT DISTINCT t FROM unnest(c.tags || ARRAY(SELECT jsonb_array_elements_text(v.add_tags::jsonb))) AS t
                    WHERE t <> ALL(ARRAY(SELECT jsonb_array_elements_text(v.remove_tags::jsonb)))
                ) ELSE c.tags END,
                updated_at = %s
            FROM json_to_recordset(%s::json)
                 AS v(id bigint, set_attrs text, unset text, add_tags text, remove_tags text, touch_tags bool)
            WHERE c.id = v.id
            """,
            [now, json.dumps(rows, default=str)],
            prepare=True,
        )


@dataclass
class AdvanceReport:
    """What one advance call did (for logs, tests and benchmarks)."""

    locked: int = 0
    executions: int = 0
    skipped_locked: list = field(default_factory=list)


def _normalize(items: Iterable) -> dict[int, tuple[int | None, Wake | None]]:
    """Task items [id, expected step_seq | None, wake dict | None] → id → (seq, Wake)."""
    out: dict[int, tuple[int | None, Wake | None]] = {}
    for item in items:
        item = list(item) + [None] * (3 - len(item))
        enrollment_id, seq, wake = item[0], item[1], item[2]
        out[int(enrollment_id)] = (seq, Wake(wake["kind"], wake.get("payload") or {}) if wake else None)
    return out


def advance(*, items: Iterable, now: datetime | None = None, attempt: int = 0) -> AdvanceReport:
    """THE code path: lock a batch (SKIP LOCKED), run each enrollment until it waits, leaves or
    used its steps, write positions, StepEvents, profile changes in bulk, then (after commit) set
    timers, queue follow-ups and run side effects.

    `items` are [enrollment_id, expected step_seq or None, wake or None]; an item whose
    enrollment moved past its step_seq, finished, or belongs to a journey that is not active
    (paused holds it) does nothing."""
    wanted = _normalize(items)
    report = AdvanceReport()
    if not wanted:
        return report
    run = _Run(now=now or timezone.now())
    with transaction.atomic():
        # Journeys first, FOR KEY SHARE: a stop/pause (FOR UPDATE on the journey, then its
        # enrollments) waits for running batches and later batches see it, in one lock order.
        with raw_cursor() as cursor:
            cursor.execute(
                "SELECT id, status, name FROM journeys_journey WHERE id IN"
                " (SELECT DISTINCT journey_id FROM journeys_enrollment WHERE id = ANY(%b))"
                " ORDER BY id FOR KEY SHARE",
                [list(wanted)],
                prepare=True,
            )
            for journey_id, status, name in cursor.fetchall():
                run.journey_status[journey_id] = status
                run.journey_names[journey_id] = name
        timer_wakes = all(wake is not None and wake.kind == "timer" for _, wake in wanted.values())
        locked = _lock_and_load(run, list(wanted), customers=not timer_wakes)
        report.locked = len(locked)
        missing = set(wanted) - {e.id for e in locked}
        if missing:
            # Rows another worker holds (not finished ones): retry them shortly.
            report.skipped_locked = list(
                Enrollment.objects.unscoped().filter(id__in=missing, state__in=LIVE).values_list("id", flat=True)
            )
        todo = [e for e in locked if _expected(wanted[e.id], e)]
        run.batch = todo
        if todo:
            _load_versions(run, todo)
        held = []
        for e in todo:
            if run.journey_status.get(e.journey_id) != ACTIVE:
                # Paused: hold. Timers and active rows are found again on resume; a signal or
                # event would be lost, so it is kept on the row for resume to replay.
                wake = wanted[e.id][1]
                if wake is not None and wake.kind in ("signal", "event"):
                    held.append((e.id, {"kind": wake.kind, "payload": wake.payload}))
                continue
            if e.version_id not in run.versions or not run.has_customer(e.customer_id):
                continue
            run.run_enrollment(e, wanted[e.id][1])
        _write_steps(run.steps)
        _write_enrollments(run.dirty.values())
        _write_customers(run.patches, run.now)
        _hold_wakes(held)
        _after_commit(run)
    report.executions = run.executions
    if report.skipped_locked:
        if attempt < MAX_LOCK_RETRIES:
            _retry_locked([[i, *_denormalize(wanted[i])] for i in report.skipped_locked], attempt)
        else:  # still contended: the reconciler re-queues it if it is overdue
            logger.warning("gave up on locked enrollments %s", report.skipped_locked)
    return report


def _hold_wakes(held: list[tuple[int, dict]]) -> None:
    """Appends wakes that arrived while the journey was paused to wait["held"]."""
    if not held:
        return
    with raw_cursor() as cursor:
        cursor.execute(
            """
            UPDATE journeys_enrollment AS e
            SET wait = e.wait || jsonb_build_object('held', COALESCE(e.wait->'held', '[]'::jsonb) || v.wake::jsonb)
            FROM unnest(%s::bigint[], %s::text[]) AS v(id, wake) WHERE e.id = v.id
            """,
            [[i for i, _ in held], [json.dumps([w], default=str) for _, w in held]],
        )


def _expected(entry: tuple[int | None, Wake | None], e: AnyEnrollment) -> bool:
    """A task applies to the step it was made for; signals always name theirs."""
    seq, wake = entry
    if wake is not None and wake.kind == "signal" and seq is None:
        return False
    return seq is None or seq == e.step_seq


def _denormalize(entry: tuple[int | None, Wake | None]) -> list:
    seq, wake = entry
    return [seq, {"kind": wake.kind, "payload": wake.payload} if wake else None]


def _after_commit(run: _Run) -> None:
    from . import timers

    timers_set = {i: at for i, at in run.timers_set.items() if run.dirty[i].state == WAITING}
    timers_clear = {i for i in run.timers_clear if i not in timers_set and i not in run.timers_popped}
    followups = [[i, seq, None] for i, seq in run.followups]
    effects = list(run.effects)

    def after():
        # Each part on its own: a Redis blip must not cost the others. A timer that failed to
        # set is restored by the reconciler from wake_at (late, never lost).
        for part in (lambda: timers.timers_update(add=timers_set, remove=timers_clear),
                     lambda: advance_enqueue(followups), *effects):
            try:
                part()
            except Exception:
                logger.exception("after-commit step failed")

    transaction.on_commit(after)


def _retry_locked(items: list[list], attempt: int = 0) -> None:
    from .tasks import advance_task

    for chunk in _chunks(items, BATCH_SIZE):
        advance_task.apply_async(args=[chunk], kwargs={"attempt": attempt + 1}, countdown=0.05 * (attempt + 1))


def _chunks(seq: list, size: int):
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def advance_enqueue(items: list[list], *, batch_size: int = BATCH_SIZE) -> None:
    """Queues engine batches after the current transaction commits (at once outside one)."""
    items = list(items)
    if not items:
        return

    def send():
        from .tasks import advance_task

        for chunk in _chunks(items, batch_size):
            advance_task.apply_async(args=[chunk])

    transaction.on_commit(send)


def signal(*, enrollment_id: int, step_seq: int, payload: dict) -> None:
    """Wakes one waiting enrollment at `step_seq` with `payload` (after the caller's commit); a
    no-op when the enrollment has moved on."""
    advance_enqueue([[enrollment_id, step_seq, {"kind": "signal", "payload": payload}]])
