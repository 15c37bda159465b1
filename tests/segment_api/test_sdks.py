"""The real Segment and RudderStack Python SDKs, unchanged from PyPI, pointed at a live Waymark
(uvicorn on the test database) with a real Celery worker moving customers through journeys."""

from __future__ import annotations

import time

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from audiences.models import Customer, Event
from tests.conftest import make_client, wait_for
from tests.journeys.builders import edge, node


def segment_client(host: str, key: str, errors: list, **options) -> SegmentClient:
    return SegmentClient(
        write_key=key,
        host=host,
        on_error=lambda error, items: errors.append((error, len(items))),
        upload_interval=0.05,
        max_retries=1,
        **options,
    )


def rudder_client(host: str, key: str, errors: list, **options) -> RudderClient:
    return RudderClient(
        write_key=key,
        host=host,
        on_error=lambda error, items: errors.append((error, len(items))),
        upload_interval=0.05,
        max_retries=1,
        **options,
    )


def events_of(workspace, external_id: str) -> list[Event]:
    return list(
        Event.objects.for_workspace(workspace)
        .filter(customer__external_id=external_id)
        .order_by("id")  # arrival order: skew correction may reorder events milliseconds apart
    )


def test_segment_sdk_identify_track_page_with_gzip(tracking_server, workspace, celery_worker):
    errors: list = []
    client = segment_client(tracking_server, make_client(workspace).raw_key, errors, gzip=True)
    client.identify(
        "u1",
        {"email": "ann@example.com", "firstName": "Ann", "plan": "pro"},
        context={
            "timezone": "Europe/Berlin",
            "device": {"token": "tok"},
            "os": {"name": "Android"},
        },
    )
    client.track("u1", "signed_up", {"source": "sdk"})
    client.page("u1", name="Pricing", properties={"url": "https://x.example/pricing"})
    client.flush()
    client.shutdown()
    assert errors == []
    ann = Customer.objects.for_workspace(workspace).get(external_id="u1")
    assert (ann.email, ann.timezone) == ("ann@example.com", "Europe/Berlin")
    assert ann.attributes == {"first_name": "Ann", "plan": "pro"}
    assert [t["platform"] for t in ann.push_tokens] == ["android"]
    assert [
        (e.name, e.properties.get("source") or e.properties.get("name"))
        for e in events_of(workspace, "u1")
    ] == [
        ("signed_up", "sdk"),
        ("page_viewed", "Pricing"),
    ]


def test_segment_sdk_batch_flush_of_many_messages(tracking_server, workspace, celery_worker):
    errors: list = []
    client = segment_client(
        tracking_server, make_client(workspace).raw_key, errors, upload_size=100
    )
    started = time.monotonic()
    for i in range(1000):
        client.track(f"user-{i % 50}", "item_viewed", {"i": i})
    client.flush()
    elapsed = time.monotonic() - started
    client.shutdown()
    assert errors == []
    assert Event.objects.for_workspace(workspace).filter(name="item_viewed").count() == 1000
    assert Customer.objects.for_workspace(workspace).count() == 50
    print(
        f"\nsegment SDK: 1000 tracks in batches of 100 → {1000 / elapsed:,.0f} messages/s end to end"
    )


def test_rudderstack_sdk_identify_and_track_gzip_by_default(
    tracking_server, workspace, celery_worker
):
    errors: list = []
    client = rudder_client(tracking_server, make_client(workspace).raw_key, errors)
    assert client.gzip is True
    client.identify(anonymous_id="dev-r", traits={"utm": "mail"})
    client.track(anonymous_id="dev-r", event="viewed")
    client.identify(user_id="r1", anonymous_id="dev-r", traits={"lastName": "Rudd"})
    client.screen(user_id="r1", name="Home")
    client.flush()
    client.shutdown()
    assert errors == []
    assert not Customer.objects.for_workspace(workspace).filter(external_id="anon:dev-r").exists()
    r1 = Customer.objects.for_workspace(workspace).get(external_id="r1")
    assert r1.attributes == {"utm": "mail", "last_name": "Rudd", "anonymous_ids": ["dev-r"]}
    assert [e.name for e in events_of(workspace, "r1")] == ["viewed", "screen_viewed"]


def test_sdks_with_a_revoked_or_foreign_key_store_nothing(
    tracking_server, workspace, other_workspace, api, celery_worker
):
    revoked = make_client(workspace)
    key_id = next(
        k["id"]
        for k in api.get("/api/v1/api-keys").json()["results"]
        if revoked.raw_key.startswith("wm_" + k["prefix"])
    )
    assert api.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    errors: list = []
    client = segment_client(tracking_server, revoked.raw_key, errors)
    client.track("u1", "nope")
    client.flush()
    client.shutdown()
    assert [(e.status, n) for e, n in errors] == [(401, 1)]

    other = rudder_client(tracking_server, make_client(other_workspace).raw_key, [])
    other.track(user_id="u1", event="elsewhere")
    other.flush()
    other.shutdown()
    assert Event.objects.for_workspace(other_workspace).filter(name="elsewhere").count() == 1
    assert not Event.objects.for_workspace(workspace).exists()


def _welcome_journey(api) -> int:
    """start → branch on the identified plan → pro: update_profile, else: exit."""
    graph = {
        "nodes": [
            node("start", "start"),
            node(
                "plan",
                "branch",
                {
                    "groups": [
                        {
                            "id": "pro",
                            "name": "Pro",
                            "condition": {"attribute": "plan", "op": "eq", "value": "pro"},
                        },
                    ]
                },
            ),
            node(
                "tag",
                "update_profile",
                {"set": {"welcomed_as": "{{ customer.first_name }} ({{ event.source }})"}},
            ),
            node("end", "exit"),
        ],
        "edges": [
            edge("start", "next", "plan"),
            edge("plan", "pro", "tag"),
            edge("plan", "else", "end"),
        ],
    }
    response = api.post(
        "/api/v1/journeys",
        {
            "name": "Welcome from the SDK",
            "graph": graph,
            "settings": {
                "entry": {"type": "event", "events": [{"name": "signed_up"}]},
                "re_entry": {"policy": "never"},
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    journey_id = response.json()["id"]
    assert api.put(f"/api/v1/journeys/{journey_id}/start", {}, format="json").status_code == 200
    return journey_id


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_a_tracked_event_enters_a_journey_that_branches_on_an_identified_trait(
    sdk, tracking_server, workspace, api, celery_worker
):
    journey_id = _welcome_journey(api)
    errors: list = []
    key = make_client(workspace).raw_key
    if sdk == "segment":
        client = segment_client(tracking_server, key, errors, gzip=True)
        client.identify("pro-1", {"plan": "pro", "firstName": "Pia"})
        client.identify("free-1", {"plan": "free"})
        client.track("pro-1", "signed_up", {"source": "ios"})
        client.track("free-1", "signed_up", {"source": "web"})
        client.track("nobody", "opened_app")
    else:
        client = rudder_client(tracking_server, key, errors)
        client.identify(user_id="pro-1", traits={"plan": "pro", "firstName": "Pia"})
        client.identify(user_id="free-1", traits={"plan": "free"})
        client.track(user_id="pro-1", event="signed_up", properties={"source": "ios"})
        client.track(user_id="free-1", event="signed_up", properties={"source": "web"})
        client.track(user_id="nobody", event="opened_app")
    client.flush()
    client.shutdown()
    assert errors == []

    def finished(customer_id):
        response = api.get(f"/api/v1/journeys/{journey_id}/enrollments/{customer_id}")
        return (
            response.status_code == 200
            and response.json()["state"] == "completed"
            and response.json()
        )

    pro = wait_for(lambda: finished("pro-1"), timeout=30)
    free = wait_for(lambda: finished("free-1"), timeout=30)
    passed = lambda e: [(h["node_id"], h["handle"]) for h in e["history"] if h["kind"] == "passed"]  # noqa: E731
    assert passed(pro) == [("start", "next"), ("plan", "pro"), ("tag", "next")]
    assert passed(free) == [("start", "next"), ("plan", "else")]
    assert (
        Customer.objects.for_workspace(workspace).get(external_id="pro-1").attributes["welcomed_as"]
        == "Pia (ios)"
    )
    assert (
        "welcomed_as"
        not in Customer.objects.for_workspace(workspace).get(external_id="free-1").attributes
    )
    assert api.get(f"/api/v1/journeys/{journey_id}/enrollments/nobody").status_code == 404


def test_journeys_continue_after_an_anonymous_visitor_logs_in(
    tracking_server, workspace, api, celery_worker
):
    """Enters anonymously, waits for `purchased`; logs in (identify merges); buys as the known user."""
    graph = {
        "nodes": [
            node("start", "start"),
            node(
                "wait",
                "wait",
                {"mode": "event", "event": "purchased", "timeout": {"value": 1, "unit": "days"}},
            ),
            node("thanks", "update_profile", {"set": {"thanked": "yes"}}),
        ],
        "edges": [edge("start", "next", "wait"), edge("wait", "event", "thanks")],
    }
    response = api.post(
        "/api/v1/journeys",
        {
            "name": "Cart",
            "graph": graph,
            "settings": {
                "entry": {"type": "event", "events": [{"name": "cart_started"}]},
                "re_entry": {"policy": "never"},
            },
        },
        format="json",
    )
    journey_id = response.json()["id"]
    assert api.put(f"/api/v1/journeys/{journey_id}/start", {}, format="json").status_code == 200
    errors: list = []
    client = segment_client(tracking_server, make_client(workspace).raw_key, errors)
    client.track(anonymous_id="visitor-7", event="cart_started")
    client.flush()

    def state(customer_id):
        response = api.get(f"/api/v1/journeys/{journey_id}/enrollments/{customer_id}")
        return response.json()["state"] if response.status_code == 200 else None

    wait_for(lambda: state("anon:visitor-7") == "waiting", timeout=30)
    client.identify("buyer-7", {"email": "buyer@example.com"}, anonymous_id="visitor-7")
    client.flush()
    assert wait_for(lambda: state("buyer-7"), timeout=10) == "waiting"
    client.track("buyer-7", "purchased", {"total": 42})
    client.flush()
    client.shutdown()
    assert errors == []
    wait_for(lambda: state("buyer-7") == "completed", timeout=30)
    assert (
        Customer.objects.for_workspace(workspace).get(external_id="buyer-7").attributes["thanked"]
        == "yes"
    )
    assert (
        not Customer.objects.for_workspace(workspace).filter(external_id="anon:visitor-7").exists()
    )
