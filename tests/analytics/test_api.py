"""GET /journeys/{id}/analytics[.csv] and /analytics/journeys[.csv] over StepEvents and messages
written the way the engine and channels write them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from analytics.services import rollups_refresh
from analytics.stats import rate_difference
from audiences.models import Customer
from channels_app.models import DeliveryEvent, Message
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from journeys.services import journey_start, journey_update
from tests.analytics.helpers import forked_graph, forked_journey
from tests.engine.helpers import chain, node, published

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _enroll(journey, n: int, prefix: str = "c") -> list[Enrollment]:
    people = Customer.objects.unscoped().bulk_create(
        [Customer(workspace_id=journey.workspace_id, external_id=f"{prefix}{i}") for i in range(n)]
    )
    enrollments_create(journey=journey, customer_ids=[c.id for c in people], now=T0)
    return list(
        Enrollment.objects.for_workspace(journey.workspace_id).filter(journey=journey, customer__in=people).order_by("id")
    )


def _step(e: Enrollment, kind: str, node_id: str, handle: str = "", at: datetime = T0, **data) -> StepEvent:
    return StepEvent(workspace_id=e.workspace_id, enrollment=e, journey_id=e.journey_id, version_id=e.version_id,
                     customer_id=e.customer_id, node_id=node_id, kind=kind, handle=handle, at=at, data=data)


def _walk(e: Enrollment, path: list[tuple[str, str]], at: datetime, end: str = "completed", **end_data):
    """Steps for passing each (node, handle) in order, then finishing (or waiting) at the last."""
    rows = []
    for node_id, handle in path:
        rows += [_step(e, "passed", node_id, handle, at)]
    last = path[-1][0] if path else e.node_id
    target = {"split": {"a": "sms", "b": "buy"}, "sms": {"next": "pause", "failed": "end"},
              "pause": {"next": "vip"}, "vip": {"vip": "tag"}, "tag": {"next": "end"}, "buy": {"event": "end"}}
    for node_id, handle in path:
        if (nxt := target.get(node_id, {}).get(handle)) is not None:
            rows.append(_step(e, "arrived", nxt, at=at))
            last = nxt
    rows.append(_step(e, end, last, at=at, **end_data))
    StepEvent.objects.unscoped().bulk_create(rows)
    state = {"completed": "completed", "exited": "exited", "waiting": "waiting"}[end]
    Enrollment.objects.unscoped().filter(pk=e.pk).update(
        state=state, node_id=last, finished_at=None if state == "waiting" else at
    )


@pytest.fixture
def story(workspace):
    return _story(workspace)


def _story(workspace):
    """10 customers through the forked journey on 2026-11-02/03 (UTC)."""
    journey = forked_journey(workspace, holdout=None, name="Story")
    es = _enroll(journey, 10)
    day2 = T0 + timedelta(days=1)
    for e in es[:4]:  # path b, bought: goal, completed an hour later
        StepEvent.objects.unscoped().bulk_create([_step(e, "goal", "buy", at=T0, goal_id="bought")])
        Enrollment.objects.unscoped().filter(pk=e.pk).update(goals=[{"id": "bought", "at": T0.isoformat()}])
        _walk(e, [("start", "next"), ("split", "b"), ("buy", "event")], T0 + timedelta(hours=1))
    for e in es[4:6]:  # path a, vip, completed the next day
        _walk(e, [("start", "next"), ("split", "a"), ("sms", "next"), ("pause", "next"), ("vip", "vip"),
                  ("tag", "next")], day2)
    for e in es[6:8]:  # path a, the send failed
        _walk(e, [("start", "next"), ("split", "a"), ("sms", "failed")], T0)
    _walk(es[8], [("start", "next"), ("split", "b")], T0, end="exited", reason="exit_condition")
    _walk(es[9], [("start", "next"), ("split", "a"), ("sms", "next")], T0, end="waiting")
    for e, status in ((es[4], "clicked"), (es[5], "bounced"), (es[9], "delivered")):
        m = Message.objects.unscoped().create(workspace_id=e.workspace_id, customer_id=e.customer_id, enrollment=e,
                                              step_seq=3, journey_id=e.journey_id, version=1, node_id="sms",
                                              channel="sms", status=status)
        DeliveryEvent.objects.unscoped().create(workspace_id=e.workspace_id, message=m, status="sent", source="send", at=T0)
        DeliveryEvent.objects.unscoped().create(workspace_id=e.workspace_id, message=m, status=status, source="api", at=T0)
    rollups_refresh()
    return journey


def test_a_keyed_journey_counts_runs_and_says_so(workspace, api):
    # One shopper with two carts is two runs: the summary and the journeys list count runs, say
    # so, and name the key that makes them.
    settings = {"entry": {"type": "event", "events": [{"name": "cart_updated"}], "key": {"property": "cart_id"}}}
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")), settings, name="Carts")
    shopper, other = Customer.objects.unscoped().bulk_create(
        [Customer(workspace_id=workspace.pk, external_id=x) for x in ("shopper", "other")]
    )
    enrollments_create(journey=journey, customer_ids=[shopper.id, other.id], keys={shopper.id: "A", other.id: "C"})
    enrollments_create(journey=journey, customer_ids=[shopper.id], key="B")
    rollups_refresh()
    summary = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["summary"]
    assert (summary["counts"], summary["key_property"], summary["started"]) == ("runs", "cart_id", 3)
    [row] = [r for r in api.get("/api/v1/analytics/journeys").json()["results"] if r["id"] == journey.pk]
    assert (row["counts"], row["key_property"], row["started"]) == ("runs", "cart_id", 3)


def _nodes(body) -> dict:
    return {n["node_id"]: n for n in body["nodes"]}


def test_summary_nodes_and_series(story, viewer_api):
    response = viewer_api.get(f"/api/v1/journeys/{story.pk}/analytics")  # a viewer may read
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["summary"] == {
        "counts": "runs", "key_property": None,
        "started": 10, "active": 1, "completed": 8, "exited": 1, "failed": 0, "goal_conversions": 4,
        "conversion_rate": 0.4,
        "avg_duration_seconds": body["summary"]["avg_duration_seconds"],  # see test_durations
        "median_duration_seconds": body["summary"]["median_duration_seconds"],
        "exited_by_reason": {"exit_condition": 1}, "revenue": 0.0,
        "goals": {"bought": {"name": "Bought", "conversions": 4, "rate": 0.4, "revenue": 0.0},
                  "clicked": {"name": "Clicked", "conversions": 0, "rate": 0.0, "revenue": 0.0}}, "holdout": None,
    }
    nodes = _nodes(body)
    assert [n["node_id"] for n in body["nodes"]] == [n["id"] for n in forked_graph()["nodes"]]
    assert nodes["split"]["handles"] == {"a": 5, "b": 5}
    assert nodes["split"]["handle_names"] == {"a": "Path A", "b": "Path B"}
    assert nodes["vip"]["handles"] == {"vip": 2, "else": 0}
    assert nodes["vip"]["handle_names"]["vip"] == "VIPs"
    assert nodes["sms"] | {"messages": None} == nodes["sms"] | {
        "entered": 5, "passed": 5, "waiting": 0, "exited": 0, "failed": 2, "type": "message", "messages": None,
    }
    assert nodes["sms"]["handles"] == {"next": 3, "failed": 2}
    assert (nodes["pause"]["entered"], nodes["pause"]["waiting"]) == (3, 1)
    assert nodes["sms"]["messages"] == {"sent": 3, "delivered": 2, "opened": 1, "read": 0, "clicked": 1,
                                        "replied": 0, "failed": 0, "bounced": 1, "failover": 0, "saved": 0}
    assert nodes["split"]["messages"] is None
    assert nodes["buy"]["exited"] == 1 and nodes["buy"]["exited_by_reason"] == {"exit_condition": 1}
    assert nodes["end"]["completed"] == 8 and nodes["end"]["entered"] == 8
    assert body["series"] == [
        {"date": "2026-11-02", "started": 10, "completed": 6, "goal_conversions": 4},
        {"date": "2026-11-03", "started": 0, "completed": 2, "goal_conversions": 0},
    ]


def test_durations(story, api):
    summary = api.get(f"/api/v1/journeys/{story.pk}/analytics").json()["summary"]
    # 4 passes of 1 h, 2 of 1 day, 2 of 0 s (the failed sends completed at once).
    assert summary["avg_duration_seconds"] == pytest.approx((4 * 3600 + 2 * 86400) / 8, abs=0.01)
    assert summary["median_duration_seconds"] == pytest.approx(3600, rel=0.05)


def test_date_range_counts_only_those_days(story, api):
    body = api.get(f"/api/v1/journeys/{story.pk}/analytics", {"from": "2026-11-03", "to": "2026-11-03"}).json()
    assert body["summary"]["started"] == 0
    assert body["summary"]["completed"] == 2
    assert body["summary"]["active"] == 1  # "now" ignores the range
    assert body["series"] == [{"date": "2026-11-03", "started": 0, "completed": 2, "goal_conversions": 0}]
    # A date-time counts its whole day (in the workspace's zone).
    moments = api.get(f"/api/v1/journeys/{story.pk}/analytics",
                      {"from": "2026-11-02T23:30:00Z", "to": "2026-11-02T23:45:00Z"}).json()
    assert moments["summary"]["completed"] == 6
    assert moments["series"] == [{"date": "2026-11-02", "started": 10, "completed": 6, "goal_conversions": 4}]


def test_workspace_time_zone_sets_the_days(api, workspace):
    workspace.timezone = "Pacific/Kiritimati"  # UTC+14: 10:00Z on the 2nd is the 3rd there
    workspace.save(update_fields=["timezone"])
    story = _story(workspace)
    series = api.get(f"/api/v1/journeys/{story.pk}/analytics").json()["series"]
    assert series[0] == {"date": "2026-11-03", "started": 10, "completed": 6, "goal_conversions": 4}


def test_each_workspace_counts_days_in_its_own_zone(api, other_api, workspace, other_workspace):
    workspace.timezone = "Pacific/Kiritimati"
    workspace.save(update_fields=["timezone"])
    ours = _story(workspace)
    theirs = _story(other_workspace)  # folded while the zones map holds only the first workspace
    assert api.get(f"/api/v1/journeys/{ours.pk}/analytics").json()["series"][0]["date"] == "2026-11-03"
    assert other_api.get(f"/api/v1/journeys/{theirs.pk}/analytics").json()["series"][0]["date"] == "2026-11-02"


def test_version_filter(workspace, api):
    journey = published(workspace, chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}})))
    first = _enroll(journey, 3, prefix="v1-")
    journey_update(journey=journey, actor=None, graph=chain(node("start", "start"), node("x", "exit")))
    journey = journey_start(journey=journey, actor=None, in_flight="keep")
    second = _enroll(journey, 2, prefix="v2-")
    rollups_refresh()
    assert len(first) + len(second) == 5
    v1 = api.get(f"/api/v1/journeys/{journey.pk}/analytics", {"version": 1}).json()
    v2 = api.get(f"/api/v1/journeys/{journey.pk}/analytics", {"version": 2}).json()
    both = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()
    assert (v1["summary"]["started"], v2["summary"]["started"], both["summary"]["started"]) == (3, 2, 5)
    assert [n["node_id"] for n in v1["nodes"]] == ["start", "w"]
    assert [n["node_id"] for n in v2["nodes"]][:2] == ["start", "x"]
    assert v1["summary"]["active"] == 3 and v2["summary"]["active"] == 2


def test_a_version_counts_the_customers_moved_into_it(workspace, api):
    wait = node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}})
    journey = published(workspace, chain(node("start", "start"), wait))
    _enroll(journey, 3, prefix="v1-")
    wait["config"]["duration"]["value"] = 2
    journey_update(journey=journey, actor=None, graph=chain(node("start", "start"), wait))
    journey = journey_start(journey=journey, actor=None, in_flight="move")
    _enroll(journey, 1, prefix="v2-")
    rollups_refresh()
    v2 = api.get(f"/api/v1/journeys/{journey.pk}/analytics", {"version": 2}).json()
    # Started 1 beside Active now 4 reads as a mistake: the other 3 moved in from version 1.
    assert (v2["summary"]["started"], v2["summary"]["active"], v2["summary"]["moved_in"]) == (1, 4, 3)
    start = next(n for n in v2["nodes"] if n["node_id"] == "start")
    assert (start["entered"], start["active"] + start["waiting"], start["moved_in"]) == (1, 4, 3)
    assert "moved_in" not in api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["summary"]


@pytest.mark.parametrize("params,field", [
    ({"version": "zero"}, "version"), ({"version": 0}, "version"), ({"version": 9}, "version"),
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-45"}, "to"),
    ({"from": "2026-11-05", "to": "2026-11-01"}, "to"),
])
def test_bad_parameters_are_400_naming_the_field(story, api, params, field):
    response = api.get(f"/api/v1/journeys/{story.pk}/analytics", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert api.get(f"/api/v1/journeys/{story.pk}/analytics.csv", params).status_code == 400


def test_csv_export_streams_summary_nodes_and_series_with_formulas_defused(workspace, api):
    graph = chain(node("start", "start"), node("end", "exit"))
    graph["nodes"][1]["name"] = '=HYPERLINK("http://evil.example","x")'
    goal = {"id": "goal_1", "name": "Purchased", "condition": {"event": "purchase"}}
    journey = published(workspace, graph, name="@SUM(A1)", settings={"goals": [goal]})
    _enroll(journey, 2)
    rollups_refresh()
    response = api.get(f"/api/v1/journeys/{journey.pk}/analytics.csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert ["started", "2"] in rows
    assert ["goal:Purchased", "0"] in rows  # the goal by its name, not goal_1
    header = rows.index(next(r for r in rows if r and r[0] == "node_id"))
    end_row = next(r for r in rows[header:] if r and r[0] == "end")
    assert end_row[2] == '\'=HYPERLINK("http://evil.example","x")'
    assert ["date", "started", "completed", "goal_conversions"] in rows
    listing = api.get("/api/v1/analytics/journeys.csv")
    assert listing.status_code == 200
    lines = list(csv.reader(io.StringIO(b"".join(listing.streaming_content).decode())))
    assert lines[0][:3] == ["id", "name", "status"]
    assert lines[1][1] == "'@SUM(A1)" and lines[1][3] == "2"


def test_journey_list_one_row_each_in_constant_queries(workspace, api, django_assert_max_num_queries):
    journeys = [published(workspace, chain(node("start", "start"), node("end", "exit")), name=f"J{i}") for i in range(3)]
    _enroll(journeys[0], 4)
    rollups_refresh()
    with django_assert_max_num_queries(8):  # auth (key, throttle bookkeeping) + page + totals + live
        response = api.get("/api/v1/analytics/journeys", {"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [r["name"] for r in body["results"]] == ["J2", "J1"]
    assert body["next"]
    rest = api.get("/api/v1/analytics/journeys", {"limit": 2, "cursor": body["next"]}).json()
    assert rest["results"] == [{"id": journeys[0].id, "name": "J0", "status": "active", "counts": "runs",
                                "key_property": None, "started": 4, "active": 4,
                                "completed": 0, "exited": 0, "goal_conversions": 0, "conversion_rate": 0.0}]
    with django_assert_max_num_queries(8):
        api.get("/api/v1/analytics/journeys", {"limit": 50})


def test_a_journeys_analytics_are_read_in_one_statement_after_the_key_and_the_journey(
    workspace, api, django_assert_max_num_queries
):
    """A dashboard polls this while ingest keeps the server busy, and every round trip waits for a
    core again: the rollups, live counts and versions are one statement (the versions' graphs come
    from the per-process cache of immutable versions), seven before."""
    journey = forked_journey(workspace)
    _enroll(journey, 3)
    rollups_refresh()
    first = api.get(f"/api/v1/journeys/{journey.id}/analytics").json()  # the version compiled once
    with django_assert_max_num_queries(3):  # the API key, the journey, the analytics
        response = api.get(f"/api/v1/journeys/{journey.id}/analytics")
    assert response.json() == first
    assert first["summary"]["started"] == 3 and first["summary"]["active"] == 3
    assert [n["node_id"] for n in first["nodes"]][:1] == ["start"] and first["nodes"][0]["entered"] == 3


def test_holdout_comparison_and_uplift(workspace, api):
    journey = forked_journey(workspace, holdout=50, name="Held")
    es = _enroll(journey, 40)
    held = [e for e in es if e.holdout]
    treated = [e for e in es if not e.holdout]
    assert held and treated
    converted = held[:1] + treated[:4]
    StepEvent.objects.unscoped().bulk_create([_step(e, "goal", "buy", goal_id="bought") for e in converted])
    for e in converted:
        Enrollment.objects.unscoped().filter(pk=e.pk).update(goals=[{"id": "bought", "at": T0.isoformat()}])
    rollups_refresh()
    holdout = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["summary"]["holdout"]
    h_rate, t_rate = round(1 / len(held), 4), round(4 / len(treated), 4)
    assert holdout == {
        "percent": 50,
        "holdout": {"started": len(held), "goal_conversions": 1, "conversion_rate": h_rate},
        "treatment": {"started": len(treated), "goal_conversions": 4, "conversion_rate": t_rate},
        "uplift": rate_difference(treated=(4, len(treated)), control=(1, len(held))),
    }


def test_schema_describes_the_analytics_routes(api):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert "/api/v1/journeys/{id}/analytics" in paths
    assert "text/csv" in paths["/api/v1/journeys/{id}/analytics.csv"]["get"]["responses"]["200"]["content"]
    assert "/api/v1/analytics/journeys" in paths and "/api/v1/analytics/journeys.csv" in paths
    summary = schema["components"]["schemas"]["Summary"]["properties"]
    assert {"started", "active", "completed", "exited", "goal_conversions", "conversion_rate",
            "avg_duration_seconds", "median_duration_seconds", "holdout"} <= set(summary)


def test_list_csv_never_shows_another_workspace(story, other_api):
    response = other_api.get("/api/v1/analytics/journeys.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "Story" not in text and text.splitlines()[0].startswith("id,name,status")
    assert other_api.get(f"/api/v1/journeys/{story.pk}/analytics.csv").status_code == 404


def test_a_zone_postgres_does_not_know_falls_back_to_utc(api, workspace):
    workspace.timezone = "Mars/Olympus_Mons"
    workspace.save(update_fields=["timezone"])
    story = _story(workspace)  # folding must not fail for everyone else's rows either
    series = api.get(f"/api/v1/journeys/{story.pk}/analytics").json()["series"]
    assert series[0]["date"] == "2026-11-02"
