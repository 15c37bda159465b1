"""The enrollment endpoints and the simulator, through HTTP."""

from django.core.files.uploadedfile import SimpleUploadedFile

from audiences.models import CustomerList, ListMember, Segment
from journeys.models import Enrollment, StepEvent
from journeys.services import journey_create
from tests.engine.helpers import chain, customers, edge, node, published, wait_state

WAITING = chain(node("start", "start"), node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}))


def url(journey, rest=""):
    return f"/api/v1/journeys/{journey.id}/enrollments{rest}"


def test_enroll_by_ids_list_segment_all_and_csv(workspace, other_workspace, editor_api, db):
    people = customers(workspace, 6)
    always = {"re_entry": {"policy": "always"}}
    journey = published(workspace, WAITING, always)
    response = editor_api.post(url(journey), {"customer_ids": ["c0", "c1", "nobody"]}, format="json")
    assert response.status_code == 202
    assert response.json() == {"enrolled": 2, "skipped": 1}

    lst = CustomerList.objects.unscoped().create(workspace=workspace, name="L")
    ListMember.objects.unscoped().create(workspace=workspace, customer_list=lst, customer=people[2])
    assert editor_api.post(url(journey), {"list_id": lst.id}, format="json").json() == {"enrolled": 1, "skipped": 0}

    seg = Segment.objects.unscoped().create(
        workspace=workspace, name="S", condition={"attribute": "external_id", "op": "eq", "value": "c3"}
    )
    assert editor_api.post(url(journey), {"segment_id": seg.id}, format="json").json() == {"enrolled": 1, "skipped": 0}

    csv = SimpleUploadedFile("ids.csv", b"customerId,name\nc4,x\nc0,y\n", content_type="text/csv")
    assert editor_api.post(url(journey), {"file": csv}, format="multipart").json() == {"enrolled": 1, "skipped": 1}

    assert editor_api.post(url(journey), {"all": True}, format="json").json() == {"enrolled": 1, "skipped": 5}
    assert Enrollment.objects.for_workspace(workspace).filter(journey=journey).count() == 6


def test_enroll_errors(workspace, other_workspace, editor_api, viewer_api, db):
    journey = published(workspace, WAITING)
    foreign = CustomerList.objects.unscoped().create(workspace=other_workspace, name="theirs")
    response = editor_api.post(url(journey), {"list_id": foreign.id}, format="json")
    assert response.status_code == 400 and "list_id" in response.json()["error"]["details"]
    response = editor_api.post(url(journey), {}, format="json")
    assert response.status_code == 400 and "customer_ids" in response.json()["error"]["details"]
    bad_csv = SimpleUploadedFile("ids.csv", b"email\na@b.c\n", content_type="text/csv")
    response = editor_api.post(url(journey), {"file": bad_csv}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["error"]["details"]
    assert viewer_api.post(url(journey), {"all": True}, format="json").status_code == 403
    draft = journey_create(workspace=workspace, actor=None, name="draft", graph=WAITING, settings={"entry": {"type": "api"}})
    response = editor_api.post(url(draft), {"all": True}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_list_detail_and_delete(workspace, api, engine):
    journey = published(workspace, WAITING)
    people = customers(workspace, 3)
    api.post(url(journey), {"customer_ids": ["c0", "c1", "c2"]}, format="json")
    for c in people:
        wait_state(journey, c, "waiting")

    page = api.get(url(journey), {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(url(journey), {"limit": 2, "cursor": page["next"]}).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert {r["customer_id"] for r in page["results"] + rest["results"]} == {"c0", "c1", "c2"}

    detail = api.get(url(journey, "/c1")).json()
    assert detail["state"] == "waiting" and detail["node_id"] == "w"
    assert detail["exit_reason"] == "" and detail["goals"] == [] and detail["finished_at"] is None
    assert [(h["node_id"], h["kind"], h["handle"]) for h in detail["history"]] == [
        ("start", "entered", ""), ("start", "passed", "next"), ("w", "arrived", ""), ("w", "waiting", ""),
    ]
    assert {"at"} <= set(detail["history"][0])

    assert api.delete(url(journey, "/c1")).status_code == 204
    removed = api.get(url(journey, "/c1")).json()
    assert removed["state"] == "exited" and removed["exit_reason"] == "removed"
    assert api.delete(url(journey, "/c1")).status_code == 404  # nothing live any more
    assert api.get(url(journey, "/nobody")).status_code == 404

    waiting = api.get(url(journey), {"state": "waiting"}).json()["results"]
    assert {r["customer_id"] for r in waiting} == {"c0", "c2"}
    assert [r["customer_id"] for r in api.get(url(journey), {"customer_id": "c2"}).json()["results"]] == ["c2"]
    assert api.get(url(journey), {"state": "bogus"}).status_code == 400


def test_simulate_walks_the_draft_and_writes_nothing(workspace, api, db):
    graph = {
        "nodes": [
            node("start", "start"),
            node("u", "update_profile", {"set": {"hello": "hi {{ customer.name }} ({{ event.sku }})"}}),
            node("w", "wait", {"mode": "event", "event": "paid", "timeout": {"value": 3, "unit": "days"}}),
            node("b", "branch", {"groups": [{"id": "rich", "name": "Rich", "condition": {"attribute": "spend", "op": "gt", "value": 100}}]}),
            node("s", "split", {"paths": [{"id": "a", "name": "A", "percent": 100}, {"id": "z", "name": "Z", "percent": 0.0001}]}),
            node("end", "exit"),
        ],
        "edges": [edge("start", "next", "u"), edge("u", "next", "w"), edge("w", "event", "b"), edge("w", "timeout", "end"),
                  edge("b", "rich", "s"), edge("s", "a", "end")],
    }
    journey = journey_create(workspace=workspace, actor=None, name="Draft", graph=graph, settings={"entry": {"type": "api"}})
    body = {"customer": {"external_id": "sim", "attributes": {"name": "Zoe", "spend": 500}},
            "events": [{"name": "viewed", "properties": {"sku": "X1"}}, {"name": "paid"}]}
    response = api.post(f"/api/v1/journeys/{journey.id}/simulate", body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    taken = [(s["node_id"], s["kind"], s["handle"]) for s in result["steps"] if s["kind"] in ("passed", "waiting", "completed")]
    assert taken == [("start", "passed", "next"), ("u", "passed", "next"), ("w", "waiting", ""), ("w", "passed", "event"),
                     ("b", "passed", "rich"), ("s", "passed", "a"), ("end", "completed", "")]
    assert result["customer"]["attributes"]["hello"] == "hi Zoe (X1)"
    assert result["state"] == "completed"

    (c,) = customers(workspace, attributes={"spend": 1})
    result = api.post(f"/api/v1/journeys/{journey.id}/simulate", {"customer_id": c.external_id}, format="json").json()
    assert ("w", "passed", "timeout") in [(s["node_id"], s["kind"], s["handle"]) for s in result["steps"]]
    c.refresh_from_db()
    assert "hello" not in c.attributes
    assert not Enrollment.objects.for_workspace(workspace).exists()
    assert not StepEvent.objects.for_workspace(workspace).exists()
    response = api.post(f"/api/v1/journeys/{journey.id}/simulate", {"customer_id": "nobody"}, format="json")
    assert response.status_code == 400 and "customer_id" in response.json()["error"]["details"]


def test_schema_describes_the_engine_routes(api, db):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/journeys/{journey_id}/enrollments"]
    assert "delete" in paths["/api/v1/journeys/{journey_id}/enrollments/{customer_id}"]
    assert "requestBody" in paths["/api/v1/journeys/{journey_id}/simulate"]["post"]


def test_enrollment_list_query_count_does_not_grow(workspace, api, django_assert_max_num_queries, db):
    journey = published(workspace, WAITING, {"re_entry": {"policy": "always"}})
    customers(workspace, 30)
    api.post(url(journey), {"customer_ids": [f"c{i}" for i in range(3)]}, format="json")
    with django_assert_max_num_queries(8):
        assert len(api.get(url(journey)).json()["results"]) == 3
    api.post(url(journey), {"customer_ids": [f"c{i}" for i in range(3, 30)]}, format="json")
    with django_assert_max_num_queries(8):  # the same few queries for 30 rows: no N+1
        assert len(api.get(url(journey)).json()["results"]) == 30
