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


def _welcome(workspace, channel_id: int):
    """signup enters; one email to the customer; done."""
    graph = chain(node("start", "start"), node("mail", "message", {
        "channel": "email", "channel_id": channel_id,
        "content": {"subject": "Hi {{ customer.email }}", "text": "Welcome {{ customer.external_id }}"}}),
        node("done", "exit"))
    return published(workspace, graph, {"entry": {"type": "event", "events": [{"name": "signup"}]}}, name="Welcome")


def test_same_ids_and_event_names_never_cross_message_or_count(workspace, other_workspace, celery_worker):
    from analytics.services import rollups_refresh
    from channels_app.models import Message
    from channels_app.services import channel_create

    api, other_api = make_client(workspace), make_client(other_workspace)
    mine = _welcome(workspace, channel_create(workspace=workspace, channel="email", provider="sandbox", name="s").pk)
    theirs = _welcome(other_workspace, channel_create(workspace=other_workspace, channel="email", provider="sandbox",
                                                      name="s").pk)
    for client, domain in ((api, "mine.example"), (other_api, "theirs.example")):
        rows = [{"external_id": x, "email": f"{x}@{domain}"} for x in ("c1", "c2")]
        assert client.post("/api/v1/customers", {"customers": rows}, format="json").status_code == 200
    sent = api.post("/api/v1/events", {"events": [{"customer_id": x, "name": "signup"} for x in ("c1", "c2")]},
                    format="json")
    assert sent.status_code == 202, sent.content

    def delivered(ws):
        return sorted(Message.objects.for_workspace(ws).filter(status="sent").values_list("to", flat=True))

    wait_for(lambda: delivered(workspace) == ["c1@mine.example", "c2@mine.example"], timeout=30)
    wait_for(lambda: _states(workspace, mine) == {"c1": "completed", "c2": "completed"}, timeout=30)
    assert _states(other_workspace, theirs) == {} and delivered(other_workspace) == []

    assert other_api.post("/api/v1/events", {"events": [{"customer_id": "c1", "name": "signup"}]},
                          format="json").status_code == 202
    wait_for(lambda: delivered(other_workspace) == ["c1@theirs.example"], timeout=30)
    wait_for(lambda: _states(other_workspace, theirs) == {"c1": "completed"}, timeout=30)
    assert delivered(workspace) == ["c1@mine.example", "c2@mine.example"]  # no second message here
    assert Message.objects.for_workspace(workspace).count() == 2

    # Messages and analytics, read through the API, count each workspace's own only.
    rollups_refresh()
    for client, journey, started, emails in ((api, mine, 2, {"c1@mine.example", "c2@mine.example"}),
                                             (other_api, theirs, 1, {"c1@theirs.example"})):
        listed = client.get("/api/v1/messages").json()["results"]
        assert {m["to"] for m in listed} == emails
        summary = client.get(f"/api/v1/journeys/{journey.id}/analytics").json()["summary"]
        assert (summary["started"], summary["completed"]) == (started, started)
        overview = client.get("/api/v1/analytics/journeys").json()
        rows = overview["results"] if isinstance(overview, dict) else overview
        assert [(r["id"], r["started"]) for r in rows] == [(journey.id, started)]
        # And the other's journey and messages are not there to read.
        other = theirs if journey is mine else mine
        assert client.get(f"/api/v1/journeys/{other.id}/analytics").status_code == 404
        assert client.get("/api/v1/messages", {"journey_id": other.id}).json()["results"] == []


# ---- More places a related id is accepted ---------------------------------------------------
@pytest.mark.django_db
def test_channel_test_send_and_message_filters_refuse_another_workspaces_ids(api, theirs):
    from channels_app.models import Message

    response = api.post(f"/api/v1/channels/{theirs['channel'].id}/test", {"to": "me@x.io", "content": {
        "subject": "s", "text": "t"}}, format="json")
    assert response.status_code == 404, response.content
    ws = theirs["customer"].workspace
    their_journey = published(ws, chain(node("start", "start"), node("end", "exit")))
    Message.objects.for_workspace(ws).create(workspace=ws, customer=theirs["customer"], journey=their_journey,
                                             channel_config=theirs["channel"], channel="email", to="t@x.io",
                                             status="sent")
    for params in ({"customer_id": "shared"}, {"journey_id": their_journey.id}, {"channel_id": theirs["channel"].id}):
        listed = api.get("/api/v1/messages", params)
        assert listed.status_code in (200, 400, 404), listed.status_code
        assert "t@x.io" not in listed.content.decode() and listed.json().get("results", []) == [], params


@pytest.mark.django_db
def test_enrollment_csv_and_lookups_stay_in_the_callers_workspace(editor_api, workspace, theirs):
    journey = published(workspace, chain(node("start", "start"), node("w", "wait", {
        "mode": "duration", "duration": {"value": 1, "unit": "days"}})))
    url = f"/api/v1/journeys/{journey.id}/enrollments"
    upload = SimpleUploadedFile("ids.csv", b"external_id\nshared\n", content_type="text/csv")
    assert editor_api.post(url, {"file": upload}, format="multipart").status_code == 202
    # "shared" is only theirs: nothing is enrolled here, and nothing of theirs is touched.
    assert not Enrollment.objects.for_workspace(workspace).exists()
    assert not Enrollment.objects.for_workspace(theirs["customer"].workspace).exists()
    assert editor_api.get(f"{url}/shared").status_code == 404
    assert editor_api.delete(f"{url}/shared").status_code == 404
    assert editor_api.get(url, {"customer_id": "shared"}).json()["results"] == []


@pytest.mark.django_db
def test_conditions_in_nodes_and_goals_cannot_point_at_another_workspace(editor_api, theirs):
    for condition in ({"list": theirs["list"].id}, {"segment": theirs["segment"].id}):
        graph = chain(node("start", "start"), node("b", "branch", {"groups": [
            {"id": "g", "name": "G", "condition": condition}]}), node("end", "exit"))
        settings = {"entry": {"type": "api"}, "goals": [{"id": "goal", "name": "Goal", "condition": condition}]}
        created = editor_api.post("/api/v1/journeys", {"name": "j", "graph": graph, "settings": settings},
                                  format="json")
        if created.status_code == 400:
            continue
        journey_id = created.json()["id"]
        result = editor_api.post(f"/api/v1/journeys/{journey_id}/validate").json()
        fields = {e.get("node_id") or "": e["field"] for e in result["errors"]}
        assert not result["valid"] and "b" in fields, result["errors"]
        assert any("goals" in e["field"] for e in result["errors"]), result["errors"]
        assert editor_api.put(f"/api/v1/journeys/{journey_id}/start").status_code == 409


# ---- People: accounts are global, so membership must not reach across workspaces -----------
@pytest.mark.django_db
def test_another_workspace_cannot_plant_a_password_or_learn_a_user_id_through_members(api, other_api, workspace):
    from django.core import mail

    from workspaces.models import Membership, User

    owner = User.objects.get(email="owner@example.com")
    for body in ({"email": "owner@example.com", "role": "owner", "password": "rival-chose-this-1"},
                 {"email": "later@example.com", "role": "owner", "password": "rival-chose-this-1"}):
        response = other_api.post("/api/v1/members", body, format="json")
        assert response.status_code == 400 and "password" in response.json()["error"]["details"], response.content
    invited = other_api.post("/api/v1/members", {"email": "owner@example.com", "role": "owner"}, format="json")
    assert invited.status_code == 201
    # Nothing of Acme's owner comes back, in the answer or in the rival's lists.
    for response in (invited, other_api.get("/api/v1/members"), other_api.get("/api/v1/invitations")):
        assert f'"user_id": {owner.pk}' not in response.content.decode().replace('":', '": ')
        assert "Acme" not in response.content.decode()
    assert owner.check_password("pw-owner-123") and not User.objects.filter(email="later@example.com").exists()
    assert Membership.objects.filter(user=owner).count() == 1  # still only Acme, until they accept
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]  # the person decides, by email
