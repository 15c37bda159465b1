"""Seeded simulations of split experiments looked at every hour for 14 days through the decision
rule the service runs (journeys.experiments.experiment_look, called by experiment_decide): with
equal true rates at most 5 % of 1,000 experiments declare a winner, where the naive repeated
two-proportion test declares far more; with a real difference the better path wins and the worse
one almost never does. The data are drawn with numpy in one go; every look is a real call."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from journeys.experiments import DEFAULTS, experiment_look

EXPERIMENTS = 1000
HOURS = 14 * 24
ARRIVALS_PER_PATH_HOUR = 12  # ~4,000 customers a path in 14 days
ALPHA = 1 - DEFAULTS["confidence"]


def cumulative(rates: tuple[float, float], experiments: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(entered, converted), each of shape (experiments, HOURS, 2): the totals at each hourly look."""
    rng = np.random.default_rng(seed)
    entered = rng.poisson(ARRIVALS_PER_PATH_HOUR, size=(experiments, HOURS, 2))
    converted = rng.binomial(entered, np.array(rates))
    return entered.cumsum(axis=1), converted.cumsum(axis=1)


def looks(entered: np.ndarray, converted: np.ndarray, *, min_per_path: int, decide_after_hours: int) -> list:
    """Each experiment looked at every hour with experiment_look, keeping its running p-values as
    the service keeps them on its row; stops at the first winner. Returns (winner, hour) per
    experiment (None, None when none was declared)."""
    outcomes = []
    for e in range(entered.shape[0]):
        p_values: dict[str, float] = {}
        outcome = (None, None)
        for hour in range(HOURS):
            n, x = entered[e, hour], converted[e, hour]
            winner, _ = experiment_look(
                stats={"a": (int(n[0]), int(x[0])), "b": (int(n[1]), int(x[1]))},
                due=hour + 1 >= decide_after_hours, min_per_path=min_per_path,
                confidence=DEFAULTS["confidence"], p_values=p_values,
            )
            if winner is not None:
                outcome = (winner, hour)
                break
        outcomes.append(outcome)
    return outcomes


def naive_false_winners(entered: np.ndarray, converted: np.ndarray, *, min_per_path: int) -> float:
    """The share of experiments in which a pooled two-proportion z-test at p < 0.05, repeated at
    every look, would have declared a winner: what peeking does to a fixed-horizon test."""
    n, x = entered.astype(float), converted.astype(float)
    p1, p0 = x[..., 1] / n[..., 1], x[..., 0] / n[..., 0]
    pooled = (x[..., 0] + x[..., 1]) / (n[..., 0] + n[..., 1])
    se = np.sqrt(pooled * (1 - pooled) * (1 / n[..., 0] + 1 / n[..., 1]))
    z = np.divide(p1 - p0, se, out=np.zeros_like(se), where=se > 0)
    significant = (2 * norm.sf(np.abs(z)) < ALPHA) & (n.min(axis=-1) >= min_per_path)
    return float(significant.any(axis=1).mean())


def test_equal_rates_looked_at_hourly_for_14_days_declare_at_most_5_percent_false_winners():
    entered, converted = cumulative((0.10, 0.10), EXPERIMENTS, seed=2024)
    outcomes = looks(entered, converted, min_per_path=DEFAULTS["min_per_path"], decide_after_hours=1)
    false_winners = sum(winner is not None for winner, _ in outcomes) / EXPERIMENTS
    naive = naive_false_winners(entered, converted, min_per_path=DEFAULTS["min_per_path"])
    print(f"A/A: always-valid test {false_winners:.1%} false winners, naive repeated z-test {naive:.1%}")
    assert false_winners <= 0.05
    # The same data would fool a test that is not valid under repeated looks: the check has teeth.
    assert naive > 0.15


def test_a_real_difference_is_found_for_the_better_path_and_not_before_its_minimums():
    min_per_path, decide_after = 500, 48
    entered, converted = cumulative((0.10, 0.13), 200, seed=7)
    outcomes = looks(entered, converted, min_per_path=min_per_path, decide_after_hours=decide_after)
    winners = [winner for winner, _ in outcomes]
    assert winners.count("b") >= 0.8 * len(winners), winners.count("b")
    assert winners.count("a") <= 0.02 * len(winners)
    for e, (winner, hour) in enumerate(outcomes):
        if winner is not None:
            assert hour + 1 >= decide_after and entered[e, hour].min() >= min_per_path
