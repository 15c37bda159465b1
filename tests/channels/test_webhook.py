"""The webhook node through the real engine and a real Celery worker against a local receiver:
2xx → next, 5xx → retries with backoff then failed, save_as, once-only calls, the outbound guard."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from audiences.models import Customer
from channels_app.models import WebhookCall
from channels_app.services import webhook_call_attempt
from journeys.dispatch import advance_enqueue
from journeys.models import Enrollment, JourneyVersion, StepEvent
from journeys.services import journey_create, journey_start
from tests.conftest import wait_for

from .conftest import make_customer


def _journey(workspace, url: str, **webhook):
    config = {
        "method": "POST",
        "url": url,
        "headers": {"X-Customer": "{{ customer.external_id }}"},
        "body": {"plan": "{{ customer.plan }}", "journey": "{{ journey.name }}"},
        "timeout_seconds": 2,
        "retries": 0,
        **webhook,
    }
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "hook", "type": "webhook", "config": config},
            {"id": "done_next", "type": "exit", "config": {}},
            {"id": "done_failed", "type": "exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "hook"},
            {"source": "hook", "source_handle": "next", "target": "done_next"},
            {"source": "hook", "source_handle": "failed", "target": "done_failed"},
        ],
    }
    journey = journey_create(
        workspace=workspace,
        actor=None,
        name="Hooked",
        graph=graph,
        settings={"entry": {"type": "api"}},
    )
    return journey_start(journey=journey, actor=None)


def _enroll(workspace, journey, customer) -> Enrollment:
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    enrollment = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=version, customer=customer, node_id="start"
    )
    advance_enqueue([[enrollment.id, None, None]])
    return enrollment


def _passed(enrollment):
    return (
        StepEvent.objects.for_workspace(enrollment.workspace_id)
        .filter(enrollment=enrollment, node_id="hook", kind="passed")
        .values_list("handle", flat=True)
        .first()
    )


def test_2xx_takes_next_and_save_as_stores_the_json_response(celery_worker, workspace, http_server):
    http_server.route("POST", "/hook", 200, {"score": 42, "tier": "gold"})
    journey = _journey(workspace, f"{http_server.url}/hook", save_as="crm")
    customer = make_customer(workspace, "c-7", attributes={"plan": "pro"})
    enrollment = _enroll(workspace, journey, customer)

    assert wait_for(lambda: _passed(enrollment)) == "next"
    [request] = http_server.requests
    assert request.headers["X-Customer"] == "c-7"
    assert request.json() == {"plan": "pro", "journey": "Hooked"}
    customer.refresh_from_db()
    assert customer.attributes["crm"] == {"score": 42, "tier": "gold"}
    call = WebhookCall.objects.for_workspace(workspace).get(enrollment=enrollment)
    assert (call.status, call.attempts, call.status_code) == ("ok", 1, 200)


def test_500_retries_with_backoff_then_fails(celery_worker, workspace, http_server):
    http_server.route("POST", "/hook", 500, {"error": "down"})
    journey = _journey(workspace, f"{http_server.url}/hook", retries=2, save_as="crm")
    customer = make_customer(workspace, attributes={"plan": "pro"})
    enrollment = _enroll(workspace, journey, customer)

    assert wait_for(lambda: _passed(enrollment), timeout=30) == "failed"
    arrivals = [r.at for r in http_server.requests]
    assert len(arrivals) == 3  # the first call and two retries
    # Backoff 1 s then 2 s (services.webhook_backoff).
    assert arrivals[1] - arrivals[0] >= 0.9
    assert arrivals[2] - arrivals[1] >= 1.9
    call = WebhookCall.objects.for_workspace(workspace).get(enrollment=enrollment)
    assert (call.status, call.attempts, call.error) == ("failed", 3, "HTTP 500")
    customer.refresh_from_db()
    assert "crm" not in customer.attributes


def test_4xx_fails_at_once_without_retrying(celery_worker, workspace, http_server):
    http_server.route("POST", "/hook", 422, {"error": "bad"})
    journey = _journey(workspace, f"{http_server.url}/hook", retries=3)
    enrollment = _enroll(workspace, journey, make_customer(workspace))
    assert wait_for(lambda: _passed(enrollment)) == "failed"
    assert len(http_server.requests) == 1


def test_the_guard_refuses_a_private_target_that_is_not_allow_listed(
    celery_worker, workspace, http_server, settings
):
    settings.OUTBOUND_ALLOWED_HOSTS = []  # the worker thread reads the same settings
    http_server.route("POST", "/hook", 200, {})
    journey = _journey(workspace, f"{http_server.url}/hook", retries=2)
    enrollment = _enroll(workspace, journey, make_customer(workspace))

    assert wait_for(lambda: _passed(enrollment)) == "failed"
    assert http_server.requests == []
    call = WebhookCall.objects.for_workspace(workspace).get(enrollment=enrollment)
    assert call.error.startswith("outbound_blocked")
    assert call.attempts == 1  # a refused target is final, not retried


def test_a_redelivered_attempt_calls_once(workspace, http_server):
    """The call's row, not a cache, remembers it was made: a task delivered twice (or after a
    Redis flush) finds the attempt done and calls nobody."""
    http_server.route("POST", "/hook", 200, {"ok": True})
    call = _call(workspace, http_server)
    first = webhook_call_attempt(call_id=call.pk, workspace_id=workspace.pk, attempt=0)
    from workspaces.redis import get_redis

    get_redis().flushdb()
    again = webhook_call_attempt(call_id=call.pk, workspace_id=workspace.pk, attempt=0)
    assert first is not None and first.ok
    assert again is None
    assert len(http_server.requests) == 1


def test_one_call_per_visit_is_a_database_key(workspace):
    customer = make_customer(workspace)
    journey = _journey(workspace, "https://example.com/hook")
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    enrollment = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=version, customer=customer, node_id="hook"
    )
    fields = dict(workspace=workspace, enrollment=enrollment, step_seq=1, customer=customer)
    WebhookCall.objects.for_workspace(workspace).create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookCall.objects.for_workspace(workspace).create(**fields)


def test_erasing_the_customer_erases_their_calls(workspace):
    customer = make_customer(workspace)
    journey = _journey(workspace, "https://example.com/hook")
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    enrollment = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=version, customer=customer, node_id="hook"
    )
    WebhookCall.objects.for_workspace(workspace).create(
        workspace=workspace, enrollment=enrollment, step_seq=1, customer=customer
    )
    Customer.objects.for_workspace(workspace).filter(pk=customer.pk).delete()
    assert not WebhookCall.objects.for_workspace(workspace).exists()


def _graph(headers: dict) -> dict:
    hook = {"method": "POST", "url": "https://example.com/hook", "headers": headers}
    return {
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "name": "",
                "position": {"x": 0, "y": 0},
                "config": {},
            },
            {
                "id": "hook",
                "type": "webhook",
                "name": "",
                "position": {"x": 0, "y": 0},
                "config": hook,
            },
            {"id": "end", "type": "exit", "name": "", "position": {"x": 0, "y": 0}, "config": {}},
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "hook"},
            {"source": "hook", "source_handle": "next", "target": "end"},
            {"source": "hook", "source_handle": "failed", "target": "end"},
        ],
    }


@pytest.mark.parametrize(
    "name",
    ["Host", "content-length", "Transfer-Encoding", "Connection", "TE", "Proxy-Authorization"],
)
def test_hop_by_hop_and_framing_headers_are_refused_naming_the_field(api, name):
    body = {
        "name": "H",
        "graph": _graph({name: "x", "X-Ok": "1"}),
        "settings": {"entry": {"type": "api"}},
    }
    journey = api.post("/api/v1/journeys", body, format="json").json()
    started = api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json")
    # API.md: starting an invalid journey is a 409 carrying the per-node errors.
    assert started.status_code == 409, started.content
    [error] = started.json()["error"]["details"]["errors"]
    assert (error["node_id"], error["field"]) == ("hook", "config.headers")
    assert error["message"].startswith(f"{name} cannot be set")
    errors = api.post(f"/api/v1/journeys/{journey['id']}/validate").json()["errors"]
    assert [(e["node_id"], e["field"]) for e in errors] == [("hook", "config.headers")]


def test_forbidden_headers_are_stripped_at_send_time(workspace, http_server):
    """A call stored before validation refused them still cannot set them."""
    http_server.route("POST", "/hook", 200, {"ok": True})
    call = _call(
        workspace, http_server, headers={"Host": "evil.test", "Content-Length": "1", "X-Ok": "1"}
    )
    outcome = webhook_call_attempt(call_id=call.pk, workspace_id=workspace.pk, attempt=0)
    assert outcome is not None and outcome.ok
    [request] = http_server.requests
    assert request.headers["Host"] == http_server.url.removeprefix("http://")
    assert request.headers["X-Ok"] == "1" and request.json() == {"n": 1}


def _call(workspace, http_server, customer=None, **request) -> WebhookCall:
    customer = customer or make_customer(workspace)
    journey = _journey(workspace, f"{http_server.url}/hook")
    version = JourneyVersion.objects.for_workspace(workspace).get(journey=journey)
    enrollment = Enrollment.objects.for_workspace(workspace).create(
        workspace=workspace, journey=journey, version=version, customer=customer, node_id="hook"
    )
    return WebhookCall.objects.for_workspace(workspace).create(
        workspace=workspace,
        enrollment=enrollment,
        step_seq=3,
        customer=customer,
        request={
            "method": "POST",
            "url": f"{http_server.url}/hook",
            "headers": {},
            "body": {"n": 1},
            "timeout_seconds": 2,
            "retries": 0,
            **request,
        },
    )


def test_save_as_never_stores_an_answer_past_the_attribute_cap(workspace, http_server):
    """The answer is read no further than 64 KiB; the call fails saying so and stores nothing."""
    http_server.route("POST", "/hook", 200, {"blob": "x" * 3_000_000})
    customer = make_customer(workspace, attributes={"plan": "pro"})
    call = _call(workspace, http_server, customer, save_as="crm")
    outcome = webhook_call_attempt(call_id=call.pk, workspace_id=workspace.pk, attempt=0)
    assert outcome is not None and not outcome.ok
    call.refresh_from_db()
    assert call.status == "failed" and call.error.startswith("response_too_large")
    customer.refresh_from_db()
    assert customer.attributes == {"plan": "pro"}


def test_save_as_refuses_an_answer_that_would_push_the_attributes_past_the_cap(
    workspace, http_server
):
    http_server.route("POST", "/hook", 200, {"blob": "x" * 40_000})
    customer = make_customer(workspace, attributes={"notes": "y" * 40_000})
    call = _call(workspace, http_server, customer, save_as="crm")
    outcome = webhook_call_attempt(call_id=call.pk, workspace_id=workspace.pk, attempt=0)
    assert outcome is not None and not outcome.ok
    call.refresh_from_db()
    assert call.status == "failed" and call.status_code == 200
    assert call.error.startswith("save_as: the answer would make the customer's attributes larger")
    customer.refresh_from_db()
    assert "crm" not in customer.attributes


def test_a_workspace_holding_all_its_outbound_slots_waits_and_others_do_not(workspace, settings):
    from channels_app.outbound_slots import outbound_slot

    settings.OUTBOUND_SLOTS_PER_WORKSPACE = 2
    with (
        outbound_slot(workspace_id=workspace.pk) as first,
        outbound_slot(workspace_id=workspace.pk) as second,
    ):
        with outbound_slot(workspace_id=workspace.pk) as third:
            assert (first, second, third) == (True, True, False)
        with outbound_slot(workspace_id=workspace.pk + 1) as other:
            assert other is True
    with outbound_slot(workspace_id=workspace.pk) as again:
        assert again is True  # given back on exit
