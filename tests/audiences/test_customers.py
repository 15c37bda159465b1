"""Customer API: bulk upsert with per-row errors, read/patch/erase by any external_id, search."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences import hooks
from audiences.models import Customer, Event, ListMember

from .factories import (
    CustomerFactory,
    CustomerListFactory,
    EventFactory,
    ListMemberFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def changed():
    """Records customers_changed calls (they run on commit, so tests capture on_commit)."""
    calls = []

    def handler(workspace_id, ids):
        calls.append((workspace_id, sorted(ids)))

    hooks.connect_customers_changed(handler)
    yield calls
    hooks.disconnect_customers_changed(handler)


def test_upsert_creates_updates_and_keeps_valid_rows(api, workspace, django_capture_on_commit_callbacks, changed):
    CustomerFactory(workspace=workspace, external_id="old", attributes={"plan": "free", "age": 3})
    body = {
        "customers": [
            {"external_id": "new-1", "email": "Ana@Example.com", "phone": "+1 415 555 2671", "timezone": "Europe/Paris",
             "locale": "fr-FR", "attributes": {"plan": "pro"}, "tags": ["vip"], "push_tokens": [{"platform": "ios", "token": "tok"}]},
            {"external_id": "old", "attributes": {"plan": "pro", "age": None}},
            {"external_id": "bad", "email": "not-an-email"},
            {"external_id": "bad-phone", "phone": "12345"},
            {"email": "nobody@example.com"},
            {"external_id": "bad-tz", "timezone": "Mars/Olympus"},
        ]
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/customers", body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["created"], data["updated"]) == (1, 1)
    assert [e["index"] for e in data["errors"]] == [2, 3, 4, 5]
    assert "email" in data["errors"][0]["error"] and "phone" in data["errors"][1]["error"]
    assert "external_id" in data["errors"][2]["error"] and "timezone" in data["errors"][3]["error"]
    new = Customer.objects.for_workspace(workspace).get(external_id="new-1")
    assert (new.email, new.phone, new.timezone, new.locale, new.tags) == ("ana@example.com", "+14155552671", "Europe/Paris", "fr-FR", ["vip"])
    assert new.push_tokens[0]["platform"] == "ios" and new.push_tokens[0]["valid"] is True
    assert Customer.objects.for_workspace(workspace).get(external_id="old").attributes == {"plan": "pro"}  # merged, null removed
    assert not Customer.objects.for_workspace(workspace).filter(external_id__startswith="bad").exists()
    assert changed and changed[0][0] == workspace.pk and len(changed[0][1]) == 2


def test_upsert_limits_and_envelope(api):
    assert api.post("/api/v1/customers", {"customers": [{"external_id": "x"}] * 10_001}, format="json").status_code == 400
    response = api.post("/api/v1/customers", {"people": []}, format="json")
    assert response.status_code == 400 and "customers" in response.json()["error"]["details"]


def test_upsert_merges_a_repeated_external_id(api, workspace):
    body = {"customers": [{"external_id": "a", "attributes": {"x": 1}}, {"external_id": "a", "attributes": {"y": 2}}]}
    assert api.post("/api/v1/customers", body, format="json").json()["created"] == 1
    assert Customer.objects.for_workspace(workspace).get(external_id="a").attributes == {"x": 1, "y": 2}


def test_viewer_cannot_write(viewer_api):
    assert viewer_api.post("/api/v1/customers", {"customers": []}, format="json").status_code == 403


@pytest.mark.parametrize("external_id", ["user.name@example.com", "a/b/c", "x y", "ünï"])
def test_get_patch_delete_by_any_external_id(api, workspace, external_id):
    CustomerFactory(workspace=workspace, external_id=external_id, attributes={"plan": "free", "keep": 1})
    url = f"/api/v1/customers/{external_id}"
    assert api.get(url).json()["external_id"] == external_id
    response = api.patch(url, {"attributes": {"plan": "pro", "keep": None, "n": 2}, "locale": "en"}, format="json")
    assert response.status_code == 200
    assert response.json()["attributes"] == {"plan": "pro", "n": 2} and response.json()["locale"] == "en"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_patch_rejects_bad_values_naming_the_field(api, workspace):
    CustomerFactory(workspace=workspace, external_id="c1", email="a@b.co")
    response = api.patch("/api/v1/customers/c1", {"email": "nope"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["error"]["details"]
    assert Customer.objects.for_workspace(workspace).get(external_id="c1").email == "a@b.co"


def test_delete_erases_events_and_memberships(api, workspace):
    customer = CustomerFactory(workspace=workspace, external_id="gone")
    EventFactory(customer=customer)
    ListMemberFactory(customer_list=CustomerListFactory(workspace=workspace), customer=customer)
    assert api.delete("/api/v1/customers/gone").status_code == 204
    assert not Event.objects.for_workspace(workspace).exists()
    assert not ListMember.objects.for_workspace(workspace).exists()


def test_list_filters_and_pages(api, workspace, other_workspace):
    for i in range(5):
        CustomerFactory(workspace=workspace, external_id=f"alpha-{i}", email=f"a{i}@example.com", tags=["vip"] if i % 2 else [], attributes={"n": i})
    CustomerFactory(workspace=workspace, external_id="zed", email="bob@example.com")
    CustomerFactory(workspace=other_workspace, external_id="alpha-theirs")
    page = api.get("/api/v1/customers?limit=4").json()
    assert len(page["results"]) == 4 and page["next"]
    rest = api.get(f"/api/v1/customers?limit=4&cursor={page['next']}").json()
    assert len(rest["results"]) == 2 and rest["next"] is None
    ids = lambda r: sorted(c["external_id"] for c in r.json()["results"])  # noqa: E731
    assert ids(api.get("/api/v1/customers?search=alpha")) == [f"alpha-{i}" for i in range(5)]
    assert ids(api.get("/api/v1/customers?search=BOB@")) == ["zed"]
    assert ids(api.get("/api/v1/customers?tag=vip")) == ["alpha-1", "alpha-3"]
    segment = SegmentFactory(workspace=workspace, condition={"attribute": "n", "op": "gte", "value": 3})
    assert ids(api.get(f"/api/v1/customers?segment_id={segment.pk}")) == ["alpha-3", "alpha-4"]
    lst = CustomerListFactory(workspace=workspace)
    ListMemberFactory(customer_list=lst, customer=Customer.objects.for_workspace(workspace).get(external_id="zed"))
    assert ids(api.get(f"/api/v1/customers?list_id={lst.pk}")) == ["zed"]


def test_list_refuses_another_workspaces_segment_or_list(api, other_workspace):
    segment = SegmentFactory(workspace=other_workspace)
    lst = CustomerListFactory(workspace=other_workspace)
    for query in (f"segment_id={segment.pk}", f"list_id={lst.pk}", "list_id=abc"):
        response = api.get(f"/api/v1/customers?{query}")
        assert response.status_code == 400
        assert query.split("=")[0] in response.json()["error"]["details"]


def test_list_query_count_does_not_grow_with_rows(api, workspace):
    CustomerFactory.create_batch(30, workspace=workspace)
    api.get("/api/v1/customers?limit=1")  # the key's first use of the minute is recorded once
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/customers?limit=5")
    with CaptureQueriesContext(connection) as many:
        api.get("/api/v1/customers?limit=30")
    assert len(few) == len(many) <= 3  # the key, the page
