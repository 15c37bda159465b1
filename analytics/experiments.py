"""A split node's experiment in its analytics: each path's entries, conversions, rate and 95%
interval, and the experiment's status (journeys.experiments decides it)."""

from __future__ import annotations

from journeys.experiments import experiment_state, path_counts
from journeys.models import Journey

from .stats import wilson_interval


def split_experiment_fields(*, journey: Journey, node: dict) -> dict:
    """{"paths": [{id, name, entered, conversions, rate, ci95}], "experiment": {...}} of a split
    node whose config holds an experiment."""
    config = node.get("config") or {}
    goal_id = (config.get("experiment") or {}).get("goal_id") or ""
    counts = path_counts(journey=journey, node_id=node["id"], goal_id=goal_id)
    paths = []
    for path in config.get("paths") or []:
        entered, converted = counts.get(path.get("id"), (0, 0))
        low, high = wilson_interval(converted, entered) if entered else (0.0, 1.0)
        paths.append({"id": path.get("id"), "name": path.get("name") or path.get("id"), "entered": entered,
                      "conversions": converted, "rate": round(converted / entered, 4) if entered else 0.0,
                      "ci95": [round(low, 6), round(high, 6)]})
    return {"paths": paths, "experiment": experiment_state(journey=journey, node_id=node["id"])}
