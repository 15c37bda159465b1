"""The run loop: `advance` locks a batch, runs each enrollment through its node executors until it
waits, leaves or used its steps (Run), writes the batch (rows.py), and after commit sets timers,
queues follow-ups and runs side effects."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DatabaseError, transaction
from django.utils import timezone

from audiences.conditions import evaluate, event_matches, facts_for
from audiences.models import Customer
from workspaces.models import Workspace

from .. import dispatch
from ..models import Enrollment, StepEvent
from ..nodes.base import Complete, Exit, Fail, Next, NodeType, Result, Wait, get_node_type
from ..timers import timers_update
from . import rows
from .context import StepContext, Wake
from .goals import finished_goals_convert, first_conversion, goal_facts, keyed_facts
from .rows import AnyEnrollment, CustomerPatch, customer_from_row
from .versions import CompiledVersion, compiled_version

logger = logging.getLogger(__name__)

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


class FactsGroup:
    """Condition facts of one version's customers in a batch, loaded with one facts_for call on
    first use (never per customer). Facts hold the customer object itself, so profile changes
    made earlier in the run are seen without reloading."""

    def __init__(self, *, workspace_id: int, conditions: list[dict], customers: dict[int, Customer],
                 entered_at: dict[int, datetime], now: datetime, goals: bool = False,
                 extra_events: list | None = None):
        self.workspace_id = workspace_id
        self.conditions = conditions
        self.customers = customers
        self.entered_at = entered_at
        self.now = now  # the run's time: windows are evaluated at it
        self.goals = goals  # goal conditions are also evaluated at earlier times, from entry on
        self.extra_events = extra_events or []  # simulation: unsaved Event objects
        self.loaded: dict[int, Any] | None = None

    def _load(self, customers: list[Customer]) -> dict[int, Any]:
        # Events load only as far back as a window evaluated at the run's `now` reaches. A goal is
        # also evaluated at each event since entry (goals.first_conversion), so with goals the
        # windows are measured from the earliest entry of these customers instead.
        now = self.now
        if self.goals:
            now = min([now, *(at for c in customers if (at := self.entered_at.get(c.pk)) is not None)])
        facts = facts_for(
            workspace_id=self.workspace_id,
            customers=customers,
            conditions=self.conditions,
            entered_at=self.entered_at,
            now=now,
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


# ---- One run over a batch -------------------------------------------------------------------
class Run:
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
        self.steps: list[tuple] = []  # StepEvent rows (see rows.write_steps)
        self.step_log: list[dict] = []  # the same, readable (simulation output)
        self.dirty: dict[int, AnyEnrollment] = {}
        self.timers_set: dict[int, datetime] = {}
        self.timers_clear: set[int] = set()
        self.followups: list[tuple[int, int]] = []
        self.effects: list[Callable[[], Any]] = []
        self.patches: dict[int, CustomerPatch] = {}
        self._facts: dict[int, FactsGroup] = {}
        self.extra_events: list | None = None  # simulation: unsaved Event objects
        self.batch: list[AnyEnrollment] = []  # every enrollment of this run (facts load for all)
        self.executions = 0

    def customer(self, customer_id: int) -> Customer:
        found = self.customers.get(customer_id)
        if found is None:
            if customer_id in self.deferred_customers:
                self._load_deferred_customers()
            found = self.customers[customer_id] = customer_from_row(self.customer_rows.pop(customer_id))
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
        rows.load_customers(ids, self.customer_rows)

    def workspace_timezone(self, workspace_id: int) -> str:
        """The workspace's timezone name, loaded on first use (most customers carry their own)."""
        if workspace_id not in self.workspace_tz:
            self.workspace_tz[workspace_id] = (
                Workspace.objects.filter(id=workspace_id).values_list("timezone", flat=True).first() or ""
            )
        return self.workspace_tz[workspace_id]

    # -- facts and profile changes
    def facts_group(self, enrollment: AnyEnrollment, version: CompiledVersion) -> FactsGroup:
        group = self._facts.get(version.id)
        if group is None:
            same = [e for e in self.batch if e.version_id == version.id and self.has_customer(e.customer_id)]
            members = {e.customer_id: self.customer(e.customer_id) for e in same}
            entered = {e.customer_id: e.entered_at for e in same}
            group = FactsGroup(
                workspace_id=version.workspace_id,
                conditions=version.conditions(),
                customers=members,
                entered_at=entered,
                now=self.now,
                goals=bool(version.goals),
                extra_events=self.extra_events,
            )
            self._facts[version.id] = group
        group.customers.setdefault(enrollment.customer_id, self.customer(enrollment.customer_id))
        group.entered_at.setdefault(enrollment.customer_id, enrollment.entered_at)
        return group

    def patch_customer(self, customer: Customer, set_: dict, unset: list, add_tags: list, remove_tags: list):
        patch = self.patches.setdefault(customer.id, CustomerPatch())
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
        the enrollment is still in the journey. Goals are recorded before any exit: the purchase
        that ends a run through an exit condition is also its conversion (once the run has ended,
        the finished-run goal check no longer sees that event)."""
        if version.checks_nothing:
            return True
        facts = self.facts_group(e, version).get(e.customer_id)
        exits = any(
            evaluate(condition, keyed_facts(facts, version.key_property, e.key) if same_key else facts, now=self.now)
            for condition, same_key in zip(version.exit_conditions, version.same_key_exits, strict=True)
        )
        reached = {g.get("id") for g in e.goals or []}
        goal_exits = False
        for goal in version.goals:
            if goal.get("id") in reached:
                continue
            hit = first_conversion(goal, goal_facts(goal, facts, version, e.key), entered_at=e.entered_at, now=self.now)
            if hit is not None:
                at, value = hit
                e.goals = [*(e.goals or []), {"id": goal["id"], "at": at.isoformat(), "value": value}]
                self.record(e, StepEvent.Kind.GOAL, data={"goal_id": goal["id"], "value": value})
                goal_exits = goal_exits or bool(goal.get("exit"))
        if exits or goal_exits:
            self.exit(e, "exit_condition" if exits else "goal")
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


# ---- One batch, end to end ----------------------------------------------------------------
def _load_versions(run: Run, enrollments: list[AnyEnrollment]) -> None:
    for version_id in {e.version_id for e in enrollments}:
        version = compiled_version(version_id)
        if version is not None:
            run.versions[version_id] = version


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
    (paused holds it) does nothing.

    Python's cyclic collector is off for the batch: its rows, contexts and step tuples (tens of
    thousands of objects, freed by their reference counts) set off collector passes that walked
    the batch's objects again and again, ~4 µs of worker CPU a node execution (the in-process
    throughput journey: 26 → 22 µs a first-pass execution, 19 → 15 a timer wake). Whatever
    cycle a node leaves is collected once the batch is done and the collector is on again."""
    if not gc.isenabled():  # an enclosing caller paused it and turns it back on
        return _advance(items=items, now=now, attempt=attempt)
    gc.disable()
    try:
        return _advance(items=items, now=now, attempt=attempt)
    finally:
        gc.enable()


def _advance(*, items: Iterable, now: datetime | None, attempt: int) -> AdvanceReport:
    wanted = _normalize(items)
    report = AdvanceReport()
    if not wanted:
        return report
    run = Run(now=now or timezone.now())
    with transaction.atomic():
        # Journeys first (rows.journeys_lock says why).
        for journey_id, status, name in rows.journeys_lock(list(wanted)):
            run.journey_status[journey_id] = status
            run.journey_names[journey_id] = name
        timer_wakes = all(wake is not None and wake.kind == "timer" for _, wake in wanted.values())
        locked = rows.lock_and_load(list(wanted), customers=not timer_wakes, customer_rows=run.customer_rows,
                                    deferred_customers=run.deferred_customers)
        report.locked = len(locked)
        missing = set(wanted) - {e.id for e in locked}
        finished: dict[int, int] = {}  # enrollment → workspace, of the missing that have finished
        if missing:
            # Live rows another worker holds: retry them shortly. Finished ones: see below.
            for enrollment_id, workspace_id, state in Enrollment.objects.unscoped().filter(
                    id__in=missing).values_list("id", "workspace_id", "state"):
                if state in LIVE:
                    report.skipped_locked.append(enrollment_id)
                else:
                    finished[enrollment_id] = workspace_id
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
        rows.write_steps(run.steps)
        rows.write_enrollments(run.dirty.values())
        rows.write_customers(run.patches, run.now)
        rows.hold_wakes(held)
        _after_commit(run)
    if finished:
        _convert_late_events(finished, wanted)
    report.executions = run.executions
    if report.skipped_locked:
        if attempt < MAX_LOCK_RETRIES:
            dispatch.advance_retry([[i, *_denormalize(wanted[i])] for i in report.skipped_locked], attempt=attempt)
        else:  # still contended: the reconciler re-queues it if it is overdue
            logger.warning("gave up on locked enrollments %s", report.skipped_locked)
    return report


def _convert_late_events(finished: dict[int, int], wanted: dict[int, tuple[int | None, Wake | None]]) -> None:
    """Event wakes whose enrollment finished (completed or exited) after the ingest queued them:
    the ingest's own pass over finished enrollments (triggers.events_process) saw it live, so its
    events convert the goals whose window is open at them here, or never. `finished` maps those
    enrollments to their workspaces."""
    by_workspace: dict[int, set[int]] = {}
    for enrollment_id, workspace_id in finished.items():
        wake = wanted[enrollment_id][1]
        if wake is not None and wake.kind == "event":
            ids = wake.payload.get("event_ids") or [wake.payload.get("event_id")]
            by_workspace.setdefault(workspace_id, set()).update(int(i) for i in ids if i is not None)
    for workspace_id, event_ids in by_workspace.items():
        finished_goals_convert(workspace_id=workspace_id, event_ids=sorted(event_ids), now=timezone.now())


def _expected(entry: tuple[int | None, Wake | None], e: AnyEnrollment) -> bool:
    """A task applies to the step it was made for; signals always name theirs."""
    seq, wake = entry
    if wake is not None and wake.kind == "signal" and seq is None:
        return False
    return seq is None or seq == e.step_seq


def _denormalize(entry: tuple[int | None, Wake | None]) -> list:
    seq, wake = entry
    return [seq, {"kind": wake.kind, "payload": wake.payload} if wake else None]


def _after_commit(run: Run) -> None:
    """Sets and clears the batch's timers, queues its follow-ups and runs its side effects, after
    commit, each on its own (dispatch.after_commit_each)."""
    timers_set = {i: at for i, at in run.timers_set.items() if run.dirty[i].state == WAITING}
    timers_clear = {i for i in run.timers_clear if i not in timers_set and i not in run.timers_popped}
    followups = [[i, seq, None] for i, seq in run.followups]
    # Profiles the batch's update steps changed: the rest of the workspace reacts to them as to an
    # API change (other journeys' exit conditions and goals, wallet passes), coalesced per second.
    changed: dict[int, list[int]] = {}
    for customer_id in run.patches:
        changed.setdefault(run.customers[customer_id].workspace_id, []).append(customer_id)
    dispatch.after_commit_each(
        [lambda: timers_update(add=timers_set, remove=timers_clear), lambda: dispatch.advance_send(followups),
         *([lambda: dispatch.profile_changes_send(changed)] if changed else []), *run.effects]
    )
