"""Split experiments: per-path entries and goal conversions, the always-valid sequential test that
decides a winner (mSPRT), and the decision itself, automatic or by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from audiences.conditions import duration_timedelta
from workspaces.errors import ServiceValidationError

from .models import Journey, JourneyVersion, SplitExperiment
from .services import _audit

# The audit action of a decision; webhooks_out raises `experiment.decided` from these entries.
DECIDED_ACTION = "experiment_decided"

# The mixing distribution of the mSPRT's effect size (a normal of this variance on the rate
# difference): 5 percentage points, the size of effect a marketing test usually looks for.
MIXTURE_VARIANCE = 0.05**2
DEFAULTS = {"min_per_path": 100, "confidence": 0.95}


def msprt_p_value(*, treated: tuple[int, int], control: tuple[int, int], tau2: float = MIXTURE_VARIANCE) -> float:
    """One look's mSPRT p-value (Johari, Pekelis & Walsh, "Always valid inference", 2017) for the
    difference of two conversion rates, each (converted, entered), under the normal approximation.
    Valid under repeated looks as the running minimum over looks. Variances use (x + ½)/(n + 1)
    so an all-or-nothing path does not divide by zero."""
    (x1, n1), (x0, n0) = treated, control
    if n1 <= 0 or n0 <= 0:
        return 1.0
    diff = x1 / n1 - x0 / n0
    q1, q0 = (x1 + 0.5) / (n1 + 1), (x0 + 0.5) / (n0 + 1)
    var = q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0
    log_lambda = 0.5 * math.log(var / (var + tau2)) + diff * diff * tau2 / (2 * var * (var + tau2))
    return 1.0 if log_lambda <= 0 else min(1.0, math.exp(-log_lambda))


_PATH_COUNTS = """
SELECT s.handle, count(DISTINCT s.enrollment_id),
       count(DISTINCT s.enrollment_id) FILTER (WHERE e.goals @> jsonb_build_array(jsonb_build_object('id', %(goal)s::text)))
FROM journeys_stepevent s JOIN journeys_enrollment e ON e.id = s.enrollment_id
WHERE s.journey_id = %(journey)s AND s.workspace_id = %(ws)s AND s.kind = 'passed' AND s.node_id = %(node)s
GROUP BY s.handle
"""


def path_counts(*, journey: Journey, node_id: str, goal_id: str) -> dict[str, tuple[int, int]]:
    """Path id → (enrollments that took it, those of them that converted `goal_id`), all versions."""
    with connection.cursor() as cursor:
        cursor.execute(_PATH_COUNTS, {"journey": journey.id, "ws": journey.workspace_id, "node": node_id,
                                      "goal": goal_id})
        return {handle: (int(n), int(x)) for handle, n, x in cursor.fetchall()}


# Node types that run experiments: type → (the config list of arms, arm id → (entered, converted)
# for a goal). The split's arms are its paths; channels_app registers the message's variants.
ArmCounts = Callable[..., dict[str, tuple[int, int]]]
EXPERIMENT_NODES: dict[str, tuple[str, ArmCounts]] = {"split": ("paths", path_counts)}


def experiment_node_register(node_type: str, *, arms: str, counts: ArmCounts) -> None:
    EXPERIMENT_NODES[node_type] = (arms, counts)


def experiment_state(*, journey: Journey, node_id: str) -> dict:
    row = SplitExperiment.objects.for_workspace(journey.workspace_id).filter(journey=journey, node_id=node_id).first()
    if row is None:
        return {"status": "running", "winner": None, "decided_at": None, "decided_by": None, "p_value": None}
    return {"status": row.status, "winner": row.winner or None, "decided_at": row.decided_at,
            "decided_by": row.decided_by or None, "p_value": row.p_value}


def experiment_winner(*, journey_id: int, node_id: str) -> str | None:
    """The decided path of a split node's experiment (the split node asks on every arrival)."""
    return (SplitExperiment.objects.unscoped().filter(journey_id=journey_id, node_id=node_id,
                                                       status=SplitExperiment.Status.DECIDED)
            .values_list("winner", flat=True).first())


def _experiment_node(version: JourneyVersion | None, node_id: str) -> dict | None:
    nodes = (version.graph if version else {}).get("nodes", [])
    return next((n for n in nodes if isinstance(n, dict) and n.get("id") == node_id
                 and n.get("type") in EXPERIMENT_NODES), None)


def _rate_above(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether (entered, converted) `a` has the strictly higher conversion rate (exact: no float
    division, so equal rates such as 1/3 and 2/6 are a tie)."""
    return a[1] * b[0] > b[1] * a[0]


def experiment_look(*, stats: dict[str, tuple[int, int]], due: bool, min_per_path: int, confidence: float,
                    p_values: dict[str, float]) -> tuple[str | None, float | None]:
    """The decision rule, one look: `stats` maps each arm to (entered, converted); `p_values` holds
    the running minima of the mSPRT p-values of "best>other" from earlier looks and is updated in
    place. Returns (winner or None, the largest always-valid p-value of the best arm against the
    others, or None when the look was not taken). Nothing is taken before `due` and before every
    arm has `min_per_path` entries; a winner must have a strictly higher rate than every other arm
    (a tie never decides) and beat each at `confidence`."""
    arms = list(stats)
    if not due or len(arms) < 2 or any(n < min_per_path or n <= 0 for n, _ in stats.values()):
        return None, None
    best = arms[0]
    for arm in arms[1:]:
        if _rate_above(stats[arm], stats[best]):
            best = arm
    worst_p = 0.0
    for other in arms:
        if other == best:
            continue
        key = f"{best}>{other}"
        p = msprt_p_value(treated=stats[best][::-1], control=stats[other][::-1])
        p_values[key] = min(p, p_values.get(key, 1.0))
        worst_p = max(worst_p, p_values[key])
    beats = all(_rate_above(stats[best], stats[o]) for o in arms if o != best)
    return (best if beats and worst_p < 1 - confidence else None), worst_p


def experiment_decide(*, journey: Journey, node: dict, published_at: datetime, now: datetime) -> dict:
    """One look at a split's (or message's) experiment: once `decide_after` passed since the version
    went live and every arm has `min_per_path` entries, the best arm wins when its always-valid
    p-value against every other is below 1 − confidence (experiment_look)."""
    config = node.get("config") or {}
    experiment = {**DEFAULTS, **(config.get("experiment") or {})}
    with transaction.atomic():
        row, _ = SplitExperiment.objects.for_workspace(journey.workspace_id).select_for_update().get_or_create(
            workspace_id=journey.workspace_id, journey=journey, node_id=node["id"]
        )
        if row.status == SplitExperiment.Status.DECIDED:
            return experiment_state(journey=journey, node_id=node["id"])
        arms, arm_counts = EXPERIMENT_NODES[node["type"]]
        paths = [p["id"] for p in config.get(arms) or []]
        counts = arm_counts(journey=journey, node_id=node["id"], goal_id=experiment["goal_id"])
        winner, worst_p = experiment_look(
            stats={p: counts.get(p, (0, 0)) for p in paths},
            due=now >= published_at + duration_timedelta(experiment["decide_after"]),
            min_per_path=experiment["min_per_path"], confidence=experiment["confidence"], p_values=row.p_values,
        )
        if worst_p is not None:
            row.p_value = worst_p
        if winner is not None:
            row.status, row.winner = SplitExperiment.Status.DECIDED, winner
            row.decided_at, row.decided_by = now, "auto"
        row.save()
        if winner is not None:
            _decision_audit(journey=journey, row=row, node=node, actor=None)
    return experiment_state(journey=journey, node_id=node["id"])


def experiments_decide(*, now: datetime | None = None) -> int:
    """Beat: looks at every running experiment of active journeys' live versions. Returns how
    many were decided by this pass."""
    now = now or timezone.now()
    decided = 0
    journeys = Journey.objects.unscoped().filter(status=Journey.Status.ACTIVE, live_version__isnull=False)
    for journey in journeys.select_related("live_version"):
        version = journey.live_version
        for node in version.graph.get("nodes", []):
            if (isinstance(node, dict) and node.get("type") in EXPERIMENT_NODES
                    and (node.get("config") or {}).get("experiment")):
                before = experiment_winner(journey_id=journey.id, node_id=node["id"])
                state = experiment_decide(journey=journey, node=node, published_at=version.published_at, now=now)
                decided += int(before is None and state["status"] == "decided")
    return decided


def _decision_audit(*, journey: Journey, row: SplitExperiment, node: dict, actor) -> None:
    """The decision in the journey's audit log (in the decision's transaction)."""
    version = journey.live_version
    _audit(journey=journey, actor=actor, action=DECIDED_ACTION,
           version_number=version.number if version else None,
           details={"node_id": row.node_id, "node_type": node.get("type"), "winner": row.winner,
                    "decided_by": row.decided_by, "p_value": row.p_value,
                    "decided_at": row.decided_at.isoformat()})


def experiment_winner_set(*, journey: Journey, node_id: str, path_id, actor=None) -> dict:
    """PUT /journeys/{id}/nodes/{node_id}/winner: decides by hand (a later call changes it)."""
    version = journey.live_version or JourneyVersion.objects.for_workspace(journey.workspace_id).filter(
        journey=journey).order_by("-number").first()
    node = _experiment_node(version, node_id)
    if node is None:
        raise ServiceValidationError({"node_id": [f"The live version has no split or message node {node_id!r}."]})
    arms = EXPERIMENT_NODES[node["type"]][0]
    paths = [p.get("id") for p in (node.get("config") or {}).get(arms) or []]
    if not isinstance(path_id, str) or path_id not in paths:
        raise ServiceValidationError({"path_id": [f"Must be one of the node's {arms}: {', '.join(paths)}."]})
    with transaction.atomic():
        row, _ = SplitExperiment.objects.for_workspace(journey.workspace_id).select_for_update().get_or_create(
            workspace_id=journey.workspace_id, journey=journey, node_id=node_id
        )
        row.status, row.winner = SplitExperiment.Status.DECIDED, path_id
        row.decided_at, row.decided_by = timezone.now(), "manual"
        row.save()
        _decision_audit(journey=journey, row=row, node=node, actor=actor)
    return experiment_state(journey=journey, node_id=node_id)
