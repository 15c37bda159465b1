"""Goal revenue and holdout uplift in the analytics summary: conversions after customers finished
(holdout ones included) are counted, and the uplift's interval and p-value match hand-computed
values."""

from __future__ import annotations

import math

import pytest

from analytics.services import rollups_refresh
from analytics.stats import rate_difference
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, node, published, send_events

Z = 1.959963984540054  # the normal's 97.5% quantile


def _wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def test_small_counts_use_fisher_and_the_newcombe_interval():
    # Treatment 16 of 40 (0.4), holdout 2 of 10 (0.2). Expected holdout conversions 10·18/50 = 3.6 < 5,
    # so Fisher's exact test: the two-sided sum of hypergeometric tables no likelier than the one seen.
    def table(a):  # treated conversions a, margins 40/10 customers and 18 conversions
        return math.comb(40, a) * math.comb(10, 18 - a) / math.comb(50, 18)

    fisher = sum(table(a) for a in range(8, 19) if table(a) <= table(16) * (1 + 1e-7))
    (l1, u1), (l0, u0) = _wilson(16, 40), _wilson(2, 10)
    low, high = 0.2 - math.sqrt((0.4 - l1) ** 2 + (u0 - 0.2) ** 2), 0.2 + math.sqrt((u1 - 0.4) ** 2 + (0.2 - l0) ** 2)
    uplift = rate_difference(treated=(16, 40), control=(2, 10))
    assert uplift["absolute"] == pytest.approx(0.2) and uplift["relative"] == pytest.approx(1.0)
    assert uplift["ci95"] == pytest.approx([low, high], abs=1e-6)
    assert uplift["ci95"] == pytest.approx([-0.138580, 0.410401], abs=1e-6)
    assert uplift["p_value"] == pytest.approx(fisher, abs=1e-6) and uplift["p_value"] == pytest.approx(0.294716, abs=1e-6)


def test_large_counts_use_the_pooled_two_proportion_z_test():
    # 300/1000 vs 50/250: pooled rate 0.28, se = sqrt(0.28·0.72·(1/1000 + 1/250)), z = 0.1 / se.
    z = 0.1 / math.sqrt(0.28 * 0.72 * (1 / 1000 + 1 / 250))
    uplift = rate_difference(treated=(300, 1000), control=(50, 250))
    assert uplift["absolute"] == pytest.approx(0.1) and uplift["relative"] == pytest.approx(0.5)
    assert uplift["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-6)
    assert uplift["ci95"][0] > 0  # significant: the interval excludes no difference


def test_uplift_is_null_until_each_group_has_a_customer():
    assert rate_difference(treated=(3, 10), control=(0, 0)) is None
    assert rate_difference(treated=(0, 0), control=(1, 4)) is None
    assert rate_difference(treated=(1, 4), control=(0, 5))["relative"] is None


def test_summary_counts_revenue_and_holdout_conversions_after_finishing(workspace, api, engine):
    goals = [
        {"id": "bought", "name": "Bought", "condition": {"event": "purchase"}, "value": {"property": "amount"}},
        {"id": "shared", "name": "Shared", "condition": {"event": "share"}},
    ]
    journey = published(workspace, chain(node("start", "start"), node("m", "message", {
        "channel": "sms", "content": {"text": "hi"}})), {"goals": goals, "holdout": {"percent": 50}})
    group = customers(workspace, 16)
    enrollments_create(journey=journey, customer_ids=[c.id for c in group])
    finished = wait_for(lambda: (rows := list(
        Enrollment.objects.for_workspace(workspace).filter(journey=journey).exclude(state__in=["active", "waiting"])
    )) and len(rows) == 16 and rows)
    by_id = {c.id: c for c in group}
    held = [by_id[e.customer_id] for e in finished if e.holdout]
    treated = [by_id[e.customer_id] for e in finished if not e.holdout]
    assert held and treated
    buyers = held[:1] + treated[:3]
    send_events(workspace, *[{"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 12.5}}
                             for c in buyers], {"customer_id": treated[0].external_id, "name": "share"})
    wait_for(lambda: StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id, kind="goal").count() == 5)
    rollups_refresh()
    summary = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["summary"]
    assert summary["goal_conversions"] == 4 and summary["revenue"] == pytest.approx(50.0)
    assert summary["goals"] == {
        "bought": {"name": "Bought", "conversions": 4, "rate": round(4 / 16, 4), "revenue": 50.0},
        "shared": {"name": "Shared", "conversions": 1, "rate": round(1 / 16, 4), "revenue": 0.0},
    }
    holdout = summary["holdout"]
    assert holdout["holdout"] == {"started": len(held), "goal_conversions": 1,
                                  "conversion_rate": round(1 / len(held), 4)}
    assert holdout["treatment"]["goal_conversions"] == 3
    assert holdout["uplift"] == rate_difference(treated=(3, len(treated)), control=(1, len(held)))
    assert holdout["uplift"]["absolute"] == pytest.approx(3 / len(treated) - 1 / len(held), abs=1e-6)
