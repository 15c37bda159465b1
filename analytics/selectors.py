"""Reads of journey analytics: summary, per-node table and daily series from the rollups (never
from the step history itself), the journey list's rows and the live canvas counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from journeys.engine import compiled_version, zone_or_none
from journeys.keys import entry_key_property
from journeys.models import Journey, JourneyVersion
from journeys.nodes.base import get_node_type
from workspaces.errors import ServiceValidationError

from .experiments import split_experiment_fields
from .models import LiveCount, NodeTotal
from .services import DURATION_BASE, MESSAGE_METRICS, SAVED
from .stats import rate_difference
from .variants import message_variant_fields

# Series longer than this are cut to their last days (a year of daily points is plenty to draw).
MAX_SERIES_DAYS = 366
FINISHED = ("completed", "exited", "failed")
# A node's "failed" counts the customers whose step failed there: those who left it by its failed
# handle (a send that failed, connected or going on along next) and those whose run failed there.
FAILED_HANDLE = "failed"


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def duration_bucket_bounds(bucket: int) -> tuple[float, float]:
    """Seconds covered by a DurationRollup bucket (services.DURATION_BASE)."""
    return DURATION_BASE**bucket - 1, DURATION_BASE ** (bucket + 1) - 1


def _median_from_histogram(histogram: list[tuple[int, int]]) -> float | None:
    """The median of a log-bucket histogram [(bucket, count)], interpolated inside its bucket."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    half, seen = total / 2, 0
    for bucket, n in sorted(histogram):
        if seen + n >= half:
            low, high = duration_bucket_bounds(bucket)
            return round(low + (high - low) * ((half - seen) / n), 3)
        seen += n
    return None


def _node_catalog(journey: Journey, versions: list[dict], version: dict | None) -> tuple[list[str], dict]:
    """The nodes to show (the chosen graph's order) and every node id's latest definition, so a
    node removed in a later version still has a type and name in its history."""
    catalog: dict[str, dict] = {}
    for v in versions:  # oldest first: newer definitions win
        for n in (v["graph"] or {}).get("nodes", []):
            if isinstance(n, dict) and "id" in n:
                catalog[n["id"]] = n
    if version is not None:
        graph = version["graph"]
    else:
        live = next((v for v in versions if v["id"] == journey.live_version_id), None)
        graph = live["graph"] if live else journey.graph
    order = [n["id"] for n in (graph or {}).get("nodes", []) if isinstance(n, dict) and "id" in n]
    for n in (graph or {}).get("nodes", []):
        if isinstance(n, dict) and "id" in n:
            catalog[n["id"]] = n
    return order, catalog


def _handle_info(node: dict) -> tuple[list[str], dict[str, str]]:
    """A node's declared output handles and the display names of branch groups and split paths."""
    node_type = get_node_type(node.get("type") or "")
    config = node.get("config") if isinstance(node.get("config"), dict) else {}
    handles: list[str] = []
    if node_type is not None:
        try:
            handles = list(node_type.handles(config))
        except Exception:  # a malformed draft config must not break the analytics page
            handles = []
    names = {}
    for item in [*(config.get("groups") or []), *(config.get("paths") or [])]:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            names[item["id"]] = str(item.get("name") or item["id"])
    # The marketer's own output names ("Purchased", "No purchase"): what the canvas shows.
    labels = node.get("handle_labels")
    for handle, text in (labels.items() if isinstance(labels, dict) else ()):
        if isinstance(text, str) and text.strip():
            names.setdefault(handle, text.strip())
    if node.get("type") == "branch":
        names.setdefault("else", "Else")
    return handles, names


def _sends_messages(node: dict) -> bool:
    node_type = get_node_type(node.get("type") or "")
    return bool(node_type is not None and node_type.sends_messages)


def _filters(*, journey_id: int, version: int | None, first: date | None, last: date | None) -> tuple[str, list]:
    sql, params = ["journey_id = %s"], [journey_id]
    if version is not None:
        sql.append("version = %s")
        params.append(version)
    if first is not None:
        sql.append("day >= %s")
        params.append(first)
    if last is not None:
        sql.append("day <= %s")
        params.append(last)
    return " AND ".join(sql), params


def journey_analytics(*, journey: Journey, version: int | None = None, first: date | None = None,
                      last: date | None = None) -> dict:
    """GET /journeys/{id}/analytics. `version` is a version number; the days first..last
    (inclusive, the workspace's days) limit the counted events; "active" and "waiting" are
    counts of now and ignore the days."""
    where, params = _filters(journey_id=journey.id, version=version, first=first, last=last)
    # Without a date range the all-time totals answer: a few hundred rows, not days × buckets.
    durations = "analytics_durationrollup" if first or last else "analytics_durationtotal"
    live_where, live_params = _filters(journey_id=journey.id, version=version, first=None, last=None)
    # One statement for the five reads (the versions' graphs and settings come from the per-process
    # cache of immutable versions): a dashboard polls this while ingest keeps the server's threads
    # busy, and each round trip waits for its thread's turn on a core again (p95 272 ms as five
    # statements in the goal bench).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT 's', node_id, kind, label, holdout, day, NULL::int, sum(count)::bigint, sum(value_sum)
            FROM analytics_steprollup WHERE {where}
            GROUP BY node_id, kind, label, holdout, day
            UNION ALL
            SELECT 'd', NULL, NULL, NULL, NULL, NULL, duration_bucket, sum(count)::bigint, sum(seconds_sum)
            FROM {durations} WHERE {where} GROUP BY duration_bucket
            UNION ALL
            SELECT 'm', node_id, status, NULL, NULL, NULL, NULL, sum(count)::bigint, NULL
            FROM analytics_messagerollup WHERE {where} GROUP BY node_id, status
            UNION ALL
            SELECT 'l', node_id, state, NULL, NULL, NULL, NULL, count, NULL
            FROM analytics_livecount WHERE workspace_id = %s AND {live_where}
            UNION ALL
            SELECT 'v', NULL, NULL, NULL, NULL, NULL, number, id, NULL
            FROM {JourneyVersion._meta.db_table} WHERE workspace_id = %s AND journey_id = %s
            """,
            [*params, *params, *params, journey.workspace_id, *live_params, journey.workspace_id, journey.id],
        )
        rows = cursor.fetchall()
    step_rows = [row[1:6] + row[7:] for row in rows if row[0] == "s"]
    duration_rows = [row[6:] for row in rows if row[0] == "d"]
    message_rows = [(row[1], row[2], row[7]) for row in rows if row[0] == "m"]
    live_rows = [(row[1], row[2], row[7]) for row in rows if row[0] == "l"]
    versions = []
    for number, version_id in sorted((row[6], row[7]) for row in rows if row[0] == "v"):
        if (compiled := compiled_version(version_id)) is not None:
            versions.append({"id": version_id, "number": number, "graph": compiled.graph,
                             "settings": compiled.settings})
    chosen = None
    if version is not None:
        chosen = next((v for v in versions if v["number"] == version), None)
        if chosen is None:
            raise ServiceValidationError({"version": [f"This journey has no version {version}."]})
    order, catalog = _node_catalog(journey, versions, chosen)

    nodes: dict[str, dict] = {}

    def node_row(node_id: str) -> dict:
        if node_id not in nodes:
            definition = catalog.get(node_id, {})
            handles, names = _handle_info(definition)
            nodes[node_id] = {
                "node_id": node_id,
                "type": definition.get("type"),
                "name": definition.get("name") or "",
                "entered": 0, "waiting": 0, "active": 0, "passed": 0, "exited": 0, "failed": 0,
                "completed": 0,
                "handles": {h: 0 for h in handles},
                "handle_names": names,
                "exited_by_reason": {},
                "messages": {m: 0 for m in MESSAGE_METRICS} if _sends_messages(definition) else None,
            }
        return nodes[node_id]

    for node_id in order:
        node_row(node_id)

    summary = defaultdict(int)
    exited_by_reason: dict[str, int] = defaultdict(int)
    goals: dict[str, int] = defaultdict(int)
    revenue: dict[str, float] = defaultdict(float)
    split = {True: defaultdict(int), False: defaultdict(int)}  # holdout → started/converted
    series: dict[date, dict] = defaultdict(lambda: {"started": 0, "completed": 0, "goal_conversions": 0})
    for node_id, kind, label, holdout, day, n, value in step_rows:
        n = int(n)
        row = node_row(node_id)
        if kind in ("entered", "arrived"):
            row["entered"] += n
        elif kind == "passed":
            row["passed"] += n
            row["handles"][label] = row["handles"].get(label, 0) + n
            if label == FAILED_HANDLE:
                row["failed"] += n
        elif kind in ("exited", "failed", "completed"):
            row[kind] += n
            summary[kind] += n
            if kind == "exited":
                row["exited_by_reason"][label] = row["exited_by_reason"].get(label, 0) + n
                exited_by_reason[label] += n
        elif kind == "goal":
            goals[label] += n
            revenue[label] += float(value or 0)
        if kind == "entered":
            summary["started"] += n
            split[holdout]["started"] += n
            series[day]["started"] += n
        elif kind == "completed":
            series[day]["completed"] += n
        elif kind == "converted":
            summary["converted"] += n
            split[holdout]["converted"] += n
            series[day]["goal_conversions"] += n
    for node_id, status, n in message_rows:
        row = node_row(node_id)
        if row["messages"] is None:  # a node that is no message now but sent in an old version
            row["messages"] = {m: 0 for m in MESSAGE_METRICS}
        row["messages"][status] += int(n)
    active = 0
    for node_id, state, n in live_rows:
        row = node_row(node_id)
        row["waiting" if state == "waiting" else "active"] += n
        active += n

    completed_count = sum(int(n) for _, n, _ in duration_rows)
    seconds = sum(float(s) for _, _, s in duration_rows)
    settings = (chosen or next((v for v in versions if v["id"] == journey.live_version_id), None) or {}).get(
        "settings"
    ) or journey.settings or {}
    result_summary = {
        # Every figure counts runs (enrollments), not distinct customers: a customer who re-enters,
        # or has two carts in a keyed journey, is two runs. Said here so no reader assumes people.
        "counts": "runs",
        "key_property": entry_key_property(settings),
        "started": summary["started"],
        "active": active,
        "completed": summary["completed"],
        "exited": summary["exited"],
        "failed": summary["failed"],
        "goal_conversions": summary["converted"],
        "conversion_rate": _rate(summary["converted"], summary["started"]),
        "avg_duration_seconds": round(seconds / completed_count, 3) if completed_count else None,
        "median_duration_seconds": _median_from_histogram([(b, int(n)) for b, n, _ in duration_rows]),
        "exited_by_reason": dict(exited_by_reason),
        "revenue": round(sum(revenue.values()), 6),
        "goals": _goals(settings, goals, revenue, summary["started"]),
        "holdout": _holdout(settings, split),
    }
    if version is not None and first is None and last is None:
        _moved_in(result_summary, nodes.values())
    for node_id, row in nodes.items():  # split experiments: per-path conversions and the decision
        definition = catalog.get(node_id, {})
        if definition.get("type") == "split" and (definition.get("config") or {}).get("experiment"):
            row.update(split_experiment_fields(journey=journey, node=definition))
        if definition.get("type") == "message" and (definition.get("config") or {}).get("variants"):
            row.update(message_variant_fields(journey=journey, node=definition, version=version))
    return {
        "summary": result_summary,
        "nodes": [nodes[k] for k in order] + [v for k, v in nodes.items() if k not in set(order)],
        "series": _series(series, first=first, last=last),
    }


def _moved_in(summary: dict, nodes) -> None:
    """One version, all time: customers who did not enter in it but moved into it when it was
    published ("move" in flight), so "Started 1, Active now 4" reads "+3 moved in". Everyone on the
    version either entered there or moved in, and every one of them is now live or has left."""
    finished = summary["completed"] + summary["exited"] + summary["failed"]
    summary["moved_in"] = max(0, summary["active"] + finished - summary["started"])
    for row in nodes:
        failed_here = row["failed"] - row["handles"].get(FAILED_HANDLE, 0)  # passes are in passed
        seen = row["waiting"] + row["active"] + row["passed"] + row["exited"] + row["completed"] + failed_here
        row["moved_in"] = max(0, seen - row["entered"])


def _holdout(settings: dict, split: dict) -> dict | None:
    """Holdout vs treatment goal conversion, when the journey keeps a control group."""
    percent = (settings.get("holdout") or {}).get("percent") if isinstance(settings, dict) else None
    if not percent and not split[True]["started"]:
        return None
    groups = {}
    for name, key in (("holdout", True), ("treatment", False)):
        started, converted = split[key]["started"], split[key]["converted"]
        groups[name] = {"started": started, "goal_conversions": converted, "conversion_rate": _rate(converted, started)}
    uplift = rate_difference(treated=(split[False]["converted"], split[False]["started"]),
                             control=(split[True]["converted"], split[True]["started"]))
    return {"percent": percent or 0, **groups, "uplift": uplift}


def _goals(settings: dict, counts: dict[str, int], revenue: dict[str, float], started: int) -> dict:
    """Goal id → {name, conversions, rate (of started), revenue}: the version's goals, then any
    goal an older version counted."""
    names = {g["id"]: g.get("name") or g["id"] for g in (settings.get("goals") or []) if isinstance(g, dict) and "id" in g}
    return {
        goal_id: {"name": names.get(goal_id, goal_id), "conversions": counts.get(goal_id, 0),
                  "rate": _rate(counts.get(goal_id, 0), started), "revenue": round(revenue.get(goal_id, 0.0), 6)}
        for goal_id in [*names, *(g for g in counts if g not in names)]
    }


def _series(days: dict[date, dict], *, first: date | None, last: date | None) -> list[dict]:
    """One point per day from the first to the last (or the asked range), zeros included."""
    if not days and (first is None or last is None):
        return []
    first = first or min(days)
    last = last or max(days)
    first = max(first, last - timedelta(days=MAX_SERIES_DAYS - 1))
    out, day = [], first
    while day <= last:
        point = days.get(day) or {"started": 0, "completed": 0, "goal_conversions": 0}
        out.append({"date": day.isoformat(), **point})
        day += timedelta(days=1)
    return out


def journeys_summary_rows(*, workspace_id: int, journeys: list[Journey]) -> list[dict]:
    """One row per journey (GET /analytics/journeys): two queries for the whole page."""
    ids = [j.id for j in journeys]
    totals: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for journey_id, kind, n in (
        NodeTotal.objects.for_workspace(workspace_id)
        .filter(journey_id__in=ids, kind__in=("entered", "completed", "exited", "converted"))
        .values_list("journey_id", "kind", "count")
    ):
        totals[journey_id][kind] += n
    for journey_id, n in (
        LiveCount.objects.for_workspace(workspace_id).filter(journey_id__in=ids).values_list("journey_id", "count")
    ):
        totals[journey_id]["active"] += n
    rows = []
    for j in journeys:
        t = totals[j.id]
        rows.append({
            "id": j.id, "name": j.name, "status": j.status,
            "counts": "runs", "key_property": entry_key_property(j.settings),
            "started": t["entered"], "active": t["active"], "completed": t["completed"], "exited": t["exited"],
            "goal_conversions": t["converted"], "conversion_rate": _rate(t["converted"], t["entered"]),
        })
    return rows


def journey_live_counts(*, journey_id: int, workspace_id: int) -> dict:
    """The canvas's live numbers: per node entered/active/waiting/passed/exited/failed and handle
    counts, and for a node that sent messages their "messages" (MESSAGE_METRICS, the shape of
    journey_analytics' nodes); all versions, all time. Reads a few rows per node; cheap enough
    to poll."""
    nodes: dict[str, dict] = {}

    def node_row(node_id: str) -> dict:
        return nodes.setdefault(node_id, {
            "entered": 0, "active": 0, "waiting": 0, "passed": 0, "exited": 0, "failed": 0,
            "completed": 0, "handles": {},
        })

    summary = defaultdict(int)
    for node_id, kind, label, n in (
        NodeTotal.objects.for_workspace(workspace_id).filter(journey_id=journey_id)
        .values_list("node_id", "kind", "label", "count")
    ):
        row = node_row(node_id)
        if kind in ("entered", "arrived"):
            row["entered"] += n
        elif kind == "passed":
            row["passed"] += n
            row["handles"][label] = row["handles"].get(label, 0) + n
            if label == FAILED_HANDLE:
                row["failed"] += n
        elif kind in FINISHED:
            row[kind] += n
            summary[kind] += n
        elif kind == "message":  # label: the status (services._fold_deliveries)
            row.setdefault("messages", dict.fromkeys(MESSAGE_METRICS, 0))[label] += n
        if kind == "entered":
            summary["started"] += n
    for node_id, state, n in (
        LiveCount.objects.for_workspace(workspace_id).filter(journey_id=journey_id)
        .values_list("node_id", "state", "count")
    ):
        node_row(node_id)["waiting" if state == "waiting" else "active"] += n
        summary["active"] += n
    keys = ("started", "active", "completed", "exited", "failed")
    return {"summary": {k: summary[k] for k in keys}, "nodes": nodes}


def analytics_range(*, raw_from: str | None, raw_to: str | None, tz_name: str) -> tuple[date | None, date | None]:
    """Parses ?from=&to= into the first and last day counted (inclusive). ISO dates are the
    workspace's days; a date-time counts from (or to) its whole day in the workspace's zone.
    Bad input is a 400 naming the field."""
    from django.utils.dateparse import parse_date, parse_datetime

    zone = zone_or_none(tz_name) or ZoneInfo("UTC")

    def parse(name: str, raw: str | None) -> date | None:
        if raw in (None, ""):
            return None
        try:
            day = parse_date(raw)
            moment = None if day else parse_datetime(raw)
        except ValueError:
            day = moment = None
        if day is None and moment is None:
            raise ServiceValidationError({name: ["Use an ISO date (2026-11-01) or date-time (2026-11-01T09:00:00Z)."]})
        if day is None:
            day = (moment.astimezone(zone) if moment.tzinfo else moment).date()
        return day

    first, last = parse("from", raw_from), parse("to", raw_to)
    if first and last and first > last:
        raise ServiceValidationError({"to": ["Must not be before from."]})
    return first, last


def enrollment_messages(*, enrollment) -> list[dict]:
    """The messages one enrollment sent (the debugger timeline), oldest first, each with every
    status it went through ({status, source, at}); two queries, by the message idempotency key's
    index and the delivery events' (message, at) index."""
    from channels_app.models import DeliveryEvent, Message

    messages = list(
        Message.objects.for_workspace(enrollment.workspace_id)
        .filter(enrollment_id=enrollment.pk)
        .order_by("step_seq", "id")
        .values("id", "node_id", "step_seq", "channel", "provider", "status", "error", "created_at", "sent_at")
    )
    events: dict[int, list[dict]] = defaultdict(list)
    for event in (
        DeliveryEvent.objects.for_workspace(enrollment.workspace_id)
        .filter(message_id__in=[m["id"] for m in messages])
        .order_by("at", "id")
        .values("message_id", "status", "source", "at")
    ):
        events[event.pop("message_id")].append(event)
    return [{**m, "events": events[m["id"]]} for m in messages]


# The receipts each Message column records (channels_app.services.message_receipt sets them with
# the delivery events, a later status setting the ones it implies).
_STATUS_COLUMNS = ("sent", "delivered", "opened", "read", "clicked", "replied", "failed", "bounced")


def channel_metrics(*, workspace_id: int, tz_name: str, first: date | None = None,
                    last: date | None = None) -> list[dict]:
    """GET /analytics/channels: per channel and provider, the messages created in the days
    first..last (inclusive, the workspace's days) that reached each status, fell back to another
    channel (RCS sent as SMS, Kakao's SMS/LMS), or carried a wallet pass that was saved (a `saved`
    delivery event). Journey and test sends alike: a provider's numbers are all it carried."""
    zone = zone_or_none(tz_name) or ZoneInfo("UTC")
    where, params = ["m.workspace_id = %(workspace)s"], {"workspace": workspace_id, "saved": SAVED}
    if first is not None:
        where.append("m.created_at >= %(start)s")
        params["start"] = datetime.combine(first, time.min, tzinfo=zone)
    if last is not None:
        where.append("m.created_at < %(end)s")
        params["end"] = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    counts = ", ".join(f"count(m.{s}_at)" for s in _STATUS_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT m.channel, m.provider, {counts},
                   count(*) FILTER (WHERE m.content ? 'failover' OR e.failover),
                   count(*) FILTER (WHERE e.saved)
            FROM channels_app_message m
            -- One probe of the message's delivery events answers both (two EXISTS probed twice).
            CROSS JOIN LATERAL (
                SELECT bool_or(d.data ? 'failover') AS failover, bool_or(d.status = %(saved)s) AS saved
                FROM channels_app_deliveryevent d WHERE d.message_id = m.id
            ) e
            WHERE {" AND ".join(where)}
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            params,
        )
        rows = cursor.fetchall()
    out = []
    for channel, provider, *numbers in rows:
        row = {"channel": channel, "provider": provider,
               **dict(zip((*_STATUS_COLUMNS, "failover", "saved"), (int(n) for n in numbers), strict=True))}
        row["delivery_rate"] = _rate(row["delivered"], row["sent"])
        row["read_rate"] = _rate(row["read"], row["delivered"])
        row["bounce_rate"] = _rate(row["bounced"], row["sent"])
        row["failover_rate"] = _rate(row["failover"], row["sent"])
        out.append(row)
    return out
