"""The `journey` node (API.md "Keyed journeys, date waits, hand-offs, tags"): it enrolls the
customer in another active journey of the workspace, whose audience, window and re-entry apply;
`failed` when the target is not active or refuses the customer."""

from __future__ import annotations

import threading

import pytest

from journeys.models import Enrollment
from tests.conftest import wait_for

from .builders import edge, node

URL = "/api/v1/journeys"


def journey(api, name, nodes, edges, **settings):
    created = api.post(
        URL,
        {
            "name": name,
            "graph": {"nodes": nodes, "edges": edges},
            "settings": {"entry": {"type": "api"}, **settings},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    return created.json()["id"]


def hands_off_to(target_id):
    return {
        "nodes": [
            node("start", "start"),
            node("handoff", "journey", {"journey_id": target_id}),
            node("entered", "exit"),
            node("refused", "exit"),
        ],
        "edges": [
            edge("start", "next", "handoff"),
            edge("handoff", "next", "entered"),
            edge("handoff", "failed", "refused"),
        ],
    }


def hand_off(api, target_id, name="Welcome"):
    graph = hands_off_to(target_id)
    return journey(api, name, graph["nodes"], graph["edges"])


def target(api, name="VIP care", **settings):
    return journey(
        api,
        name,
        [
            node("start", "start"),
            node("hold", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}),
        ],
        [edge("start", "next", "hold")],
        **settings,
    )


def start(api, journey_id):
    answer = api.put(f"{URL}/{journey_id}/start", {}, format="json")
    assert answer.status_code == 200, answer.json()


def final_node(journey_id, external_id):
    row = wait_for(
        lambda: (
            Enrollment.objects.unscoped()
            .filter(journey_id=journey_id, customer__external_id=external_id, state="completed")
            .first()
        ),
        timeout=30,
    )
    return row.node_id


@pytest.mark.django_db(transaction=True)
def test_a_hand_off_enrolls_in_the_target_journey_by_its_own_rules(api, celery_worker):
    api.post(
        "/api/v1/customers",
        {
            "customers": [
                {"external_id": "vip", "attributes": {"tier": "gold"}},
                {"external_id": "plain", "attributes": {"tier": "basic"}},
                {"external_id": "again", "attributes": {"tier": "gold"}},
            ]
        },
        format="json",
    )
    vip_care = target(api, audience={"all": [{"attribute": "tier", "op": "eq", "value": "gold"}]})
    welcome = hand_off(api, vip_care)
    start(api, vip_care)
    start(api, welcome)
    # "again" is already in the target journey, which takes nobody twice (re-entry "never").
    api.post(f"{URL}/{vip_care}/enrollments", {"customer_ids": ["again"]}, format="json")
    wait_for(
        lambda: api.get(f"{URL}/{vip_care}/enrollments/again").json().get("state") == "waiting"
    )

    enrolled = api.post(
        f"{URL}/{welcome}/enrollments", {"customer_ids": ["vip", "plain", "again"]}, format="json"
    )
    assert enrolled.status_code == 202, enrolled.json()

    # The gold customer enters the target journey and is waiting there; the target's audience
    # refuses the basic one and its re-entry rule the one already inside: both leave by `failed`.
    assert final_node(welcome, "vip") == "entered"
    assert final_node(welcome, "plain") == "refused"
    assert final_node(welcome, "again") == "refused"
    # The handed-off run is advanced by its own task, after the hand-off's commit.
    there = wait_for(
        lambda: (run := api.get(f"{URL}/{vip_care}/enrollments/vip").json())["state"] != "active"
        and run
    )
    assert (there["state"], there["node_id"]) == ("waiting", "hold")
    assert api.get(f"{URL}/{vip_care}/enrollments/plain").status_code == 404

    # The customer page's runs link both ways: the Welcome run names the VIP care run it enrolled,
    # and that run names the Welcome run and node it came from.
    runs = {r["journey_id"]: r for r in api.get("/api/v1/customers/vip/enrollments").json()["results"]}
    source, handed = runs[welcome], runs[vip_care]
    assert source["handed_off_to"] == [
        {"enrollment_id": handed["id"], "journey_id": vip_care, "journey_name": "VIP care", "node_id": ""}
    ]
    assert handed["handed_off_from"] == {
        "enrollment_id": source["id"], "journey_id": welcome, "journey_name": "Welcome", "node_id": "handoff"
    }
    assert (source["handed_off_from"], handed["handed_off_to"]) == (None, [])
    refused = api.get("/api/v1/customers/plain/enrollments").json()["results"]
    assert [(r["handed_off_to"], r["handed_off_from"]) for r in refused] == [([], None)]


@pytest.mark.django_db(transaction=True)
def test_a_hand_off_to_a_journey_that_is_not_active_fails(api, celery_worker):
    api.post("/api/v1/customers", {"customers": [{"external_id": "ana"}]}, format="json")
    draft = target(api, name="Not started")
    welcome = hand_off(api, draft)
    start(api, welcome)
    api.post(f"{URL}/{welcome}/enrollments", {"customer_ids": ["ana"]}, format="json")
    assert final_node(welcome, "ana") == "refused"
    assert not Enrollment.objects.unscoped().filter(journey_id=draft).exists()


@pytest.mark.django_db
def test_the_target_must_be_a_journey_of_the_workspace_and_not_itself(api, other_api):
    foreign = target(other_api, name="Theirs")
    refused = api.post(
        URL,
        {
            "name": "Leaky",
            "graph": {"nodes": [node("go", "journey", {"journey_id": foreign})], "edges": []},
        },
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {
        "graph.nodes.0.config.journey_id": [f"No journey with id {foreign} in this workspace."]
    }

    mine = target(api)
    welcome = hand_off(api, mine)
    graph = api.get(f"{URL}/{welcome}").json()["graph"]
    assert api.post(f"{URL}/{welcome}/validate").json()["valid"] is True

    graph["nodes"][1]["config"] = {"journey_id": welcome}
    itself = api.patch(f"{URL}/{welcome}", {"graph": graph}, format="json")
    assert itself.status_code == 400
    assert itself.json()["error"]["details"] == {
        "graph.nodes.1.config.journey_id": ["A journey cannot enroll customers in itself."]
    }

    graph["nodes"][1]["config"] = {}
    api.patch(f"{URL}/{welcome}", {"graph": graph}, format="json")
    errors = api.post(f"{URL}/{welcome}/validate").json()["errors"]
    assert {(e["node_id"], e["field"]) for e in errors} == {("handoff", "config.journey_id")}


@pytest.mark.django_db
def test_a_hand_off_ring_is_refused_at_validate_and_start_naming_the_node(api):
    first = target(api, name="Onboarding")
    second = hand_off(api, first, name="Nurture")
    third = hand_off(api, second, name="Win-back")
    assert api.post(f"{URL}/{third}/validate").json()["valid"] is True

    # Onboarding now hands off to Win-back: Onboarding → Win-back → Nurture → Onboarding.
    graph = {
        "nodes": [
            node("start", "start"),
            node("to-winback", "journey", {"journey_id": third}),
        ],
        "edges": [edge("start", "next", "to-winback")],
    }
    assert api.patch(f"{URL}/{first}", {"graph": graph}, format="json").status_code == 200
    checked = api.post(f"{URL}/{first}/validate").json()
    assert checked["valid"] is False
    [error] = checked["errors"]
    assert (error["node_id"], error["field"]) == ("to-winback", "config.journey_id")
    assert error["message"].startswith(
        'Hand-off loop: this node enrolls in "Win-back" → "Nurture", whose node \'handoff\' '
        "enrolls back in this journey."
    )
    refused = api.put(f"{URL}/{first}/start", {}, format="json")
    assert refused.status_code == 409
    assert "Hand-off loop" in str(refused.json())

    # Each journey of the ring sees it from its own side: Nurture → Onboarding → Win-back → Nurture.
    [seen] = api.post(f"{URL}/{second}/validate").json()["errors"]
    assert '"Onboarding" → "Win-back", whose node \'handoff\'' in seen["message"]


@pytest.mark.django_db
def test_a_ring_closed_against_a_live_journey_is_refused_when_its_last_link_starts(api):
    # B runs (live) handing off to A; A's draft hands off to B: A's start is refused. B's draft
    # no longer handing off does not matter while its live version still does.
    a = target(api, name="A")
    b = hand_off(api, a, name="B")
    start(api, a)
    start(api, b)
    api.patch(
        f"{URL}/{b}",
        {"graph": {"nodes": [node("start", "start")], "edges": []}},
        format="json",
    )
    graph = {
        "nodes": [node("start", "start"), node("to-b", "journey", {"journey_id": b})],
        "edges": [edge("start", "next", "to-b")],
    }
    assert api.patch(f"{URL}/{a}", {"graph": graph}, format="json").status_code == 200
    refused = api.put(f"{URL}/{a}/start", {}, format="json")
    assert refused.status_code == 409
    assert 'Hand-off loop: this node enrolls in "B"' in str(refused.json())


def ring_member(api, name):
    """Active on a version without hand-offs; its draft (set later) hands off to the other."""
    journey_id = journey(
        api, name, [node("start", "start"), node("done", "exit")], [edge("start", "next", "done")],
        re_entry={"policy": "always"},  # re-entry alone would not stop a customer going round
    )
    start(api, journey_id)
    return journey_id


def started_at_once(workspace, journey_ids):
    """Starts the journeys through the API at the same moment, as two editors publishing together
    do: each is validated before the other's new version exists. A lock on the versions table (in
    a connection of its own) holds every start just after its validation until all have been
    validated."""
    from django.db import connection, connections

    from tests.conftest import make_client
    from workspaces.models import Role

    answers, clients = {}, {j: make_client(workspace, Role.EDITOR) for j in journey_ids}

    def publish(journey_id):
        try:
            answers[journey_id] = clients[journey_id].put(f"{URL}/{journey_id}/start", {}, format="json")
        finally:
            connections.close_all()

    holder = connection.copy()  # a second connection to the same test database
    with holder.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE journeys_journeyversion IN EXCLUSIVE MODE")
        threads = [threading.Thread(target=publish, args=(j,)) for j in journey_ids]
        for thread in threads:
            thread.start()

        def all_validated():
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                " AND relation = 'journeys_journeyversion'::regclass"
            )
            return cursor.fetchone()[0] == len(journey_ids)

        wait_for(all_validated, timeout=30)
        cursor.execute("COMMIT")
    holder.close()
    for thread in threads:
        thread.join(timeout=30)
    return answers


@pytest.mark.django_db(transaction=True)
def test_a_ring_published_at_once_by_two_editors_stops_at_the_first_hand_off_back(
    api, workspace, celery_worker
):
    api.post("/api/v1/customers", {"customers": [{"external_id": "ana"}]}, format="json")
    first, second = ring_member(api, "Onboarding"), ring_member(api, "Nurture")
    for one, other in ((first, second), (second, first)):
        patched = api.patch(f"{URL}/{one}", {"graph": hands_off_to(other)}, format="json")
        assert patched.status_code == 200, patched.json()
    answers = started_at_once(workspace, [first, second])
    # Each was checked against the other's previous version: neither saw the ring.
    assert {j: a.status_code for j, a in answers.items()} == {first: 200, second: 200}

    api.post(f"{URL}/{first}/enrollments", {"customer_ids": ["ana"]}, format="json")

    # Onboarding hands off to Nurture; Nurture's hand-off back to Onboarding, where this run came
    # from, is refused: the run leaves by `failed`, the reason on its step.
    assert final_node(second, "ana") == "refused"
    assert final_node(first, "ana") == "entered"
    runs = Enrollment.objects.unscoped().filter(customer__external_id="ana")
    assert sorted(runs.values_list("journey_id", flat=True)) == sorted([first, second])
    nurture = api.get(f"{URL}/{second}/enrollments/ana").json()
    [step] = [s for s in nurture["history"] if s["node_id"] == "handoff" and s["kind"] == "passed"]
    assert step["handle"] == "failed"
    assert step["data"]["reason"] == "hand_off_loop"
    assert step["data"]["chain"] == [first, second]


@pytest.mark.django_db(transaction=True)
def test_a_chain_of_hand_offs_longer_than_the_limit_is_cut(api, celery_worker):
    api.post("/api/v1/customers", {"customers": [{"external_id": "ana"}]}, format="json")
    last = target(api, name="Journey 12")
    start(api, last)
    chain = [last]
    for n in range(11, 0, -1):  # Journey 1 → Journey 2 → … → Journey 12: eleven hand-offs
        chain.insert(0, hand_off(api, chain[0], name=f"Journey {n}"))
        start(api, chain[0])
    api.post(f"{URL}/{chain[0]}/enrollments", {"customer_ids": ["ana"]}, format="json")

    # Ten hand-offs in a row go through; the eleventh (from Journey 11) is refused.
    assert final_node(chain[10], "ana") == "refused"
    assert [final_node(j, "ana") for j in chain[:10]] == ["entered"] * 10
    assert not Enrollment.objects.unscoped().filter(journey_id=last).exists()
    step = api.get(f"{URL}/{chain[10]}/enrollments/ana").json()["history"]
    assert [s["data"]["reason"] for s in step if s["handle"] == "failed"] == ["hand_off_loop"]
