"""Segments (CRUD, count, preview) and lists (CRUD, members by JSON or CSV)."""

from __future__ import annotations

import io

import pytest

from audiences.models import ListMember, Segment

from .factories import (
    CustomerFactory,
    CustomerListFactory,
    EventFactory,
    ListMemberFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

PRO = {"attribute": "plan", "op": "eq", "value": "pro"}


@pytest.fixture
def people(workspace):
    pro = [CustomerFactory(workspace=workspace, external_id=f"pro-{i}", attributes={"plan": "pro"}) for i in range(12)]
    CustomerFactory(workspace=workspace, external_id="free", attributes={"plan": "free"})
    EventFactory(customer=pro[0], name="purchase", properties={"amount": 99})
    return pro


def test_segment_crud_and_count(api, people):
    created = api.post("/api/v1/segments", {"name": "Pros", "condition": PRO}, format="json")
    assert created.status_code == 201
    sid = created.json()["id"]
    assert api.get(f"/api/v1/segments/{sid}/count").json() == {"count": 12}
    buyers = {"all": [PRO, {"event": "purchase", "where": [{"property": "amount", "op": "gt", "value": 50}]}]}
    updated = api.put(f"/api/v1/segments/{sid}", {"name": "Pro buyers", "condition": buyers}, format="json")
    assert updated.status_code == 200 and updated.json()["name"] == "Pro buyers"
    assert api.get(f"/api/v1/segments/{sid}/count").json() == {"count": 1}
    assert [s["id"] for s in api.get("/api/v1/segments").json()["results"]] == [sid]
    assert api.delete(f"/api/v1/segments/{sid}").status_code == 204
    assert api.get(f"/api/v1/segments/{sid}").status_code == 404


def test_preview_counts_and_samples_ten(api, people):
    data = api.post("/api/v1/segments/preview", {"condition": PRO}, format="json").json()
    assert data["count"] == 12 and len(data["sample"]) == 10
    assert all(c["attributes"]["plan"] == "pro" for c in data["sample"])


@pytest.mark.parametrize(
    "condition,field",
    [
        ({"attribute": "plan", "op": "like", "value": 1}, "condition.op"),
        ({"all": [PRO, {"attribute": "plan", "op": "eq"}]}, "condition.all.1.value"),
        ({"colour": "red"}, "condition.colour"),
        ({"event": "x", "within": "since_entry"}, "condition.within"),
        ("nonsense", "condition"),
    ],
)
def test_bad_conditions_are_400_naming_the_field(api, workspace, condition, field):
    response = api.post("/api/v1/segments", {"name": "bad", "condition": condition}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert api.post("/api/v1/segments/preview", {"condition": condition}, format="json").status_code == 400
    assert not Segment.objects.for_workspace(workspace).exists()


def test_segments_cannot_link_to_another_workspace_or_themselves(api, workspace, other_workspace):
    theirs = SegmentFactory(workspace=other_workspace)
    their_list = CustomerListFactory(workspace=other_workspace)
    for condition in ({"segment": theirs.pk}, {"list": their_list.pk}):
        response = api.post("/api/v1/segments", {"name": "x", "condition": condition}, format="json")
        assert response.status_code == 400
    a = SegmentFactory(workspace=workspace, condition=PRO)
    b = SegmentFactory(workspace=workspace, condition={"segment": a.pk})
    response = api.put(f"/api/v1/segments/{a.pk}", {"name": "loop", "condition": {"segment": b.pk}}, format="json")
    assert response.status_code == 400
    assert Segment.objects.for_workspace(workspace).get(pk=a.pk).condition == PRO


def test_viewer_reads_but_cannot_write_segments(viewer_api, workspace):
    SegmentFactory(workspace=workspace)
    assert viewer_api.get("/api/v1/segments").status_code == 200
    assert viewer_api.post("/api/v1/segments", {"name": "x", "condition": PRO}, format="json").status_code == 403


def test_list_crud_and_json_members(api, workspace, people):
    created = api.post("/api/v1/lists", {"name": "VIP"}, format="json")
    assert created.status_code == 201 and created.json()["member_count"] == 0
    lid = created.json()["id"]
    added = api.put(f"/api/v1/lists/{lid}/members", {"customer_ids": ["pro-1", "pro-2", "ghost"]}, format="json").json()
    assert added == {"added": 2, "already": 0, "not_found": ["ghost"]}
    again = api.put(f"/api/v1/lists/{lid}/members", {"customer_ids": ["pro-1"]}, format="json").json()
    assert again["already"] == 1 and again["added"] == 0
    assert api.get(f"/api/v1/lists/{lid}").json()["member_count"] == 2
    removed = api.delete(f"/api/v1/lists/{lid}/members", {"customer_ids": ["pro-1"]}, format="json")
    assert removed.json() == {"removed": 1}
    assert api.get("/api/v1/lists").json()["results"][0]["member_count"] == 1
    assert api.delete(f"/api/v1/lists/{lid}").status_code == 204
    assert not ListMember.objects.for_workspace(workspace).exists()


def test_list_members_from_a_csv_upload(api, workspace, people):
    lst = CustomerListFactory(workspace=workspace)
    csv_file = io.BytesIO("\ufeffcustomerId,name\npro-3,x\npro-4,y\nnobody,z\n".encode())
    csv_file.name = "members.csv"
    response = api.put(f"/api/v1/lists/{lst.pk}/members", {"file": csv_file}, format="multipart")
    assert response.status_code == 200
    assert response.json() == {"added": 2, "already": 0, "not_found": ["nobody"]}


def test_list_members_csv_without_an_id_column_is_400(api, workspace):
    lst = CustomerListFactory(workspace=workspace)
    csv_file = io.BytesIO(b"email\na@b.co\n")
    csv_file.name = "members.csv"
    response = api.put(f"/api/v1/lists/{lst.pk}/members", {"file": csv_file}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["error"]["details"]


def test_members_of_another_workspace_are_not_added(api, workspace, other_workspace):
    CustomerFactory(workspace=other_workspace, external_id="theirs")
    lst = CustomerListFactory(workspace=workspace)
    data = api.put(f"/api/v1/lists/{lst.pk}/members", {"customer_ids": ["theirs"]}, format="json").json()
    assert data == {"added": 0, "already": 0, "not_found": ["theirs"]}
    ListMemberFactory(customer_list=lst, customer=CustomerFactory(workspace=workspace))
    assert ListMember.objects.for_workspace(workspace).count() == 1
