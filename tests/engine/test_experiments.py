"""Split experiments: the always-valid test decides the best path once it has enough customers and
time, a winner can be set by hand, and every later arrival takes the winner."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.enrollments import enrollments_create
from journeys.experiments import (
    experiment_decide,
    experiment_winner,
    experiments_decide,
    msprt_p_value,
)
from journeys.models import Enrollment, JourneyVersion, SplitExperiment, StepEvent
from tests.conftest import wait_for
from tests.engine.helpers import customers, edge, node, published, send_events

GOALS = {"goals": [{"id": "bought", "name": "Bought", "condition": {"event": "purchase"}}]}


def graph(experiment: dict) -> dict:
    split = node("s", "split", {"paths": [{"id": "a", "name": "A", "percent": 50}, {"id": "b", "name": "B", "percent": 50}],
                                "experiment": {"goal_id": "bought", **experiment}})
    return {"nodes": [node("start", "start"), split], "edges": [edge("start", "next", "s")]}


def paths_taken(journey) -> dict[int, str]:
    return dict(StepEvent.objects.for_workspace(journey.workspace_id).filter(journey_id=journey.id, kind="passed", node_id="s")
                .values_list("customer_id", "handle"))


def enroll_and_finish(journey, people) -> dict[int, str]:
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    ids = {c.id for c in people}
    return wait_for(lambda: ids <= set(taken := paths_taken(journey)) and taken)


def test_msprt_p_value_matches_the_hand_computed_mixture_likelihood_ratio():
    # 60/100 vs 20/100; variances from (x+½)/(n+1): q1 = 60.5/101, q0 = 20.5/101; τ² = 0.0025.
    q1, q0 = 60.5 / 101, 20.5 / 101
    v = q1 * (1 - q1) / 100 + q0 * (1 - q0) / 100
    lam = math.sqrt(v / (v + 0.0025)) * math.exp(0.4**2 * 0.0025 / (2 * v * (v + 0.0025)))
    assert msprt_p_value(treated=(60, 100), control=(20, 100)) == pytest.approx(1 / lam, rel=1e-9)
    assert msprt_p_value(treated=(60, 100), control=(20, 100)) < 0.001
    assert msprt_p_value(treated=(10, 100), control=(10, 100)) == 1.0  # no difference, no evidence


def test_the_best_path_wins_after_enough_customers_and_time_then_takes_every_arrival(workspace, api, engine):
    journey = published(workspace, graph({"min_per_path": 4, "decide_after": {"value": 1, "unit": "hours"}}), GOALS)
    people = customers(workspace, 24)
    taken = enroll_and_finish(journey, people)
    by_id = {c.id: c for c in people}
    buyers = [by_id[c] for c, path in taken.items() if path == "a"]
    assert len(buyers) >= 4 and len(taken) - len(buyers) >= 4
    send_events(workspace, *[{"customer_id": c.external_id, "name": "purchase"} for c in buyers])
    wait_for(lambda: Enrollment.objects.for_workspace(workspace).filter(journey=journey).exclude(goals=[]).count()
             == len(buyers))
    assert experiments_decide() == 0  # decide_after has not passed since the version went live
    JourneyVersion.objects.for_workspace(workspace).filter(journey=journey).update(
        published_at=timezone.now() - timedelta(hours=2))
    assert experiments_decide() == 1
    body = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()
    split = next(n for n in body["nodes"] if n["node_id"] == "s")
    assert split["experiment"]["status"] == "decided" and split["experiment"]["winner"] == "a"
    assert split["experiment"]["decided_by"] == "auto" and split["experiment"]["p_value"] < 0.05
    paths = {p["id"]: p for p in split["paths"]}
    assert paths["a"]["conversions"] == paths["a"]["entered"] == len(buyers) and paths["a"]["rate"] == 1.0
    assert paths["b"]["conversions"] == 0 and paths["a"]["ci95"][0] > paths["b"]["ci95"][1]
    later = customers(workspace, 10, prefix="later")
    taken = enroll_and_finish(journey, later)
    assert {taken[c.id] for c in later} == {"a"}


def test_not_decided_before_every_path_has_its_minimum(workspace, engine):
    journey = published(workspace, graph({"min_per_path": 50, "decide_after": {"value": 1, "unit": "seconds"}}), GOALS)
    JourneyVersion.objects.for_workspace(workspace).filter(journey=journey).update(
        published_at=timezone.now() - timedelta(hours=2))
    enroll_and_finish(journey, customers(workspace, 8))
    assert experiments_decide() == 0


def test_a_winner_set_by_hand_takes_every_later_arrival(workspace, api, viewer_api, engine):
    journey = published(workspace, graph({"decide_after": {"value": 7, "unit": "days"}}), GOALS)
    enroll_and_finish(journey, customers(workspace, 8))
    url = f"/api/v1/journeys/{journey.pk}/nodes/s/winner"
    assert viewer_api.put(url, {"path_id": "b"}, format="json").status_code == 403
    bad = api.put(url, {"path_id": "zzz"}, format="json")
    assert bad.status_code == 400 and "path_id" in bad.content.decode()
    assert api.put(f"/api/v1/journeys/{journey.pk}/nodes/start/winner", {"path_id": "b"}, format="json").status_code == 400
    response = api.put(url, {"path_id": "b"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["winner"] == "b" and response.json()["decided_by"] == "manual"
    later = customers(workspace, 10, prefix="later")
    taken = enroll_and_finish(journey, later)
    assert {taken[c.id] for c in later} == {"b"}


def test_experiment_config_is_validated_naming_the_field(workspace):
    from journeys.nodes.base import get_node_type

    split = get_node_type("split")
    config = {"paths": [{"id": "a", "percent": 50}, {"id": "b", "percent": 50}],
              "experiment": {"goal_id": "nope", "min_per_path": 0, "decide_after": {"value": 1, "unit": "x"},
                             "confidence": 1.5}}
    fields = {e.field for e in split.validate(config, in_journey_settings=GOALS)}
    assert {"experiment.goal_id", "experiment.min_per_path", "experiment.decide_after.unit",
            "experiment.confidence"} <= fields


def stage_paths(journey, outcomes: dict[str, tuple[int, int]]) -> None:
    """The split's history as the engine writes it: per path, `entered` customers passed through
    it (a `passed` step at node s), the first `converted` of them with the goal reached."""
    version = journey.live_version
    for path, (entered, converted) in outcomes.items():
        people = customers(journey.workspace, entered, prefix=f"{path}-{secrets.token_hex(4)}-")
        rows = Enrollment.objects.unscoped().bulk_create([
            Enrollment(workspace_id=journey.workspace_id, journey=journey, version=version, customer=c,
                       state="completed", node_id="s", step_seq=2, finished_at=timezone.now(),
                       goals=[{"id": "bought", "at": timezone.now().isoformat(), "value": 0}] if i < converted else [])
            for i, c in enumerate(people)
        ])
        StepEvent.objects.unscoped().bulk_create([
            StepEvent(workspace_id=journey.workspace_id, enrollment=e, journey_id=journey.id, version_id=version.id,
                      customer_id=e.customer_id, node_id="s", kind="passed", handle=path, step_seq=1)
            for e in rows
        ])


def look(journey, now=None):
    version = journey.live_version
    node = next(n for n in version.graph["nodes"] if n["id"] == "s")
    return experiment_decide(journey=journey, node=node, published_at=version.published_at,
                             now=now or timezone.now() + timedelta(days=30))


def three_paths(experiment: dict) -> dict:
    split = node("s", "split", {"paths": [{"id": p, "name": p.upper(), "percent": pct}
                                          for p, pct in (("a", 40), ("b", 30), ("c", 30))],
                                "experiment": {"goal_id": "bought", **experiment}})
    return {"nodes": [node("start", "start"), split], "edges": [edge("start", "next", "s")]}


def test_a_tie_never_decides_even_after_earlier_looks_saw_a_lead(workspace):
    journey = published(workspace, graph({"min_per_path": 100, "decide_after": {"value": 1, "unit": "hours"}}), GOALS)
    # Equal rates with unequal counts (60/300 = 40/200): a tie, however many customers.
    stage_paths(journey, {"a": (300, 60), "b": (200, 40)})
    # Earlier looks had seen "a" far ahead: its running always-valid p-value is already tiny.
    SplitExperiment.objects.for_workspace(workspace).update_or_create(
        workspace_id=workspace.id, journey=journey, node_id="s", defaults={"p_values": {"a>b": 1e-9, "b>a": 1e-9}})
    state = look(journey)
    assert state["status"] == "running" and state["winner"] is None
    assert experiments_decide(now=timezone.now() + timedelta(days=30)) == 0
    assert experiment_winner(journey_id=journey.id, node_id="s") is None


def test_two_paths_tied_for_best_decide_nothing_though_both_beat_the_third(workspace):
    journey = published(workspace, three_paths({"min_per_path": 100, "decide_after": {"value": 1, "unit": "hours"}}),
                        GOALS)
    stage_paths(journey, {"a": (400, 200), "b": (300, 150), "c": (300, 15)})
    state = look(journey)
    assert state["status"] == "running" and state["winner"] is None
    # Only the tie holds it back: against the third path the evidence is overwhelming.
    seen = SplitExperiment.objects.for_workspace(workspace).get(journey=journey, node_id="s").p_values
    assert seen["a>c"] < 1e-6 and seen["a>b"] == 1.0


def test_no_conversions_anywhere_is_a_tie(workspace):
    journey = published(workspace, graph({"min_per_path": 100, "decide_after": {"value": 1, "unit": "hours"}}), GOALS)
    stage_paths(journey, {"a": (150, 0), "b": (150, 0)})
    assert look(journey)["status"] == "running"
