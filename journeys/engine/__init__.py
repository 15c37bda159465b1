"""The engine: advances batches of enrollments through their version's graph — one code path for
triggers, timers, events, signals and simulation.

Modules: run.py (advance, the run loop, outcomes), context.py (StepContext, Wake), rows.py (lock
and load, bulk writes, the StepEvent COPY), versions.py (compiled versions). What leaves for a
worker (batches, timer wakes, signals) goes through journeys/dispatch.py.

The contract for node executors (journeys/nodes/*.py here, message/webhook in channels_app):

* `execute(ctx: StepContext) -> Result` runs when an enrollment arrives at the node;
  `resume(ctx, wake: Wake) -> Result` runs when a `Wait` it returned ends. Results are
  Next(handle) | Wait(until, event, where, data) | Exit(reason) | Complete | Fail (nodes/base.py).
* `ctx.enrollment` has the Enrollment model's field attributes (id, step_seq, wake_at, context…)
  on a plain row object, not a model instance: read it, never save it.
* `ctx.customer` is the Customer model instance, built on first use (`ctx.customer_id` when the
  id is all a node needs: a batch that never touches a profile never builds one).
* `Wake.kind` is "timer" (`Wait.until` passed), "event" (the awaited event arrived; payload
  {"name", "properties", "event_id", "occurred_at"}) or "signal" (`journeys.dispatch.signal()`; payload
  as given). `ctx.wait_data` is the `Wait.data` the node parked with.
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
* `journeys.dispatch.signal(enrollment_id=, step_seq=, payload=)` wakes one waiting enrollment
  with a payload (a send succeeded or failed, a receipt arrived); it is a no-op once the
  enrollment moved on. A resume that returns `Wait` again stays on the same step_seq, so later
  receipts still match.
"""


from .context import StepContext, Wake, stable_bucket, zone_or_none
from .rows import EnrollmentRow, raw_cursor
from .run import LIVE, AdvanceReport, advance
from .versions import CompiledVersion, compiled_version

__all__ = [
    "LIVE", "AdvanceReport", "CompiledVersion", "EnrollmentRow", "StepContext", "Wake", "advance", "compiled_version",
    "raw_cursor", "stable_bucket", "zone_or_none",
]
