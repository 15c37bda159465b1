"""Holdout uplift statistics: the difference of two conversion rates with its 95% interval and a
p-value, from scipy's tests and intervals."""

from __future__ import annotations

import math

from scipy.stats import binomtest, chi2_contingency, fisher_exact

# Below this expected count in any cell of the 2×2 table the chi-square (= pooled two-proportion
# z) test's normal approximation is poor: Fisher's exact test answers instead.
MIN_EXPECTED = 5


def wilson_interval(converted: int, started: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a conversion rate."""
    ci = binomtest(converted, started).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def rate_difference(*, treated: tuple[int, int], control: tuple[int, int]) -> dict | None:
    """Uplift of `treated` over `control`, each (converted, started): absolute (rate difference,
    treated − control), relative (to the control's rate; null when it is 0), ci95 (Newcombe's
    hybrid score interval from the two Wilson intervals) and a two-sided p_value (pooled
    two-proportion z-test, or Fisher's exact test when counts are small). None until each group
    has a customer."""
    (x1, n1), (x0, n0) = treated, control
    if n1 <= 0 or n0 <= 0:
        return None
    p1, p0 = x1 / n1, x0 / n0
    d = p1 - p0
    l1, u1 = wilson_interval(x1, n1)
    l0, u0 = wilson_interval(x0, n0)
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    table = [[x1, n1 - x1], [x0, n0 - x0]]
    conversions, total = x1 + x0, n1 + n0
    expected = min(n * k / total for n in (n1, n0) for k in (conversions, total - conversions))
    if expected < MIN_EXPECTED:
        p_value = fisher_exact(table).pvalue
    else:
        p_value = chi2_contingency(table, correction=False).pvalue
    return {
        "absolute": round(d, 6),
        "relative": round(d / p0, 6) if p0 else None,
        "ci95": [round(max(low, -1.0), 6), round(min(high, 1.0), 6)],
        "p_value": round(float(p_value), 6),
    }
