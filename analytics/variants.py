"""A message node's variants in its analytics: per variant the messages sent, delivered, opened
and clicked, the goal conversions of the enrollments that got it, the rate and its 95% interval."""

from __future__ import annotations

from django.db import connection

from journeys.models import Journey

from .stats import wilson_interval

# One pass over the node's messages, grouped by the variant each recorded. A conversion is an
# enrollment that got the variant (its message left) and converted any of the journey's goals.
_VARIANT_COUNTS = """
SELECT m.variant,
       count(*) FILTER (WHERE m.sent_at IS NOT NULL),
       count(*) FILTER (WHERE m.delivered_at IS NOT NULL),
       count(*) FILTER (WHERE m.opened_at IS NOT NULL),
       count(*) FILTER (WHERE m.clicked_at IS NOT NULL),
       count(DISTINCT m.enrollment_id) FILTER (
           WHERE m.sent_at IS NOT NULL AND e.goals IS NOT NULL AND e.goals <> '[]'::jsonb)
FROM channels_app_message m LEFT JOIN journeys_enrollment e ON e.id = m.enrollment_id
WHERE m.workspace_id = %(ws)s AND m.journey_id = %(journey)s AND m.node_id = %(node)s
  AND m.variant IS NOT NULL AND (%(version)s::int IS NULL OR m.version = %(version)s::int)
GROUP BY m.variant
"""


def message_variant_fields(*, journey: Journey, node: dict, version: int | None) -> dict:
    """{"variants": [{id, name, sent, delivered, opened, clicked, conversions, rate, ci95}]} of a
    message node whose config holds variants (`version` a version number, or all versions)."""
    with connection.cursor() as cursor:
        cursor.execute(_VARIANT_COUNTS, {"ws": journey.workspace_id, "journey": journey.id,
                                         "node": node["id"], "version": version})
        counts = {row[0]: [int(n) for n in row[1:]] for row in cursor.fetchall()}
    variants = []
    for variant in (node.get("config") or {}).get("variants") or []:
        sent, delivered, opened, clicked, converted = counts.get(variant.get("id"), (0, 0, 0, 0, 0))
        low, high = wilson_interval(converted, sent) if sent else (0.0, 1.0)
        variants.append({
            "id": variant.get("id"), "name": variant.get("name") or variant.get("id"), "sent": sent,
            "delivered": delivered, "opened": opened, "clicked": clicked, "conversions": converted,
            "rate": round(converted / sent, 4) if sent else 0.0, "ci95": [round(low, 6), round(high, 6)],
        })
    return {"variants": variants}
