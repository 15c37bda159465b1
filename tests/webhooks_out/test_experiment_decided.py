"""`experiment.decided` reaches a real local receiver, signed, once per decision: when the
scheduled look picks a winner and when someone picks one by hand; each decision is in the
journey's audit log too."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from journeys.experiments import experiments_decide
from journeys.models import JourneyVersion
from tests.conftest import make_client
from tests.engine.helpers import edge, node, published
from tests.engine.test_experiments import GOALS, stage_paths
from tests.webhooks_out.test_event_webhooks import pump_until, receiver, register  # noqa: F401  (fixture)


def split_journey(workspace, name: str):
    split = node("s", "split", {
        "paths": [{"id": "a", "name": "A", "percent": 50}, {"id": "b", "name": "B", "percent": 50}],
        "experiment": {"goal_id": "bought", "min_per_path": 100, "decide_after": {"value": 1, "unit": "hours"}},
    })
    return published(workspace, {"nodes": [node("start", "start"), split], "edges": [edge("start", "next", "s")]},
                     GOALS, name=name)


def decided(server) -> list[dict]:
    return [event for event in server.received if event["type"] == "experiment.decided"]


def test_automatic_and_manual_decisions_are_sent_and_audited(celery_worker, workspace, receiver):  # noqa: F811
    api = make_client(workspace)
    register(api, receiver, ["experiment.decided", "journey.entered"])
    auto = split_journey(workspace, "Auto")
    stage_paths(auto, {"a": (300, 90), "b": (300, 30)})
    JourneyVersion.objects.for_workspace(workspace).filter(journey=auto).update(
        published_at=timezone.now() - timedelta(hours=2))
    assert experiments_decide() == 1
    assert experiments_decide() == 0  # decided once: later looks raise nothing

    by_hand = split_journey(workspace, "By hand")
    answer = api.put(f"/api/v1/journeys/{by_hand.pk}/nodes/s/winner", {"path_id": "b"}, format="json")
    assert answer.status_code == 200, answer.content

    pump_until(lambda: len(decided(receiver)) >= 2)
    pump_until(lambda: True)  # one more pass: nothing is sent twice
    events = {event["data"]["journey_id"]: event for event in decided(receiver)}
    assert len(decided(receiver)) == 2 and receiver.bad_signatures == 0
    first = events[auto.pk]
    assert set(first) == {"id", "type", "created_at", "data"}
    assert first["data"]["node_id"] == "s" and first["data"]["winner"] == "a"
    assert first["data"]["decided_by"] == "auto" and first["data"]["p_value"] < 0.05
    assert first["data"]["version"] == 1 and first["data"]["node_type"] == "split"
    manual = events[by_hand.pk]["data"]
    assert (manual["winner"], manual["decided_by"], manual["p_value"]) == ("b", "manual", None)
    assert manual["actor"].startswith("api-key:")

    audit = api.get(f"/api/v1/journeys/{auto.pk}/audit").json()["results"]
    (entry,) = [e for e in audit if e["action"] == "experiment_decided"]
    assert entry["details"]["winner"] == "a" and entry["details"]["decided_by"] == "auto"
    audit = api.get(f"/api/v1/journeys/{by_hand.pk}/audit").json()["results"]
    (entry,) = [e for e in audit if e["action"] == "experiment_decided"]
    assert entry["details"]["winner"] == "b" and entry["actor"].startswith("api-key:")
