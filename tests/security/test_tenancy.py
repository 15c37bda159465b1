"""Tenancy through related ids and shared names: an id of another workspace's list, segment,
channel or customer is refused wherever the API takes one (never linked), and two workspaces with
the same customer external ids and event names never enroll, wake or move each other's customers
(through the real engine: a real Celery worker)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audiences.models import Customer, CustomerList, ListMember, Segment
from channels_app.models import ChannelConfig
from journeys.models import Enrollment
from tests.conftest import make_client, wait_for
from tests.engine.helpers import chain, edge, node, published

VIP = {"attribute": "plan", "op": "eq", "value": "vip"}


@pytest.fixture
def theirs(other_workspace):
    """Another workspace's list (with a member), segment, channel and customer."""
    customer = Customer.objects.unscoped().create(workspace=other_workspace, external_id="shared", email="t@x.io")
    their_list = CustomerList.objects.unscoped().create(workspace=other_workspace, name="theirs")
    ListMember.objects.unscoped().create(workspace=other_workspace, customer_list=their_list, customer=customer)
    return {
        "list": their_list,
        "segment": Segment.objects.unscoped().create(workspace=other_workspace, name="theirs", condition=VIP),
        "channel": ChannelConfig.objects.unscoped().create(
            workspace=other_workspace, channel="email", provider="sandbox", name="theirs"
        ),
        "customer": customer,
    }


def _details(response) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    return response.json()["error"]["details"]


# ---- Related ids from another workspace ------------------------------------------------------
@pytest.mark.django_db
def test_customer_filters_refuse_another_workspaces_list_and_segment(api, theirs):
    assert "list_id" in _details(api.get("/api/v1/customers", {"list_id": theirs["list"].id}))
    assert "segment_id" in _details(api.get("/api/v1/customers", {"segment_id": theirs["segment"].id}))


@pytest.mark.django_db
def test_import_into_another_workspaces_list_is_refused(api, workspace, theirs):
    upload = SimpleUploadedFile("c.csv", b"external_id\nnew1\n", content_type="text/csv")
    response = api.put(f"/api/v1/customers/import?list_id={theirs['list'].id}", {"file": upload}, format="multipart")
    assert "list_id" in _details(response)
    assert ListMember.objects.for_workspace(theirs["list"].workspace).count() == 1  # still just theirs


@pytest.mark.django_db
def test_segment_conditions_cannot_point_at_another_workspace(api, workspace, theirs):
    for condition in ({"list": theirs["list"].id}, {"segment": theirs["segment"].id}):
        response = api.post("/api/v1/segments", {"name": "sneaky", "condition": condition}, format="json")
        assert response.status_code == 400, response.content
        preview = api.post("/api/v1/segments/preview", {"condition": condition}, format="json")
        assert preview.status_code == 400, preview.content
    assert not Segment.objects.for_workspace(workspace).exists()


@pytest.mark.django_db
def test_list_members_of_another_workspace_are_not_added(api, workspace, theirs):
    mine = api.post("/api/v1/lists", {"name": "mine"}, format="json").json()
    api.put(f"/api/v1/lists/{mine['id']}/members", {"customer_ids": ["shared"]}, format="json")
    # "shared" exists only in the other workspace: whatever the answer, it is not linked to theirs.
    members = ListMember.objects.for_workspace(workspace).filter(customer_list_id=mine["id"])
    assert not members.filter(customer=theirs["customer"]).exists()
    assert all(m.customer.workspace_id == workspace.id for m in members.select_related("customer"))


@pytest.mark.django_db
def test_enrollments_refuse_another_workspaces_list_segment_and_customers(editor_api, workspace, theirs):
    journey = published(workspace, chain(node("start", "start"), node("w", "wait", {
        "mode": "duration", "duration": {"value": 1, "unit": "days"}})))
    url = f"/api/v1/journeys/{journey.id}/enrollments"
    assert "list_id" in _details(editor_api.post(url, {"list_id": theirs["list"].id}, format="json"))
    assert "segment_id" in _details(editor_api.post(url, {"segment_id": theirs["segment"].id}, format="json"))
    editor_api.post(url, {"customer_ids": ["shared"]}, format="json")
    # An external id is looked up (or created) in the caller's workspace only.
    enrolled = Enrollment.objects.for_workspace(workspace).select_related("customer")
    assert all(e.customer.workspace_id == workspace.id for e in enrolled)
    assert not Enrollment.objects.for_workspace(theirs["customer"].workspace).exists()


@pytest.mark.django_db
def test_journey_settings_refuse_another_workspaces_list_and_segment(editor_api, theirs):
    graph = chain(node("start", "start"), node("end", "exit"))
    for entry, field in (
        ({"type": "list", "list_id": theirs["list"].id}, "list_id"),
        ({"type": "segment", "segment_id": theirs["segment"].id}, "segment_id"),
    ):
        created = editor_api.post("/api/v1/journeys", {"name": "j", "graph": graph, "settings": {"entry": entry}},
                                  format="json")
        if created.status_code == 400:
            assert any(field in key for key in created.json()["error"]["details"])
            continue
        # Drafts may be incomplete: then validate names the field and start refuses.
        journey_id = created.json()["id"]
        result = editor_api.post(f"/api/v1/journeys/{journey_id}/validate").json()
        assert not result["valid"] and any(field in e["field"] for e in result["errors"])
        assert editor_api.put(f"/api/v1/journeys/{journey_id}/start").status_code == 409


@pytest.mark.django_db
def test_message_node_refuses_another_workspaces_channel(editor_api, theirs):
    graph = chain(node("start", "start"), node("m", "message", {
        "channel": "email", "channel_id": theirs["channel"].id,
        "content": {"subject": "hi", "html": "<p>hi</p>", "text": "hi"}}))
    created = editor_api.post("/api/v1/journeys", {"name": "j", "graph": graph, "settings": {"entry": {"type": "api"}}},
                              format="json")
    assert created.status_code == 201, created.content
    journey_id = created.json()["id"]
    result = editor_api.post(f"/api/v1/journeys/{journey_id}/validate").json()
    assert {"node_id": "m", "field": "config.channel_id"} in [{k: e[k] for k in ("node_id", "field")} for e in result["errors"]]
    assert editor_api.put(f"/api/v1/journeys/{journey_id}/start").status_code == 409


@pytest.mark.django_db
def test_message_preview_and_simulate_refuse_another_workspaces_customer(api, workspace, theirs):
    preview = api.post("/api/v1/messages/preview", {"channel": "sms", "content": {"text": "hi {{ customer.email }}"},
                                                    "customer_id": "shared"}, format="json")
    assert "customer_id" in _details(preview)
    journey = api.post("/api/v1/journeys", {"name": "j", "graph": chain(node("start", "start"), node("e", "exit")),
                                            "settings": {"entry": {"type": "api"}}}, format="json").json()
    simulated = api.post(f"/api/v1/journeys/{journey['id']}/simulate", {"customer_id": "shared"}, format="json")
    assert simulated.status_code in (400, 404), simulated.content
    assert "t@x.io" not in simulated.content.decode()


# ---- Same external ids and event names in two workspaces, through the real engine -----------
def _waiting_for_purchase(workspace):
    """signup enters; a wait for `purchase` (1 h timeout); the purchase path tags the customer."""
    graph = {
        "nodes": [
            node("start", "start"),
            node("w", "wait", {"mode": "event", "event": "purchase", "timeout": {"value": 1, "unit": "hours"}}),
            node("tag", "update_profile", {"add_tags": ["bought"]}),
        ],
        "edges": [edge("start", "next", "w"), edge("w", "event", "tag")],
    }
    return published(workspace, graph, {"entry": {"type": "event", "events": [{"name": "signup"}]}}, name="shared")


def _states(workspace, journey) -> dict[str, str]:
    rows = Enrollment.objects.for_workspace(workspace).filter(journey=journey).values_list("customer__external_id", "state")
    return dict(rows)


def test_same_ids_and_event_names_never_cross_enroll(workspace, other_workspace, celery_worker):
    mine, theirs = _waiting_for_purchase(workspace), _waiting_for_purchase(other_workspace)
    api, other_api = make_client(workspace), make_client(other_workspace)

    def send(client, *events):
        response = client.post("/api/v1/events", {"events": list(events)}, format="json")
        assert response.status_code == 202, response.content

    send(api, {"customer_id": "c1", "name": "signup"}, {"customer_id": "c2", "name": "signup"})
    wait_for(lambda: _states(workspace, mine) == {"c1": "waiting", "c2": "waiting"})
    assert _states(other_workspace, theirs) == {}
    assert not Customer.objects.for_workspace(other_workspace).exists()

    send(other_api, {"customer_id": "c1", "name": "signup"})
    wait_for(lambda: _states(other_workspace, theirs) == {"c1": "waiting"})
    their_c1 = Customer.objects.for_workspace(other_workspace).get(external_id="c1")
    assert Enrollment.objects.for_workspace(other_workspace).get(journey=theirs).customer_id == their_c1.id

    # Their purchase wakes their c1 only; mine keep waiting.
    send(other_api, {"customer_id": "c1", "name": "purchase"})
    wait_for(lambda: _states(other_workspace, theirs) == {"c1": "completed"})
    their_c1.refresh_from_db()
    assert "bought" in their_c1.tags
    assert _states(workspace, mine) == {"c1": "waiting", "c2": "waiting"}
    assert not Customer.objects.for_workspace(workspace).filter(tags__contains=["bought"]).exists()

    # And mine wakes mine.
    send(api, {"customer_id": "c1", "name": "purchase"})
    wait_for(lambda: _states(workspace, mine) == {"c1": "completed", "c2": "waiting"})
    assert Enrollment.objects.for_workspace(workspace).count() == 2
    assert Enrollment.objects.for_workspace(other_workspace).count() == 1
