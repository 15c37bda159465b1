"""Keeps the analytics rollups: folds new StepEvents and DeliveryEvents into per-hour counts,
exactly once each, and recounts the live positions of the journeys that moved.

Why not a watermark on id alone: ids are drawn when a row is inserted, but the row becomes
visible when its transaction commits, so a batch holding ids 100-199 can commit after a batch
holding 200-299. A reader that saw 200-299 and moved its watermark to 299 would never count
100-199. Here a range of ids is only "closed" (counted, never looked at again) once no
transaction that could still commit rows inside it is running:

1. read the sequence's last value L (every id <= L has been drawn already);
2. list the other transactions holding RowExclusiveLock on the table. A writer takes that lock
   when its INSERT/COPY starts, before it draws any id, and keeps it until it commits or rolls
   back; so every transaction that drew an id <= L and has not finished is in this list;
3. wait (briefly) until each of them has ended (its virtualxid lock is gone). Then every row
   with id <= L is either visible or never will be, and (closed_id, L] is counted in one
   transaction that also moves closed_id to L.

Only writers of that very table hold back the close (an unrelated long transaction does not),
and a writer still running after WRITER_WAIT_SECONDS just defers its range to the next run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from channels_app.models import DeliveryEvent
from channels_app.services import IMPLIES

from .live import journeys_counts_changed
from .models import RollupCursor

logger = logging.getLogger(__name__)

STEPS = "journeys_stepevent"
DELIVERIES = "channels_app_deliveryevent"
# Ids per transaction when catching up (a backfill of millions of rows): bounded memory and
# lock time; a normal run every few seconds sees far fewer.
CHUNK_IDS = 500_000
# Engine and send batches commit within ~100 ms (LIMITS.md batch sizes); a writer running
# longer than this only delays its range to a later run.
WRITER_WAIT_SECONDS = 2.0
# Journeys edited this recently get their live counts recounted (a publish that moves
# enrollments to the new version writes no StepEvent).
EDIT_LOOKBACK = timedelta(seconds=10)
# "failover": the message went out on another channel instead (a delivery event whose data carries
# `failover`): KakaoTalk's dealer sent the SMS/LMS (channels_app.services.dealer_results), or RCS
# went as SMS to a phone without RCS (channels_app.services.fallback); counted once per message.
# "saved": a wallet pass the message carried was saved to a phone's wallet (the delivery event the
# wallet channel records when an Apple device registers the pass or Google reports a save).
SAVED = DeliveryEvent.SAVED
MESSAGE_METRICS = (
    "sent", "delivered", "opened", "read", "clicked", "replied", "failed", "bounced", "failover",
    SAVED,
)
# Durations are counted in log-scale buckets 5% wide: bucket b holds [1.05^b - 1, 1.05^(b+1) - 1)
# seconds, so a median read from the histogram (interpolated inside its bucket) is off by less
# than 5% of (seconds + 1): ~5% for journeys of minutes or more, 7.5% at 2 s.
DURATION_BASE = 1.05


@dataclass
class RefreshReport:
    steps_closed_id: int = 0
    deliveries_closed_id: int = 0
    journeys_recounted: set[int] = field(default_factory=set)


def _closable_id(table: str) -> int | None:
    """The highest id of `table` whose rows are all final (steps 1-3 above), or None when some
    writer is still running after WRITER_WAIT_SECONDS."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))", [table])
        last = cursor.fetchone()[0]
        if last is None:
            return 0  # the sequence was never used: nothing to count
        cursor.execute(
            """
            SELECT DISTINCT virtualtransaction FROM pg_locks
            WHERE locktype = 'relation' AND relation = %s::regclass AND mode = 'RowExclusiveLock'
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND pid IS DISTINCT FROM pg_backend_pid()
            """,
            [table],
        )
        writers = [row[0] for row in cursor.fetchall()]
        deadline = time.monotonic() + WRITER_WAIT_SECONDS
        while writers:
            cursor.execute(
                "SELECT virtualxid FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY(%s)",
                [writers],
            )
            writers = [row[0] for row in cursor.fetchall()]
            if writers and time.monotonic() > deadline:
                logger.info("rollup of %s waits for writers %s", table, writers)
                return None
            if writers:
                time.sleep(0.02)
    return last


def _roll(source: str, fold, touched: set[int], *, recount: bool = True) -> int:
    """Folds (closed_id, closable] of `source` into the rollups in chunks, each chunk in one
    transaction with the cursor move; adds the journeys whose numbers moved to `touched`, and
    with `recount` recounts their live positions too. Returns the closed id (unchanged when
    another run holds the cursor)."""
    RollupCursor.objects.get_or_create(source=source)
    target = _closable_id(source)
    while True:
        with transaction.atomic():
            cursor_row = RollupCursor.objects.select_for_update(skip_locked=True).filter(source=source).first()
            if cursor_row is None:  # another run is folding this source right now
                return RollupCursor.objects.get(source=source).closed_id
            if target is None or cursor_row.closed_id >= target:
                return cursor_row.closed_id
            low, high = cursor_row.closed_id, min(target, cursor_row.closed_id + CHUNK_IDS)
            with connection.cursor() as cursor:
                # The folds group up to CHUNK_IDS rows into a few hundred groups (journeys × nodes ×
                # days), but the planner estimates one group per row and sorts them all (external
                # merge, ~3× the CPU of hashing, measured). Hashing is right at any chunk size.
                # JIT compiling costs more than it saves for statements this short.
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute("SET LOCAL jit = off")
            folded = fold(low, high)
            # Recounted in the fold's transaction: a reader never sees a chunk's finishes next to
            # live positions counted before them (e.g. completed 5 and still active 5).
            if recount:
                live_counts_recount(journey_ids=folded)
            touched |= folded
            cursor_row.closed_id = high
            cursor_row.save(update_fields=["closed_id"])


def _label_sql() -> str:
    return """left(CASE s.kind WHEN 'passed' THEN s.handle
                               WHEN 'exited' THEN coalesce(s.data->>'reason', '')
                               WHEN 'failed' THEN coalesce(s.data->>'reason', '')
                               WHEN 'goal' THEN coalesce(s.data->>'goal_id', '')
                               ELSE '' END, 100)"""


# Zone names PostgreSQL knows, asked once per process: pg_timezone_names reads every zone file
# (~0.2 s a query), and a zone it does not know would make AT TIME ZONE fail the whole fold.
_zone_known: dict[str, bool] = {}


def _zones() -> str:
    """{workspace id: zone} as JSON for the workspaces whose zone is not UTC (any other, and a
    zone PostgreSQL does not know, counts days in UTC). Resolved once per fold and passed as a
    constant, so the fold's statements carry no join whose row estimate could mislead the plan."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, timezone FROM workspaces_workspace WHERE timezone <> 'UTC'")
        zones = dict(cursor.fetchall())
        if unasked := set(zones.values()) - _zone_known.keys():
            cursor.execute("SELECT name FROM pg_timezone_names WHERE name = ANY(%s)", [sorted(unasked)])
            known = {row[0] for row in cursor.fetchall()}
            _zone_known.update({name: name in known for name in unasked})
    return json.dumps({str(ws): zone for ws, zone in zones.items() if _zone_known[zone]})


def _day_sql(at: str, workspace_id: str) -> str:
    """SQL for the date of `at` in its workspace's zone (%(zones)s is _zones())."""
    return f"({at} AT TIME ZONE coalesce(%(zones)s::jsonb ->> {workspace_id}::text, 'UTC'))::date"


def _fold_steps(low: int, high: int) -> set[int]:
    """Adds StepEvents with low < id <= high to StepRollup, NodeTotal, DurationRollup and
    DurationTotal."""
    params = {"zones": _zones(), "low": low, "high": high, "base": DURATION_BASE}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            -- Grouped twice: first the chunk's rows by their own columns (hundreds of groups out
            -- of ~500k rows, hashed), then those groups expanded into the rollups' rows.
            WITH steps AS (
                SELECT s.workspace_id, s.journey_id, s.version_id, s.node_id, s.to_node_id, s.kind,
                       {_label_sql()} AS label, {_day_sql("s.at", "s.workspace_id")} AS day,
                       coalesce(e.holdout, false) AS holdout,
                       -- an enrollment converts on its first goal: goals is append-only, so the goal
                       -- event whose id is goals[0] is the one conversion of that enrollment
                       coalesce(s.kind = 'goal' AND e.goals -> 0 ->> 'id' = s.data ->> 'goal_id', false)
                         AS converts,
                       count(*) AS n,
                       sum(CASE WHEN s.kind = 'goal' AND jsonb_typeof(s.data -> 'value') = 'number'
                                THEN (s.data ->> 'value')::float8 ELSE 0 END) AS value
                FROM journeys_stepevent s
                LEFT JOIN journeys_enrollment e ON s.kind IN ('entered', 'goal') AND e.id = s.enrollment_id
                WHERE s.id > %(low)s AND s.id <= %(high)s
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
            ), delta AS (
                SELECT s.workspace_id, s.journey_id, v.number AS version, x.node_id, s.day, x.kind, x.label,
                       x.holdout, sum(s.n)::bigint AS n,
                       sum(CASE WHEN x.kind = 'goal' THEN s.value ELSE 0 END) AS value
                FROM steps s
                JOIN journeys_journeyversion v ON v.id = s.version_id
                CROSS JOIN LATERAL (VALUES
                    (s.node_id, s.kind::text, s.label, s.kind = 'entered' AND s.holdout),
                    (s.node_id, 'converted', '', s.holdout),
                    -- a passed row also records the arrival at to_node_id (StepEvent.to_node_id)
                    (s.to_node_id, 'arrived', '', false)
                ) AS x(node_id, kind, label, holdout)
                WHERE x.node_id <> '' AND (x.kind <> 'converted' OR s.converts)
                GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            ), rollup AS (
                INSERT INTO analytics_steprollup
                    (workspace_id, journey_id, version, node_id, day, kind, label, holdout, count, value_sum)
                SELECT workspace_id, journey_id, version, node_id, day, kind, label, holdout, n, value FROM delta
                ON CONFLICT (journey_id, version, node_id, day, kind, label, holdout)
                DO UPDATE SET count = analytics_steprollup.count + EXCLUDED.count,
                              value_sum = analytics_steprollup.value_sum + EXCLUDED.value_sum
            ), totals AS (
                INSERT INTO analytics_nodetotal (workspace_id, journey_id, node_id, kind, label, count)
                SELECT workspace_id, journey_id, node_id, kind, label, sum(n) FROM delta
                GROUP BY workspace_id, journey_id, node_id, kind, label
                ON CONFLICT (journey_id, node_id, kind, label)
                DO UPDATE SET count = analytics_nodetotal.count + EXCLUDED.count
            )
            SELECT DISTINCT journey_id FROM delta
            """,
            params,
        )
        touched = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            f"""
            WITH done AS (
                SELECT s.workspace_id, s.journey_id, v.number AS version, {_day_sql("s.at", "s.workspace_id")} AS day,
                       greatest(extract(epoch FROM s.at - e.entered_at)::float8, 0) AS seconds
                FROM journeys_stepevent s
                JOIN journeys_journeyversion v ON v.id = s.version_id
                JOIN journeys_enrollment e ON e.id = s.enrollment_id
                WHERE s.id > %(low)s AND s.id <= %(high)s AND s.kind = 'completed'
            ), buckets AS (
                SELECT workspace_id, journey_id, version, day, floor(ln(1 + seconds) / ln(%(base)s))::int AS bucket,
                       count(*) AS n, sum(seconds) AS seconds
                FROM done GROUP BY 1, 2, 3, 4, 5
            ), daily AS (
                INSERT INTO analytics_durationrollup
                    (workspace_id, journey_id, version, day, duration_bucket, count, seconds_sum)
                SELECT * FROM buckets
                ON CONFLICT (journey_id, version, day, duration_bucket)
                DO UPDATE SET count = analytics_durationrollup.count + EXCLUDED.count,
                              seconds_sum = analytics_durationrollup.seconds_sum + EXCLUDED.seconds_sum
            )
            INSERT INTO analytics_durationtotal (workspace_id, journey_id, version, duration_bucket, count, seconds_sum)
            SELECT workspace_id, journey_id, version, bucket, sum(n), sum(seconds) FROM buckets GROUP BY 1, 2, 3, 4
            ON CONFLICT (journey_id, version, duration_bucket)
            DO UPDATE SET count = analytics_durationtotal.count + EXCLUDED.count,
                          seconds_sum = analytics_durationtotal.seconds_sum + EXCLUDED.seconds_sum
            """,
            params,
        )
    return touched


def _implies_values() -> tuple[str, dict[str, str]]:
    """(received status, status it sets) pairs, as SQL VALUES with their parameters: a click also
    sets delivered and opened (channels_app.services.IMPLIES), so Message's *_at columns are the
    closure."""
    pairs = [(received, reached) for received, implied in IMPLIES.items() for reached in (received, *implied)]
    # A status no receipt implies (a pass saved) is counted as itself; each pair once.
    pairs += [(m, m) for m in MESSAGE_METRICS if m != "failover"]
    pairs = [(a, b) for a, b in dict.fromkeys(pairs) if b in MESSAGE_METRICS]
    values = ", ".join(f"(%(received{i})s, %(reached{i})s)" for i in range(len(pairs)))
    params = {}
    for i, (received, reached) in enumerate(pairs):
        params[f"received{i}"], params[f"reached{i}"] = received, reached
    return values, params


def _fold_deliveries(low: int, high: int) -> set[int]:
    """Adds DeliveryEvents with low < id <= high to MessageRollup and NodeTotal (kind "message"):
    each status a message reaches is counted once, at the first event that sets it (all lower ids
    are final by now). Returns the journeys whose message numbers moved (their canvases are told,
    analytics.live)."""
    values, implied = _implies_values()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH implies(received, reached) AS (VALUES {values}), reached AS (
                SELECT d.id, d.message_id, d.at, i.reached AS status
                FROM channels_app_deliveryevent d JOIN implies i ON i.received = d.status
                WHERE d.id > %(low)s AND d.id <= %(high)s
                UNION ALL
                SELECT d.id, d.message_id, d.at, 'failover'
                FROM channels_app_deliveryevent d
                WHERE d.id > %(low)s AND d.id <= %(high)s AND d.data ? 'failover'
            ), firsts AS (
                SELECT r.* FROM reached r
                WHERE NOT EXISTS (
                    SELECT 1 FROM channels_app_deliveryevent p JOIN implies i ON i.received = p.status
                    WHERE p.message_id = r.message_id AND p.id < r.id AND i.reached = r.status
                ) AND NOT (r.status = 'failover' AND EXISTS (
                    SELECT 1 FROM channels_app_deliveryevent p
                    WHERE p.message_id = r.message_id AND p.id < r.id AND p.data ? 'failover'
                ))
            ), delta AS (
                SELECT m.workspace_id, m.journey_id, m.version, m.node_id, {_day_sql("f.at", "m.workspace_id")} AS day,
                       f.status, count(*) AS n
                FROM firsts f JOIN channels_app_message m ON m.id = f.message_id
                WHERE m.journey_id IS NOT NULL AND m.version IS NOT NULL
                GROUP BY 1, 2, 3, 4, 5, 6
            ), rollup AS (
                INSERT INTO analytics_messagerollup (workspace_id, journey_id, version, node_id, day, status, count)
                SELECT * FROM delta
                ON CONFLICT (journey_id, version, node_id, day, status)
                DO UPDATE SET count = analytics_messagerollup.count + EXCLUDED.count
            ), totals AS (
                -- All-time per node, beside the step totals: what the live canvas reads.
                INSERT INTO analytics_nodetotal (workspace_id, journey_id, node_id, kind, label, count)
                SELECT workspace_id, journey_id, node_id, 'message', status, sum(n) FROM delta
                GROUP BY workspace_id, journey_id, node_id, status
                ON CONFLICT (journey_id, node_id, kind, label)
                DO UPDATE SET count = analytics_nodetotal.count + EXCLUDED.count
            )
            SELECT DISTINCT journey_id FROM delta
            """,
            {**implied, "zones": _zones(), "low": low, "high": high},
        )
        return {row[0] for row in cursor.fetchall()}


def live_counts_recount(*, journey_ids: set[int]) -> None:
    """Replaces the live positions (active/waiting per version and node) of these journeys with
    a fresh count of their live enrollments (index enrollment_journey_state_node)."""
    if not journey_ids:
        return
    ids = sorted(journey_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_livecount WHERE journey_id = ANY(%s)", [ids])
        cursor.execute(
            """
            INSERT INTO analytics_livecount (workspace_id, journey_id, version, node_id, state, count)
            SELECT e.workspace_id, e.journey_id, v.number, e.node_id, e.state, count(*)
            FROM journeys_enrollment e JOIN journeys_journeyversion v ON v.id = e.version_id
            WHERE e.journey_id = ANY(%s) AND e.state IN ('active', 'waiting')
            GROUP BY 1, 2, 3, 4, 5
            """,
            [ids],
        )


def rollups_refresh() -> RefreshReport:
    """One rollup run (the periodic task): new steps and deliveries, then live counts of every
    journey that moved or was edited since the previous run."""
    from journeys.models import Journey

    report = RefreshReport()
    previous_run = RollupCursor.objects.filter(source=STEPS).values_list("last_run_at", flat=True).first()
    started = timezone.now()
    touched: set[int] = set()
    report.steps_closed_id = _roll(STEPS, _fold_steps, touched)
    # A receipt moves no enrollment: the journeys it touches get a notice (their canvases show
    # message numbers) but no recount of live positions.
    messaged: set[int] = set()
    report.deliveries_closed_id = _roll(DELIVERIES, _fold_deliveries, messaged, recount=False)
    since = (previous_run or started) - EDIT_LOOKBACK
    edited = set(Journey.objects.unscoped().filter(updated_at__gte=since).values_list("id", flat=True))
    live_counts_recount(journey_ids=edited - touched)  # the folds recounted the journeys that moved
    touched |= edited
    journeys_counts_changed(journey_ids=touched | messaged)
    RollupCursor.objects.filter(source=STEPS).update(last_run_at=started)
    report.journeys_recounted = touched
    return report
