"""Split experiments: the always-valid test decides the best path once it has enough customers and
time, a winner can be set by hand, and every later arrival takes the winner."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.enrollments import enrollments_create
from journeys.experiments import experiments_decide, msprt_p_value
from journeys.models import Enrollment, JourneyVersion, StepEvent
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
