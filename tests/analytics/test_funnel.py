"""GET /journeys/{id}/analytics/funnel: enrollments reaching each node in order, rates and median
times between steps, from the step history the engine wrote."""

from __future__ import annotations

from journeys.enrollments import enrollments_create
from journeys.models import StepEvent
from tests.conftest import wait_for
from tests.engine.helpers import customers, edge, node, published

GRAPH = {
    "nodes": [
        node("start", "start"),
        node("b", "branch", {"groups": [{"id": "vip", "name": "VIPs",
                                          "condition": {"attribute": "plan", "op": "eq", "value": "vip"}}]}),
        node("t", "update_profile", {"add_tags": ["seen"]}),
        node("end", "exit"),
    ],
    "edges": [edge("start", "next", "b"), edge("b", "vip", "t"), edge("b", "else", "end")],
}


def test_funnel_counts_enrollments_in_order(workspace, api, engine):
    journey = published(workspace, GRAPH)
    vips = customers(workspace, 3, prefix="v", attributes={"plan": "vip"})
    others = customers(workspace, 2, prefix="o")
    enrollments_create(journey=journey, customer_ids=[c.id for c in vips + others])
    wait_for(lambda: StepEvent.objects.for_workspace(workspace).filter(
        journey_id=journey.id, kind__in=["completed", "exited"]).count() == 5)
    url = f"/api/v1/journeys/{journey.pk}/analytics/funnel"
    body = api.get(url, {"steps": "start,b,t"}).json()
    assert [(s["node_id"], s["reached"], s["rate_from_previous"]) for s in body["steps"]] == [
        ("start", 5, None), ("b", 5, 1.0), ("t", 3, 0.6),
    ]
    assert body["steps"][0]["median_seconds_from_previous"] is None
    assert all(s["median_seconds_from_previous"] >= 0 for s in body["steps"][1:])
    # Order matters: nobody reached start after t.
    backwards = api.get(url, {"steps": "t,start"}).json()["steps"]
    assert [(s["reached"], s["rate_from_previous"]) for s in backwards] == [(3, None), (0, 0.0)]
    assert api.get(url, {"steps": "start,end"}).json()["steps"][1]["reached"] == 2


def test_funnel_refuses_unknown_steps_naming_the_field(workspace, api):
    journey = published(workspace, GRAPH)
    url = f"/api/v1/journeys/{journey.pk}/analytics/funnel"
    for steps in ("start,nope", "", "start,start"):
        response = api.get(url, {"steps": steps})
        assert response.status_code == 400, response.content
        assert "steps" in response.content.decode()
        if steps == "start,nope":
            assert "nope" in response.content.decode()
