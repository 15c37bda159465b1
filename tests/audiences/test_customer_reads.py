"""The customer page's reads: GET /customers/{id}/events (newest first, keyset-paged, by name)
and GET /customers/{id}/enrollments (every pass through every journey, in one call)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys.models import Enrollment
from journeys.services import journey_start
from tests.journeys.builders import make_journey, valid_graph

from .factories import CustomerFactory, EventFactory

pytestmark = pytest.mark.django_db(transaction=False)

SLASHED_ID = "shop/42@x.y"


def events_url(external_id: str) -> str:
    return f"/api/v1/customers/{external_id}/events"


def enrollments_url(external_id: str) -> str:
    return f"/api/v1/customers/{external_id}/enrollments"


def walk(client, url: str, **params) -> tuple[list[dict], int]:
    """Every row of a paged list, following `next`; returns (rows, pages)."""
    rows, pages, cursor = [], 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return rows, pages


# ---- events -------------------------------------------------------------------------------
def test_events_newest_first_by_when_they_happened_and_paged_without_gaps(api, workspace):
    customer = CustomerFactory(workspace=workspace, external_id=SLASHED_ID)
    other = CustomerFactory(workspace=workspace)
    now = timezone.now()
    # Three share one timestamp (the id breaks the tie); the last one stored happened first
    # (a backfill), so arrival order is not the answer.
    at = [now - timedelta(minutes=m) for m in (5, 1, 3, 3, 3, 9)]
    stored = [EventFactory(customer=customer, name=f"e{i}", occurred_at=t) for i, t in enumerate(at)]
    stored.append(EventFactory(customer=customer, name="backfilled", occurred_at=now - timedelta(days=30)))
    EventFactory(customer=other, name="not-mine")

    rows, pages = walk(api, events_url(SLASHED_ID), limit=2)

    expected = sorted(stored, key=lambda e: (e.occurred_at, e.pk), reverse=True)
    assert [r["id"] for r in rows] == [e.pk for e in expected]
    assert pages == 4
    assert rows[-1]["name"] == "backfilled"
    first = rows[0]
    assert set(first) == {"id", "name", "properties", "occurred_at", "received_at", "idempotency_id"}
    assert first["name"] == "e1"


def test_events_filter_by_name(api, workspace):
    customer = CustomerFactory(workspace=workspace)
    for i in range(3):
        EventFactory(customer=customer, name="purchase", properties={"amount": i})
    EventFactory(customer=customer, name="page_view")
    response = api.get(events_url(customer.external_id), {"name": "purchase"})
    assert response.status_code == 200
    body = response.json()
    assert [r["properties"]["amount"] for r in body["results"]] == [2, 1, 0]
    assert body["next"] is None
    assert api.get(events_url(customer.external_id), {"name": "nothing"}).json()["results"] == []


def test_events_query_count_does_not_grow_with_rows(api, workspace):
    few, many = CustomerFactory(workspace=workspace), CustomerFactory(workspace=workspace)
    EventFactory(customer=few)
    for _ in range(40):
        EventFactory(customer=many)
    api.get(events_url(few.external_id))  # warm: the first call of a key also records its use
    counts = []
    for customer in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(events_url(customer.external_id)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_events_bad_paging_input_is_a_400_naming_the_field(api, workspace):
    customer = CustomerFactory(workspace=workspace)
    for params, field in (({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": "x"}, "limit")):
        response = api.get(events_url(customer.external_id), params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["details"]


def test_events_viewer_reads_unknown_and_foreign_customers_are_404(viewer_api, other_api, workspace):
    customer = CustomerFactory(workspace=workspace)
    EventFactory(customer=customer, name="signed_up")
    assert [r["name"] for r in viewer_api.get(events_url(customer.external_id)).json()["results"]] == ["signed_up"]
    assert viewer_api.get(events_url("nobody")).status_code == 404
    response = other_api.get(events_url(customer.external_id))
    assert response.status_code == 404 and "signed_up" not in response.content.decode()


def test_customer_detail_still_resolves_ids_with_slashes(api, workspace):
    CustomerFactory(workspace=workspace, external_id=SLASHED_ID)
    response = api.get(f"/api/v1/customers/{SLASHED_ID}")
    assert response.status_code == 200 and response.json()["external_id"] == SLASHED_ID


# ---- enrollments --------------------------------------------------------------------------
def _named_graph() -> dict:
    graph = valid_graph()
    for node in graph["nodes"]:
        node["name"] = {"wait": "Wait a day", "mail": "Welcome email"}.get(node["id"], "")
    return graph


def _pass(journey, customer, **fields) -> Enrollment:
    return Enrollment.all_workspaces.create(
        workspace=journey.workspace, journey=journey, version=journey.live_version, customer=customer, **fields
    )


def test_enrollments_list_every_pass_of_every_journey(api, workspace, channels_set_up):
    customer = CustomerFactory(workspace=workspace, external_id=SLASHED_ID)
    welcome = journey_start(journey=make_journey(workspace, name="Welcome", graph=_named_graph()), actor=None)
    cart = journey_start(journey=make_journey(workspace, name="Abandoned cart"), actor=None)
    now = timezone.now()
    first = _pass(
        welcome, customer, node_id="end", state=Enrollment.State.EXITED, entered_at=now - timedelta(days=9),
        finished_at=now - timedelta(days=8), exit_reason="exit_condition",
    )
    second = _pass(welcome, customer, node_id="wait", state=Enrollment.State.WAITING, entered_at=now - timedelta(hours=1))
    third = _pass(cart, customer, node_id="mail", state=Enrollment.State.ACTIVE, holdout=True)
    _pass(cart, CustomerFactory(workspace=workspace), node_id="wait", state=Enrollment.State.WAITING)

    rows, _ = walk(api, enrollments_url(SLASHED_ID), limit=2)

    assert [r["id"] for r in rows] == [third.pk, second.pk, first.pk]
    by_id = {r["id"]: r for r in rows}
    assert by_id[first.pk] | {"entered_at": None, "finished_at": None, "node_names": None} == {
        "id": first.pk, "journey_id": welcome.pk, "journey_name": "Welcome", "version": 1,
        "state": "exited", "node_id": "end", "node_name": "exit", "entered_at": None, "finished_at": None,
        "exit_reason": "exit_condition", "goals": [], "holdout": False, "wake_at": None, "node_names": None,
        "goal_names": {}, "handed_off_from": None, "handed_off_to": [],
    }
    assert by_id[first.pk]["finished_at"] is not None
    assert by_id[second.pk]["node_name"] == "Wait a day"
    assert by_id[second.pk]["node_names"]["mail"] == "Welcome email"
    assert (by_id[third.pk]["journey_name"], by_id[third.pk]["node_name"], by_id[third.pk]["holdout"]) == (
        "Abandoned cart", "mail", True,
    )


def test_a_pass_names_its_goals_as_the_marketer_named_them(api, workspace, channels_set_up):
    customer = CustomerFactory(workspace=workspace, external_id="goal-getter")
    settings = {"entry": {"type": "api"}, "goals": [{"id": "goal_1", "name": "Purchased", "condition": {"event": "purchase"}}]}
    journey = journey_start(journey=make_journey(workspace, settings=settings), actor=None)
    _pass(journey, customer, node_id="end", state=Enrollment.State.COMPLETED, goals=[{"id": "goal_1", "at": "2026-01-01T00:00:00Z"}])
    (row,), _ = walk(api, enrollments_url("goal-getter"), limit=5)
    assert row["goal_names"] == {"goal_1": "Purchased"}


def test_enrollments_query_count_does_not_grow_with_passes(api, workspace, channels_set_up):
    journeys = [journey_start(journey=make_journey(workspace, name=f"J{i}"), actor=None) for i in range(4)]
    one, many = CustomerFactory(workspace=workspace), CustomerFactory(workspace=workspace)
    _pass(journeys[0], one, node_id="wait", state=Enrollment.State.WAITING)
    for journey in journeys:
        _pass(journey, many, node_id="end", state=Enrollment.State.COMPLETED)
        _pass(journey, many, node_id="wait", state=Enrollment.State.WAITING)
    api.get(enrollments_url(one.external_id))  # warm: the first call of a key also records its use
    counts = []
    for customer in (one, many):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(enrollments_url(customer.external_id))
        assert response.status_code == 200
        counts.append(len(queries))
    assert len(response.json()["results"]) == 8
    assert counts[0] == counts[1]


def test_enrollments_viewer_reads_unknown_and_foreign_customers_are_404(viewer_api, other_api, workspace, channels_set_up):
    customer = CustomerFactory(workspace=workspace)
    journey = journey_start(journey=make_journey(workspace, name="Secret welcome"), actor=None)
    _pass(journey, customer, node_id="wait", state=Enrollment.State.WAITING)
    assert viewer_api.get(enrollments_url(customer.external_id)).json()["results"][0]["journey_name"] == "Secret welcome"
    assert viewer_api.get(enrollments_url("nobody")).status_code == 404
    response = other_api.get(enrollments_url(customer.external_id))
    assert response.status_code == 404 and "Secret welcome" not in response.content.decode()
    # An empty answer for a customer who never entered a journey, not a 404.
    fresh = CustomerFactory(workspace=workspace)
    assert viewer_api.get(enrollments_url(fresh.external_id)).json() == {"results": [], "next": None}


def test_schema_describes_both_routes(api):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    events = schema["paths"]["/api/v1/customers/{external_id}/events"]["get"]
    enrollments = schema["paths"]["/api/v1/customers/{external_id}/enrollments"]["get"]
    assert {p["name"] for p in events["parameters"]} >= {"external_id", "name", "limit", "cursor"}
    assert {p["name"] for p in enrollments["parameters"]} >= {"external_id", "limit", "cursor"}
