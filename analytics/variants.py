"""A message node's variants in its analytics: per variant the messages sent, delivered, opened
and clicked, the conversions of the enrollments that got it (of the experiment's goal, or any of
the journey's goals), the rate and its 95% interval; and the experiment's status."""

from __future__ import annotations

from channels_app.selectors import message_variant_counts
from journeys.experiments import experiment_state
from journeys.models import Journey

from .stats import wilson_interval


def message_variant_fields(*, journey: Journey, node: dict, version: int | None) -> dict:
    """{"variants": [{id, name, sent, delivered, opened, clicked, conversions, rate, ci95}],
    "experiment"?: {...}} of a message node whose config holds variants (`version` a version
    number, or all versions)."""
    config = node.get("config") or {}
    experiment = config.get("experiment")
    counts = message_variant_counts(workspace_id=journey.workspace_id, journey_id=journey.id, node_id=node["id"],
                                    goal_id=(experiment or {}).get("goal_id") or "", version=version)
    variants = []
    for variant in config.get("variants") or []:
        sent, delivered, opened, clicked, converted = counts.get(variant.get("id"), (0, 0, 0, 0, 0))
        low, high = wilson_interval(converted, sent) if sent else (0.0, 1.0)
        variants.append({
            "id": variant.get("id"), "name": variant.get("name") or variant.get("id"), "sent": sent,
            "delivered": delivered, "opened": opened, "clicked": clicked, "conversions": converted,
            "rate": round(converted / sent, 4) if sent else 0.0, "ci95": [round(low, 6), round(high, 6)],
        })
    fields: dict = {"variants": variants}
    if experiment:
        fields["experiment"] = experiment_state(journey=journey, node_id=node["id"])
    return fields
