"""GET /events/names: the event names a workspace has received, with counts and properties, as the
canvas suggests them for triggers and personalization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audiences import selectors

from .factories import CustomerFactory, EventFactory

pytestmark = pytest.mark.django_db


def test_names_come_most_frequent_first_with_counts_and_the_properties_their_events_carried(api, workspace):
    customer = CustomerFactory(workspace=workspace)
    now = timezone.now()
    for minutes, props in ((3, {"item_name": "Blue mug", "cart": {"total": 30}}), (2, {"item_name": "Red mug", "qty": 2})):
        EventFactory(workspace=workspace, customer=customer, name="cart_updated", properties=props,
                     occurred_at=now - timedelta(minutes=minutes))
    EventFactory(workspace=workspace, customer=customer, name="signed_up", properties={}, occurred_at=now)

    response = api.get("/api/v1/events/names")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["name"], r["count"], r["count_capped"]) for r in results] == [("cart_updated", 2, False), ("signed_up", 1, False)]
    assert results[0]["properties"] == [
        {"name": "cart.total", "example": 30},
        {"name": "item_name", "example": "Red mug"},  # the newest event's value
        {"name": "qty", "example": 2},
    ]
    assert results[1]["properties"] == []


def test_a_count_stops_at_the_cap_and_says_so(api, workspace, monkeypatch):
    monkeypatch.setattr(selectors, "EVENT_NAME_COUNT_CAP", 3)
    customer = CustomerFactory(workspace=workspace)
    for _ in range(5):
        EventFactory(workspace=workspace, customer=customer, name="page_viewed")
    row = api.get("/api/v1/events/names").json()["results"][0]
    assert (row["count"], row["count_capped"]) == (3, True)


def test_a_workspace_with_no_events_has_no_names(api):
    assert api.get("/api/v1/events/names").json() == {"results": []}
