"""The journey status machine, publishing immutable versions, publish impact and the audit log."""

from __future__ import annotations

import pytest

from audiences.models import Customer
from journeys import lifecycle
from journeys.models import Enrollment, Journey, JourneyVersion
from journeys.services import journey_pause, journey_start, journey_stop
from workspaces.models import Role, User
from workspaces.services import membership_set

from .builders import days, edge, email, make_journey, node, valid_graph

pytestmark = pytest.mark.django_db
URL = "/api/v1/journeys"


@pytest.fixture
def hooks(monkeypatch):
    """Records the engine's lifecycle hooks as the services call them."""
    calls = []
    for name in (
        "journey_activated",
        "journey_version_published",
        "journey_paused",
        "journey_resumed",
        "journey_stopped",
    ):

        def record(_name=name, **kwargs):
            calls.append((_name, kwargs))

        monkeypatch.setattr(lifecycle, name, record)
    return calls


def in_status(workspace, status):
    journey = make_journey(workspace, name=f"in {status}")
    steps = {
        "draft": [],
        "active": ["start"],
        "paused": ["start", "pause"],
        "stopped": ["start", "stop"],
        "archived": ["archive"],
    }[status]
    for step in steps:
        from journeys import services

        journey = getattr(services, f"journey_{step}")(journey=journey, actor=None)
    return journey


def act(api, journey, action):
    method = "post" if action == "archive" else "put"
    return getattr(api, method)(f"{URL}/{journey.pk}/{action}", {}, format="json")


ALLOWED = {
    ("draft", "start"): "active",
    ("draft", "archive"): "archived",
    ("active", "start"): "active",
    ("active", "pause"): "paused",
    ("active", "stop"): "stopped",
    ("paused", "resume"): "active",
    ("paused", "stop"): "stopped",
    ("stopped", "archive"): "archived",
}


@pytest.mark.parametrize("status", ["draft", "active", "paused", "stopped", "archived"])
@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop", "archive"])
def test_every_transition(api, workspace, status, action):
    journey = in_status(workspace, status)
    response = act(api, journey, action)
    if (status, action) in ALLOWED:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == ALLOWED[(status, action)]
    else:
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "conflict"
        assert error["message"] == f"Cannot {action} a journey that is {status}."
        assert error["details"] == {"status": status}
        journey.refresh_from_db()
        assert journey.status == status


def test_start_publishes_version_1_and_activates(api, workspace, hooks):
    journey = make_journey(workspace)
    body = act(api, journey, "start").json()
    assert (body["status"], body["version"]) == ("active", 1)
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    assert (version.number, version.graph, version.settings) == (1, journey.graph, journey.settings)
    assert hooks == [("journey_activated", {"journey": journey, "version": version})]
    assert hooks[0][1]["journey"].status == "active"  # the hook sees the row already changed


def test_start_of_an_invalid_journey_is_a_409_with_the_errors(api, workspace, hooks):
    graph = valid_graph()
    graph["nodes"][1]["config"] = {"mode": "duration"}
    journey = make_journey(workspace, graph=graph)
    response = act(api, journey, "start")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_journey"
    assert error["details"]["errors"] == [
        {"node_id": "wait", "field": "config.duration", "message": "A duration is required."}
    ]
    journey.refresh_from_db()
    assert (journey.status, journey.live_version_id, hooks) == ("draft", None, [])
    assert not JourneyVersion.objects.for_workspace(workspace).exists()


def test_publishing_an_edit_makes_a_new_version_and_leaves_old_ones_frozen(api, workspace, hooks):
    journey = make_journey(workspace)
    act(api, journey, "start")
    v1_graph = api.get(f"{URL}/{journey.pk}/versions/1").json()["graph"]

    graph = valid_graph()
    graph["nodes"][1]["config"]["duration"] = days(3)
    api.patch(f"{URL}/{journey.pk}", {"graph": graph, "name": "Edited"}, format="json")
    # editing the draft changes neither the live version nor version 1
    assert api.get(f"{URL}/{journey.pk}").json()["version"] == 1
    assert api.get(f"{URL}/{journey.pk}/versions/1").json()["graph"] == v1_graph

    hooks.clear()
    body = api.put(f"{URL}/{journey.pk}/start", {"in_flight": "keep"}, format="json").json()
    assert (body["status"], body["version"]) == ("active", 2)
    assert api.get(f"{URL}/{journey.pk}/versions/1").json()["graph"] == v1_graph
    v2 = api.get(f"{URL}/{journey.pk}/versions/2").json()
    assert v2["graph"] == graph and v2["number"] == 2
    assert [v["number"] for v in api.get(f"{URL}/{journey.pk}/versions").json()["results"]] == [
        2,
        1,
    ]
    assert api.get(f"{URL}/{journey.pk}/versions/3").status_code == 404

    ((name, kwargs),) = hooks
    assert name == "journey_version_published"
    assert (kwargs["previous"].number, kwargs["version"].number, kwargs["in_flight"]) == (
        1,
        2,
        "keep",
    )


def test_publish_defaults_to_moving_in_flight_customers_and_checks_the_choice(
    api, workspace, hooks
):
    journey = make_journey(workspace)
    act(api, journey, "start")
    hooks.clear()
    act(api, journey, "start")
    assert hooks[0][1]["in_flight"] == "move"
    response = api.put(f"{URL}/{journey.pk}/start", {"in_flight": "teleport"}, format="json")
    assert response.status_code == 400 and "in_flight" in response.json()["error"]["details"]


def test_pause_resume_stop_call_the_engine_hooks(api, workspace, hooks):
    journey = make_journey(workspace)
    for action in ("start", "pause", "resume", "stop"):
        act(api, journey, action)
    assert [name for name, _ in hooks] == [
        "journey_activated",
        "journey_paused",
        "journey_resumed",
        "journey_stopped",
    ]


def test_stopped_and_archived_journeys_are_read_only(api, workspace):
    for status in ("stopped", "archived"):
        journey = in_status(workspace, status)
        response = api.patch(f"{URL}/{journey.pk}", {"name": "new"}, format="json")
        assert response.status_code == 409 and status in response.json()["error"]["message"]


def test_a_paused_journey_cannot_be_deleted(api, workspace):
    journey = in_status(workspace, "paused")
    assert api.delete(f"{URL}/{journey.pk}").status_code == 409
    stopped = in_status(workspace, "stopped")
    assert api.delete(f"{URL}/{stopped.pk}").status_code == 204


def test_the_audit_log_records_who_did_what(api, workspace):
    person = User.objects.create_user("ed@example.com", "pw-ed-12345")
    membership_set(workspace=workspace, user=person, role=Role.EDITOR)
    journey = make_journey(workspace)
    journey_start(journey=journey, actor=person)
    act(api, journey, "start")  # a publish by the API key
    journey_pause(journey=journey, actor=person)
    act(api, journey, "resume")
    journey_stop(journey=journey, actor=person)
    act(api, journey, "archive")
    rows = api.get(f"{URL}/{journey.pk}/audit?limit=100").json()["results"]
    prefix = f"api-key:{api.raw_key[3:11]}"
    assert [
        (r["action"], r["from_status"], r["to_status"], r["version"], r["actor"])
        for r in reversed(rows)
    ] == [
        ("created", "", "draft", None, ""),
        ("started", "draft", "active", 1, "ed@example.com"),
        ("published", "active", "active", 2, prefix),
        ("paused", "active", "paused", 2, "ed@example.com"),
        ("resumed", "paused", "active", 2, prefix),
        ("stopped", "active", "stopped", 2, "ed@example.com"),
        ("archived", "stopped", "archived", 2, prefix),
    ]
    assert rows[4]["details"] == {"in_flight": "move", "previous_version": 1}
    assert all(r["at"] for r in rows)


def _enroll(workspace, journey, node_id, state, n):
    for i in range(n):
        customer = Customer.objects.unscoped().create(
            workspace=workspace, external_id=f"{node_id}-{state}-{i}"
        )
        Enrollment.objects.unscoped().create(
            workspace=workspace,
            journey=journey,
            version=journey.live_version,
            customer=customer,
            node_id=node_id,
            state=state,
        )


def test_publish_impact_compares_the_draft_with_the_live_version(api, workspace):
    journey = make_journey(workspace)
    act(api, journey, "start")
    journey.refresh_from_db()
    _enroll(workspace, journey, "wait", Enrollment.State.WAITING, 3)
    _enroll(workspace, journey, "wait", Enrollment.State.COMPLETED, 2)  # finished: not in flight
    _enroll(workspace, journey, "mail", Enrollment.State.ACTIVE, 1)
    graph = valid_graph()
    graph["nodes"][1]["position"] = {"x": 500, "y": 9}  # moved on the canvas only: same
    graph["nodes"][2]["config"] = email(subject="New subject")  # changed
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "end"]  # removed
    graph["nodes"].append(node("bye", "exit"))  # added
    graph["edges"][-1] = edge("mail", "next", "bye")
    api.patch(f"{URL}/{journey.pk}", {"graph": graph}, format="json")
    body = api.get(f"{URL}/{journey.pk}/publish-impact").json()
    assert body["live_version"] == 1
    assert sorted((r["node_id"], r["change"], r["in_flight"]) for r in body["results"]) == [
        ("bye", "added", 0),
        ("end", "removed", 0),
        ("mail", "changed", 1),
        ("start", "same", 0),
        ("wait", "same", 3),
    ]


def test_publish_impact_counts_customers_who_will_reach_a_changed_step_and_says_what_changed(api, workspace):
    journey = make_journey(workspace)
    act(api, journey, "start")
    journey.refresh_from_db()
    _enroll(workspace, journey, "wait", Enrollment.State.WAITING, 3)  # before the message
    _enroll(workspace, journey, "end", Enrollment.State.ACTIVE, 1)  # past it
    graph = valid_graph()
    graph["nodes"][2]["config"] = email(subject="New subject")
    graph["edges"].append(edge("mail", "failed", "end"))
    api.patch(f"{URL}/{journey.pk}", {"graph": graph}, format="json")
    body = api.get(f"{URL}/{journey.pk}/publish-impact").json()
    assert body["affected"] == 3  # the one past the message is not
    rows = {r["node_id"]: r for r in body["results"]}
    mail, wait = rows["mail"], rows["wait"]
    assert (mail["change"], mail["in_flight"], mail["downstream"]) == ("changed", 0, 3)
    assert (wait["change"], wait["in_flight"], wait["waiting"], wait["downstream"]) == ("same", 3, 3, 0)
    live_subject = valid_graph()["nodes"][2]["config"]["content"]["subject"]
    assert {"field": "config.content.subject", "before": live_subject, "after": "New subject"} in mail["diff"]
    assert {"field": "outputs.failed", "before": None, "after": "end"} in mail["diff"]
    assert wait["diff"] == []


def test_publish_impact_of_a_never_started_journey_is_all_added(api, workspace):
    journey = make_journey(workspace)
    body = api.get(f"{URL}/{journey.pk}/publish-impact").json()
    assert body["live_version"] is None
    assert {(r["change"], r["in_flight"]) for r in body["results"]} == {("added", 0)}


def test_a_changed_edge_makes_its_source_node_changed(api, workspace):
    journey = make_journey(workspace)
    act(api, journey, "start")
    graph = valid_graph()
    graph["edges"].append(edge("mail", "failed", "end"))
    api.patch(f"{URL}/{journey.pk}", {"graph": graph}, format="json")
    changes = {
        r["node_id"]: r["change"]
        for r in api.get(f"{URL}/{journey.pk}/publish-impact").json()["results"]
    }
    assert changes == {"start": "same", "wait": "same", "mail": "changed", "end": "same"}


def test_the_journey_row_points_at_the_version_the_engine_runs(workspace):
    journey = journey_start(journey=make_journey(workspace), actor=None)
    journey = journey_start(journey=journey, actor=None)
    fresh = (
        Journey.objects.for_workspace(workspace).select_related("live_version").get(pk=journey.pk)
    )
    assert fresh.live_version.number == 2
