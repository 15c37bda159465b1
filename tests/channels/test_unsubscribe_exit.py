"""A journey exits on `customer.unsubscribed`: the one-click unsubscribe from its own email stores
the event, and the journey's exit condition takes the customer out while they wait."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.test import Client

from channels_app import tracking
from tests.conftest import wait_for


def test_one_click_unsubscribe_exits_the_journey_waiting_after_the_email(celery_worker, api):
    assert api.post("/api/v1/channels", {"channel": "email", "provider": "sandbox", "name": "Mail"},
                    format="json").status_code == 201
    api.post("/api/v1/customers", {"customers": [{"external_id": "eve", "email": "eve@x.test"}]}, format="json")
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "mail", "type": "message",
             "config": {"channel": "email", "content": {"subject": "Hi", "text": "Hello"}}},
            {"id": "wait", "type": "wait", "config": {"mode": "duration", "duration": {"value": 3, "unit": "days"}}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "mail"},
            {"source": "mail", "source_handle": "next", "target": "wait"},
        ],
    }
    settings = {"entry": {"type": "api"}, "exit_conditions": [{"event": "customer.unsubscribed"}]}
    journey = api.post("/api/v1/journeys", {"name": "Drip", "graph": graph, "settings": settings},
                       format="json").json()
    assert api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json").status_code == 200
    api.post(f"/api/v1/journeys/{journey['id']}/enrollments", {"customer_ids": ["eve"]}, format="json")
    enrollment = f"/api/v1/journeys/{journey['id']}/enrollments/eve"
    wait_for(lambda: api.get(enrollment).json().get("node_id") == "wait", timeout=30)
    [message] = api.get("/api/v1/messages", {"customer_id": "eve"}).json()["results"]
    link = urlsplit(tracking.unsubscribe_url(message["id"]))
    assert Client().post(f"{link.path}?{link.query}").status_code == 200
    exited = wait_for(lambda: (e := api.get(enrollment).json())["state"] == "exited" and e, timeout=30)
    assert exited["exit_reason"] == "exit_condition"
    assert api.get("/api/v1/customers/eve").json()["unsubscribed"] == ["email"]
