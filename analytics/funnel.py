"""A journey's funnel: how many enrollments reached each of a list of nodes in order, and how long
they took from the previous one, computed in one set-based query over the step history."""

from __future__ import annotations

from django.db import connection

from journeys.models import Journey, JourneyVersion
from workspaces.errors import ServiceValidationError

MAX_FUNNEL_STEPS = 20


def _known_node_ids(journey: Journey) -> set[str]:
    """Node ids of the draft and of every published version (a removed node keeps its history)."""
    graphs = [journey.graph, *JourneyVersion.objects.for_workspace(journey.workspace_id)
              .filter(journey=journey).values_list("graph", flat=True)]
    return {n["id"] for g in graphs for n in (g or {}).get("nodes", []) if isinstance(n, dict) and "id" in n}


def funnel_steps_parse(*, journey: Journey, raw: str | None) -> list[str]:
    """?steps=a,b,c → the node ids; a 400 naming `steps` when empty, too long, repeated or unknown."""
    steps = [s.strip() for s in (raw or "").split(",") if s.strip()]
    if not steps:
        raise ServiceValidationError({"steps": ["Name the funnel's node ids, comma-separated."]})
    if len(steps) > MAX_FUNNEL_STEPS:
        raise ServiceValidationError({"steps": [f"At most {MAX_FUNNEL_STEPS} steps."]})
    if len(set(steps)) != len(steps):
        raise ServiceValidationError({"steps": ["A node may appear once."]})
    unknown = [s for s in steps if s not in _known_node_ids(journey)]
    if unknown:
        raise ServiceValidationError({"steps": [f"Not a node of this journey: {', '.join(unknown)}."]})
    return steps


def journey_funnel(*, journey: Journey, steps: list[str]) -> dict:
    """{"steps": [{node_id, reached, rate_from_previous, median_seconds_from_previous}]}: an
    enrollment reaches step k when it arrived at each of steps 1..k, each no earlier than the one
    before (its first arrival at each node). The first step has no previous (nulls)."""
    n = len(steps)
    params: dict = {"journey": journey.id, "ws": journey.workspace_id, "steps": steps}
    params.update({f"s{i}": step for i, step in enumerate(steps)})
    # Column names come from positions, never from input; the ids travel as parameters.
    firsts = ", ".join(f"min(at) FILTER (WHERE node = %(s{i})s) AS t{i}" for i in range(n))
    chain = ["t0 IS NOT NULL"]
    for i in range(1, n):
        chain.append(f"{chain[-1]} AND t{i} >= t{i - 1}")
    columns = ["count(*) FILTER (WHERE t0 IS NOT NULL)", "NULL::float8"]
    for i in range(1, n):
        columns += [
            f"count(*) FILTER (WHERE {chain[i]})",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t{i} - t{i - 1})) FILTER (WHERE {chain[i]})",
        ]
    sql = f"""
        WITH arrivals AS (
            SELECT enrollment_id, to_node_id AS node, at FROM journeys_stepevent
            WHERE journey_id = %(journey)s AND workspace_id = %(ws)s AND kind = 'passed' AND to_node_id = ANY(%(steps)s)
            UNION ALL
            SELECT enrollment_id, node_id, at FROM journeys_stepevent
            WHERE journey_id = %(journey)s AND workspace_id = %(ws)s AND kind IN ('entered', 'arrived')
              AND node_id = ANY(%(steps)s)
        ), per AS (
            SELECT enrollment_id, {firsts} FROM arrivals GROUP BY enrollment_id
        )
        SELECT {", ".join(columns)} FROM per
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    out, previous = [], None
    for i, step in enumerate(steps):
        reached, median = int(row[2 * i]), row[2 * i + 1]
        out.append({
            "node_id": step,
            "reached": reached,
            "rate_from_previous": None if previous is None else (round(reached / previous, 4) if previous else 0.0),
            "median_seconds_from_previous": None if median is None else round(float(median), 3),
        })
        previous = reached
    return {"steps": out}
