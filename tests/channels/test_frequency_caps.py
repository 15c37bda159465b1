"""Workspace-wide frequency cap and quiet hours across journeys (PATCH /workspace), with
transactional messages exempt from both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels_app.models import Message
from channels_app.services import MessageStep, channel_create, message_prepare
from tests.conftest import sandbox_channels, wait_for
from tests.engine.conftest import engine, timers_pump  # noqa: F401  (fixtures)
from tests.engine.helpers import chain, node, published

from .conftest import make_customer

DAILY_2 = {"max": 2, "per": {"value": 1, "unit": "days"}}


def _message(node_id, category, text):
    return {"id": node_id, "type": "message",
            "config": {"channel": "sms", "category": category, "content": {"text": text}}}


def _journey(api, name):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            _message("promo1", "marketing", f"{name} promo 1"),
            _message("receipt", "transactional", f"{name} receipt"),
            _message("promo2", "marketing", f"{name} promo 2"),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "promo1"},
            {"source": "promo1", "source_handle": "next", "target": "receipt"},
            {"source": "promo1", "source_handle": "failed", "target": "receipt"},  # capped: go on
            {"source": "receipt", "source_handle": "next", "target": "promo2"},
        ],
    }
    journey = api.post(
        "/api/v1/journeys", {"name": name, "graph": graph, "settings": {"entry": {"type": "api"}}}, format="json"
    ).json()
    assert api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json").status_code == 200
    return journey["id"]


def test_a_customer_in_three_journeys_gets_two_marketing_messages_and_every_transactional_one(
    celery_worker, api, http_server
):
    http_server.route("POST", "/sms", 200, {"id": "p"})
    assert api.post("/api/v1/channels", {"channel": "sms", "provider": "http", "name": "S",
                                         "credentials": {"url": f"{http_server.url}/sms"}},
                    format="json").status_code == 201
    patched = api.patch("/api/v1/workspace", {"frequency_cap": DAILY_2}, format="json")
    assert patched.status_code == 200 and patched.json()["frequency_cap"] == DAILY_2
    api.post("/api/v1/customers", {"customers": [{"external_id": "ada", "phone": "+14155550101"}]}, format="json")
    journeys = [_journey(api, name) for name in ("A", "B", "C")]
    for journey_id in journeys:
        enrolled = api.post(f"/api/v1/journeys/{journey_id}/enrollments", {"customer_ids": ["ada"]}, format="json")
        assert enrolled.status_code == 202

    def finished():
        states = [api.get(f"/api/v1/journeys/{j}/enrollments/ada").json().get("state") for j in journeys]
        return all(s == "completed" for s in states)

    wait_for(finished, timeout=60)
    wait_for(lambda: len(http_server.requests) >= 5, timeout=30)
    texts = sorted(r.json()["content"]["text"] for r in http_server.requests)
    receipts = [t for t in texts if "receipt" in t]
    promos = [t for t in texts if "promo" in t]
    assert receipts == ["A receipt", "B receipt", "C receipt"]
    assert len(promos) == 2
    capped = api.get("/api/v1/messages", {"customer_id": "ada", "status": "failed"}).json()["results"]
    assert sorted(m["error"] for m in capped) == ["frequency_capped"] * 4


@pytest.mark.django_db
def test_workspace_settings_are_validated(api):
    bad = api.patch("/api/v1/workspace", {"frequency_cap": {"max": 0, "per": {"value": 1, "unit": "fortnights"}},
                                          "quiet_hours": {"start": "25:00", "end": "08:00"}}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {"frequency_cap", "quiet_hours"}
    cleared = api.patch("/api/v1/workspace", {"frequency_cap": None, "quiet_hours": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["frequency_cap"] is None


@pytest.mark.django_db
def test_workspace_quiet_hours_hold_marketing_not_transactional(api, workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    assert api.patch("/api/v1/workspace", {"quiet_hours": {"start": "21:00", "end": "08:00"}},
                     format="json").status_code == 200
    workspace.refresh_from_db()
    customer = make_customer(workspace, phone="+15550001", timezone="Asia/Seoul")
    night = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)  # 23:00 in Seoul

    def prepare(category, node_id):
        return message_prepare(step=MessageStep(
            workspace=workspace, customer=customer, node_id=node_id, now=night,
            config={"channel": "sms", "category": category, "content": {"text": "x"}},
        ))

    held = prepare("marketing", "m1")
    assert held.kind == "defer" and held.until == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # 08:00 KST
    assert prepare("transactional", "m2").kind == "queued"
    assert Message.objects.for_workspace(workspace).count() == 1


def _welcome(api, settings: dict | None = None) -> int:
    """start → WhatsApp → email → SMS → exit, every send marketing, every `failed` unconnected."""
    graph = chain(
        node("start", "start"),
        node("wa", "message", {"channel": "whatsapp", "content": {"text": "Hi on WhatsApp"}}),
        node("mail", "message", {"channel": "email", "content": {"subject": "Hi", "html": "<p>Hi</p>"}}),
        node("sms", "message", {"channel": "sms", "content": {"text": "Hi by SMS"}}),
        node("end", "exit"),
    )
    created = api.post("/api/v1/journeys", {"name": "Welcome", "graph": graph,
                                            "settings": {"entry": {"type": "api"}, **(settings or {})}},
                       format="json")
    assert created.status_code == 201, created.content
    return created.json()["id"]


def _sends(steps: list[dict]) -> dict[str, tuple[str, str]]:
    """node id → (handle taken, reason) of every message node the path passed."""
    return {s["node_id"]: (s["handle"], s["data"].get("reason", "")) for s in steps
            if s["kind"] == "passed" and s["node_id"] in ("wa", "mail", "sms")}


def test_simulate_counts_the_customers_earlier_sends_against_the_cap_as_the_engine_does(
    engine, workspace, api  # noqa: F811
):
    sandbox_channels(workspace, "whatsapp", "email", "sms")
    assert api.patch("/api/v1/workspace", {"frequency_cap": {"max": 3, "per": {"value": 1, "unit": "days"}}},
                     format="json").status_code == 200
    api.post("/api/v1/customers", {"customers": [
        {"external_id": "ada", "email": "ada@example.com", "phone": "+14155550101"}]}, format="json")
    # Earlier today Ada got one marketing SMS from another journey: two more may go out today.
    earlier = published(workspace, chain(node("start", "start"),
                                         node("promo", "message", {"channel": "sms", "content": {"text": "Sale"}})))
    assert api.post(f"/api/v1/journeys/{earlier.pk}/enrollments", {"customer_ids": ["ada"]},
                    format="json").status_code == 202
    wait_for(lambda: api.get(f"/api/v1/journeys/{earlier.pk}/enrollments/ada").json().get("state") == "completed")

    journey_id = _welcome(api)
    simulated = api.post(f"/api/v1/journeys/{journey_id}/simulate", {"customer_id": "ada"}, format="json")
    assert simulated.status_code == 200, simulated.content
    # WhatsApp and email are her second and third today; the SMS after them would be a fourth.
    expected = {"wa": ("next", ""), "mail": ("next", ""), "sms": ("failed", "frequency_capped")}
    assert _sends(simulated.json()["steps"]) == expected
    sms = next(s for s in simulated.json()["steps"] if s["node_id"] == "sms" and s["kind"] == "passed")
    assert sms["data"]["message"]["error"] == "frequency_capped"

    # The engine, sending for real, meets exactly what Simulate showed.
    assert api.put(f"/api/v1/journeys/{journey_id}/start", {}, format="json").status_code == 200
    assert api.post(f"/api/v1/journeys/{journey_id}/enrollments", {"customer_ids": ["ada"]},
                    format="json").status_code == 202
    done = wait_for(lambda: (e := api.get(f"/api/v1/journeys/{journey_id}/enrollments/ada").json())
                    .get("state") == "completed" and e, timeout=30)
    real = {h["node_id"]: h["handle"] for h in done["history"] if h["kind"] == "passed"}
    assert {n: real[n] for n in expected} == {n: handle for n, (handle, _) in expected.items()}
    errors = api.get("/api/v1/messages", {"journey_id": journey_id, "node_id": "sms"}).json()["results"]
    assert [m["error"] for m in errors] == ["frequency_capped"]


@pytest.mark.django_db
def test_simulate_counts_its_own_sends_against_the_journeys_cap_for_a_customer_typed_in(workspace, api):
    sandbox_channels(workspace, "whatsapp", "email", "sms")
    journey_id = _welcome(api, {"frequency_cap": {"max": 2, "per": {"value": 1, "unit": "hours"}}})
    customer = {"external_id": "new", "email": "new@example.com", "phone": "+14155550102"}
    body = api.post(f"/api/v1/journeys/{journey_id}/simulate", {"customer": customer}, format="json").json()
    assert _sends(body["steps"]) == {
        "wa": ("next", ""), "mail": ("next", ""), "sms": ("failed", "frequency_capped")}
    assert body["state"] == "completed"
