"""The Segment-compatible /v1 API over HTTP: auth, gzip, limits, clock skew, the mapping of traits
and context, anonymous ids and their merge, isolation and rate limits."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from audiences import hooks
from audiences.models import Customer, CustomerList, Event, ListMember
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from tests.conftest import make_client
from tests.engine.helpers import chain, node, published
from workspaces.models import Role

from .conftest import basic, send

pytestmark = pytest.mark.django_db


def customer(workspace, external_id: str) -> Customer | None:
    return Customer.objects.for_workspace(workspace).filter(external_id=external_id).first()


def events(workspace, **filters) -> list[Event]:
    return list(
        Event.objects.for_workspace(workspace)
        .filter(**filters)
        .select_related("customer")
        .order_by("id")
    )


def iso(moment: datetime) -> str:
    return moment.isoformat()


# ---- Answers and auth --------------------------------------------------------------------
def test_track_answers_like_segment_and_stores_the_event(workspace, key):
    response = send(
        "track", {"userId": "u1", "event": "signed_up", "properties": {"plan": "pro"}}, key
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}
    (event,) = events(workspace)
    assert (event.customer.external_id, event.name, event.properties) == (
        "u1",
        "signed_up",
        {"plan": "pro"},
    )


def test_write_key_in_the_body_is_accepted(workspace, key):
    response = send("track", {"userId": "u1", "event": "e", "writeKey": key})
    assert response.status_code == 200
    assert len(events(workspace)) == 1


@pytest.mark.parametrize(
    "credential", [None, "wm_unknownkey0000000000000000000000000", "not-a-key"]
)
def test_missing_or_unknown_key_is_401_in_segments_words(workspace, credential):
    response = send("track", {"userId": "u1", "event": "e"}, credential)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["code"] in ("not_authenticated", "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Basic")
    assert Event.objects.unscoped().count() == 0


def test_a_revoked_key_is_refused_at_once(workspace, api, key):
    assert send("track", {"userId": "u1", "event": "e"}, key).status_code == 200
    key_id = next(
        k["id"]
        for k in api.get("/api/v1/api-keys").json()["results"]
        if key.startswith("wm_" + k["prefix"])
    )
    assert api.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    response = send("track", {"userId": "u1", "event": "again"}, key)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert [e.name for e in events(workspace)] == ["e"]


def test_a_viewer_key_cannot_write(workspace):
    viewer = make_client(workspace, Role.VIEWER)
    response = send("track", {"userId": "u1", "event": "e"}, viewer.raw_key)
    assert response.status_code == 403
    assert events(workspace) == []


def test_a_key_writes_only_into_its_own_workspace(workspace, other_workspace, key):
    other = make_client(other_workspace)
    assert (
        send(
            "identify", {"userId": "shared", "traits": {"plan": "other"}}, other.raw_key
        ).status_code
        == 200
    )
    batch = {
        "batch": [
            {"type": "identify", "userId": "shared", "traits": {"plan": "mine"}},
            {"type": "track", "userId": "shared", "event": "bought", "messageId": "m-1"},
        ]
    }
    assert send("batch", batch, key).status_code == 200
    assert customer(workspace, "shared").attributes == {"plan": "mine"}
    assert customer(other_workspace, "shared").attributes == {"plan": "other"}
    assert events(other_workspace) == []
    # The same messageId is another workspace's own key space: stored there too, not a duplicate.
    assert send("batch", batch, other.raw_key).status_code == 200
    assert [e.name for e in events(other_workspace)] == ["bought"]
    assert len(events(workspace)) == 1


def test_rate_limited_per_key_with_retry_after(workspace, key, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "2/min"},
    }
    assert send("track", {"userId": "u1", "event": "a"}, key).status_code == 200
    assert send("track", {"userId": "u1", "event": "b"}, key).status_code == 200
    response = send("track", {"userId": "u1", "event": "c"}, key)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["success"] is False and response.json()["code"] == "throttled"
    assert len(events(workspace)) == 2


# ---- Bodies: gzip, size limits, malformed ------------------------------------------------
def test_gzip_batch(workspace, key):
    batch = {"batch": [{"type": "track", "userId": f"u{i}", "event": "opened"} for i in range(50)]}
    response = send("batch", batch, key, gzip=True)
    assert response.status_code == 200
    assert len(events(workspace, name="opened")) == 50


def test_a_batch_over_500_kb_is_400_and_nothing_is_stored(workspace, key):
    padding = "x" * 20_000
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "e", "properties": {"p": padding}}
            for _ in range(26)
        ]
    }
    assert len(json.dumps(batch)) > 500 * 1024
    response = send("batch", batch, key)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "code": "request_too_large",
        "message": response.json()["message"],
    }
    assert events(workspace) == []


def test_a_small_gzip_body_inflating_past_the_limit_is_refused(workspace, key):
    body = json.dumps(
        {
            "batch": [
                {"type": "track", "userId": "u1", "event": "e", "properties": {"p": " " * 600_000}}
            ]
        }
    )
    compressed = gzip.compress(body.encode())
    assert len(compressed) < 10_000
    response = Client().post(
        "/v1/batch",
        data=compressed,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=basic(key),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert events(workspace) == []


def test_a_message_over_32_kb_in_a_batch_is_left_out_and_reported(workspace, key):
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "small"},
            {
                "type": "track",
                "userId": "u1",
                "event": "big",
                "properties": {"p": "x" * (33 * 1024)},
            },
        ]
    }
    response = send("batch", batch, key)
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["index"] == 1 and error["error"].startswith("batch[1]") and "32 KB" in error["error"]
    assert [e.name for e in events(workspace)] == ["small"]


def test_a_single_call_over_32_kb_is_400(workspace, key):
    response = send(
        "track", {"userId": "u1", "event": "big", "properties": {"p": "x" * (33 * 1024)}}, key
    )
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert events(workspace) == []


@pytest.mark.parametrize(
    "message,field",
    [
        ({"type": "track", "userId": "u1"}, "batch[1].event"),
        ({"type": "track", "event": "e"}, "batch[1].userId"),
        ({"type": "launch", "userId": "u1"}, "batch[1].type"),
        (
            {"type": "track", "userId": "u1", "event": "e", "timestamp": "yesterday"},
            "batch[1].timestamp",
        ),
        ({"type": "alias", "userId": "u1"}, "batch[1].previousId"),
        ({"type": "group", "userId": "u1"}, "batch[1].groupId"),
        ({"type": "identify", "userId": "u1", "traits": ["a"]}, "batch[1].traits"),
    ],
)
def test_a_malformed_message_is_left_out_naming_it_and_the_others_are_stored(workspace, key, message, field):
    batch = {"batch": [{"type": "identify", "userId": "ok", "traits": {"a": 1}}, message]}
    response = send("batch", batch, key)
    assert response.status_code == 200
    assert response.json()["success"] is True
    [error] = response.json()["errors"]
    assert error["index"] == 1 and error["error"].startswith(field)
    assert customer(workspace, "ok").attributes == {"a": 1}
    assert events(workspace) == []


def test_invalid_json_and_bad_gzip_are_400(workspace, key):
    assert send("batch", None, key, raw=b"{not json").json()["code"] == "invalid_json"
    response = Client().post(
        "/v1/batch",
        data=b"plain, not gzip",
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=basic(key),
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_gzip"


# ---- Idempotency and time ----------------------------------------------------------------
def test_message_id_is_the_idempotency_key(workspace, key, api):
    message = {"type": "track", "userId": "u1", "event": "paid", "messageId": "abc-1"}
    assert send("batch", {"batch": [message, message]}, key).status_code == 200
    assert send("track", message, key).status_code == 200  # an SDK retry
    assert len(events(workspace, name="paid")) == 1
    # POST /api/v1/events with the same id is the same event.
    response = api.post(
        "/api/v1/events",
        {"events": [{"customer_id": "u1", "name": "paid", "id": "abc-1"}]},
        format="json",
    )
    assert response.json()["duplicates"] == 1
    assert len(events(workspace)) == 1


def test_clock_skew_is_corrected_with_sent_at(workspace, key):
    skew = timedelta(hours=3)  # the device's clock runs three hours ahead
    device_now = datetime.now(UTC) + skew
    batch = {
        "sentAt": iso(device_now),
        "batch": [
            {
                "type": "track",
                "userId": "u1",
                "event": "skewed",
                "originalTimestamp": iso(device_now - timedelta(minutes=5)),
            },
            # Server SDKs put the call time in `timestamp`; it is corrected the same way.
            {
                "type": "track",
                "userId": "u1",
                "event": "sdk",
                "timestamp": iso(device_now - timedelta(minutes=1)),
            },
            # A message's own sentAt wins over the batch's.
            {
                "type": "track",
                "userId": "u1",
                "event": "own",
                "originalTimestamp": iso(device_now),
                "sentAt": iso(device_now + timedelta(minutes=10)),
            },
        ],
    }
    before = datetime.now(UTC)
    assert send("batch", batch, key).status_code == 200
    after = datetime.now(UTC)
    by_name = {e.name: e.occurred_at for e in events(workspace)}
    assert (
        before - timedelta(minutes=5, seconds=1)
        <= by_name["skewed"]
        <= after - timedelta(minutes=5)
    )
    assert (
        before - timedelta(minutes=1, seconds=1) <= by_name["sdk"] <= after - timedelta(minutes=1)
    )
    assert (
        before - timedelta(minutes=10, seconds=1) <= by_name["own"] <= after - timedelta(minutes=10)
    )


def test_without_sent_at_the_timestamp_is_taken_as_given(workspace, key):
    assert (
        send(
            "track", {"userId": "u1", "event": "old", "timestamp": "2024-02-03T04:05:06Z"}, key
        ).status_code
        == 200
    )
    assert events(workspace)[0].occurred_at == datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)


# ---- Mapping -----------------------------------------------------------------------------
def test_identify_maps_reserved_traits_and_context(workspace, key):
    body = {
        "userId": "u1",
        "traits": {
            "email": "Ann@Example.COM",
            "phone": "+14155550123",
            "firstName": "Ann",
            "last_name": "Lee",
            "plan": "pro",
            "id": "u1",
            "address": {"city": "Paris"},
        },
        "context": {
            "timezone": "Europe/Paris",
            "locale": "fr-FR",
            "device": {"token": "apns-1"},
            "os": {"name": "iOS"},
        },
    }
    assert send("identify", body, key).status_code == 200
    c = customer(workspace, "u1")
    assert (c.email, c.phone, c.timezone, c.locale) == (
        "ann@example.com",
        "+14155550123",
        "Europe/Paris",
        "fr-FR",
    )
    assert c.attributes == {
        "first_name": "Ann",
        "last_name": "Lee",
        "plan": "pro",
        "address": {"city": "Paris"},
    }
    assert [(t["platform"], t["token"]) for t in c.push_tokens] == [("ios", "apns-1")]


def test_identify_reads_rudderstacks_context_traits_too(workspace, key):
    body = {
        "userId": "u1",
        "traits": {"plan": "pro"},
        "context": {"traits": {"plan": "free", "firstName": "Ann"}},
    }
    assert send("identify", body, key).status_code == 200
    assert customer(workspace, "u1").attributes == {
        "plan": "pro",
        "first_name": "Ann",
    }  # top level wins


@pytest.mark.parametrize(
    "os_name,platform",
    [("Android", "android"), ("iPadOS", "ios"), ("Mac OS X", "web"), (None, "web")],
)
def test_device_tokens_get_their_platform_from_the_os(workspace, key, os_name, platform):
    context = {"device": {"token": "t-1"}, **({"os": {"name": os_name}} if os_name else {})}
    assert send("identify", {"userId": "u1", "context": context}, key).status_code == 200
    assert [t["platform"] for t in customer(workspace, "u1").push_tokens] == [platform]


def test_a_trait_that_cannot_be_a_field_is_dropped_not_the_call(workspace, key):
    body = {
        "userId": "u1",
        "traits": {"email": "not an email", "phone": "555", "plan": "pro"},
        "context": {"timezone": "Mars/Olympus"},
    }
    assert send("identify", body, key).status_code == 200
    c = customer(workspace, "u1")
    assert (c.email, c.phone, c.timezone, c.attributes) == ("", "", "", {"plan": "pro"})


def test_page_and_screen_are_events_with_name_and_url(workspace, key):
    batch = {
        "batch": [
            {
                "type": "page",
                "userId": "u1",
                "name": "Pricing",
                "category": "Docs",
                "properties": {"path": "/pricing"},
                "context": {"page": {"url": "https://shop.example/pricing"}},
            },
            {"type": "screen", "userId": "u1", "name": "Home", "properties": {"tab": 2}},
        ]
    }
    assert send("batch", batch, key).status_code == 200
    page, screen = events(workspace)
    assert page.name == "page_viewed"
    assert page.properties == {
        "path": "/pricing",
        "name": "Pricing",
        "category": "Docs",
        "url": "https://shop.example/pricing",
    }
    assert (screen.name, screen.properties) == ("screen_viewed", {"tab": 2, "name": "Home"})


def test_group_sets_group_attributes(workspace, key):
    assert (
        send(
            "group", {"userId": "u1", "groupId": "acme", "traits": {"plan": "enterprise"}}, key
        ).status_code
        == 200
    )
    assert customer(workspace, "u1").attributes == {
        "group_id": "acme",
        "group": {"plan": "enterprise"},
    }


def test_track_feeds_the_same_hook_as_post_events(
    workspace, key, api, django_capture_on_commit_callbacks
):
    seen = []

    def handler(workspace_id, event_ids, names):
        seen.append((workspace_id, len(event_ids)))

    hooks.connect_events_ingested(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send(
                "batch",
                {
                    "batch": [
                        {"type": "track", "userId": "u1", "event": "a"},
                        {"type": "page", "userId": "u1"},
                    ]
                },
                key,
            )
        with django_capture_on_commit_callbacks(execute=True):
            api.post(
                "/api/v1/events", {"events": [{"customer_id": "u1", "name": "a"}]}, format="json"
            )
    finally:
        hooks.disconnect_events_ingested(handler)
    assert seen == [(workspace.pk, 2), (workspace.pk, 1)]


def test_resending_the_same_context_does_not_rewrite_the_profile(workspace, key):
    body = {"userId": "u1", "event": "e", "context": {"locale": "en-US"}}
    send("track", body, key)
    stamp = customer(workspace, "u1").updated_at
    send("track", body, key)
    assert customer(workspace, "u1").updated_at == stamp
    assert customer(workspace, "u1").locale == "en-US"


# ---- Anonymous ids -----------------------------------------------------------------------
def test_anonymous_messages_get_a_customer_of_their_own(workspace, key):
    send("page", {"anonymousId": "dev-1", "name": "Home"}, key)
    send("identify", {"anonymousId": "dev-1", "traits": {"utm": "ads"}}, key)
    c = customer(workspace, "anon:dev-1")
    assert c.attributes == {"utm": "ads"}
    assert [e.customer_id for e in events(workspace)] == [c.pk]


def test_identify_merges_the_anonymous_customer_into_the_known_one(workspace, key):
    send(
        "batch",
        {
            "batch": [
                {"type": "track", "anonymousId": "dev-1", "event": "viewed", "messageId": "m1"},
                {
                    "type": "identify",
                    "anonymousId": "dev-1",
                    "traits": {"utm": "ads", "plan": "free"},
                    "context": {"device": {"token": "fcm-1"}, "os": {"name": "Android"}},
                },
            ]
        },
        key,
    )
    anon = customer(workspace, "anon:dev-1")
    lst = CustomerList.objects.unscoped().create(workspace=workspace, name="L")
    ListMember.objects.unscoped().create(workspace=workspace, customer_list=lst, customer=anon)
    send(
        "identify", {"userId": "u1", "traits": {"plan": "pro"}, "context": {"locale": "de-DE"}}, key
    )

    assert (
        send(
            "identify", {"userId": "u1", "anonymousId": "dev-1", "traits": {"email": "a@b.co"}}, key
        ).status_code
        == 200
    )
    assert customer(workspace, "anon:dev-1") is None
    known = customer(workspace, "u1")
    assert known.attributes == {
        "plan": "pro",
        "utm": "ads",
        "anonymous_ids": ["dev-1"],
    }  # the known value wins
    assert (known.email, known.locale) == ("a@b.co", "de-DE")
    assert [t["token"] for t in known.push_tokens] == ["fcm-1"]
    assert [(e.name, e.customer_id) for e in events(workspace)] == [("viewed", known.pk)]
    assert ListMember.objects.for_workspace(workspace).get().customer_id == known.pk

    # The device keeps sending anonymously (before its SDK learns the userId): it is the known customer.
    send("track", {"anonymousId": "dev-1", "event": "later"}, key)
    assert customer(workspace, "anon:dev-1") is None
    assert events(workspace, name="later")[0].customer_id == known.pk


def test_a_merge_keeps_every_topic_choice_and_an_opt_out_on_either_side_wins(workspace, key):
    send("identify", {"anonymousId": "dev-5", "traits": {"utm": "ads"}}, key)
    send("identify", {"userId": "u5"}, key)
    Customer.objects.for_workspace(workspace).filter(external_id="anon:dev-5").update(
        subscriptions={"news": False, "tips": True, "deals": True}
    )
    Customer.objects.for_workspace(workspace).filter(external_id="u5").update(
        subscriptions={"news": True, "deals": False}
    )
    send("identify", {"userId": "u5", "anonymousId": "dev-5"}, key)
    assert customer(workspace, "anon:dev-5") is None
    assert customer(workspace, "u5").subscriptions == {"news": False, "tips": True, "deals": False}


def test_anonymous_events_in_the_same_batch_as_the_login_go_to_the_user(workspace, key):
    send(
        "batch",
        {
            "batch": [
                {"type": "page", "anonymousId": "dev-9", "name": "Landing"},
                {"type": "identify", "userId": "u9", "anonymousId": "dev-9"},
                {"type": "track", "anonymousId": "dev-9", "event": "clicked"},
            ]
        },
        key,
    )
    assert customer(workspace, "anon:dev-9") is None
    assert {e.customer.external_id for e in events(workspace)} == {"u9"}


def test_alias_merges_previous_id_into_user_id(workspace, key):
    send("track", {"anonymousId": "dev-2", "event": "browse"}, key)
    send("identify", {"userId": "old-login", "traits": {"legacy": True}}, key)
    send(
        "batch",
        {
            "batch": [
                {"type": "alias", "previousId": "dev-2", "userId": "u2"},
                {"type": "alias", "previousId": "old-login", "userId": "u2"},
            ]
        },
        key,
    )
    assert customer(workspace, "anon:dev-2") is None and customer(workspace, "old-login") is None
    u2 = customer(workspace, "u2")
    assert u2.attributes["legacy"] is True
    assert sorted(u2.attributes["anonymous_ids"]) == ["dev-2", "old-login"]
    assert [e.customer_id for e in events(workspace)] == [u2.pk]


def test_a_device_relinked_to_another_user_follows_the_new_one(workspace, key):
    send("identify", {"userId": "alice", "anonymousId": "kiosk"}, key)
    send("identify", {"userId": "bob", "anonymousId": "kiosk"}, key)
    assert "kiosk" not in customer(workspace, "alice").attributes["anonymous_ids"]
    send("track", {"anonymousId": "kiosk", "event": "tap"}, key)
    assert events(workspace, name="tap")[0].customer.external_id == "bob"


def test_merge_moves_journey_enrollments_so_journeys_continue(workspace, key):
    graph = chain(
        node("start", "start"),
        node("wait", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}),
    )
    journey = published(workspace, graph)
    other = published(workspace, graph, name="both in it")
    send("track", {"anonymousId": "dev-3", "event": "x"}, key)
    send("identify", {"userId": "u3"}, key)
    anon, known = customer(workspace, "anon:dev-3"), customer(workspace, "u3")
    enrollments_create(journey=journey, customer_ids=[anon.pk])
    enrollments_create(journey=other, customer_ids=[anon.pk, known.pk])

    send("alias", {"previousId": "dev-3", "userId": "u3"}, key)
    moved = Enrollment.objects.for_workspace(workspace).get(journey=journey)
    assert moved.customer_id == known.pk and moved.state in ("active", "waiting")
    # Already in `other` as themself: the known customer's own enrollment is the one kept.
    assert list(
        Enrollment.objects.for_workspace(workspace)
        .filter(journey=other)
        .values_list("customer_id", flat=True)
    ) == [known.pk]


# ---- Schema ------------------------------------------------------------------------------
def test_the_endpoints_are_operations_in_the_openapi_schema(api):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    for name in ("identify", "track", "page", "screen", "group", "alias", "batch"):
        operation = schema["paths"][f"/v1/{name}"]["post"]
        assert operation["operationId"] == f"tracking_{name}"
        assert "application/json" in operation["requestBody"]["content"]
        assert set(operation["responses"]) >= {"200", "400", "401", "429"}
    assert schema["components"]["securitySchemes"]["writeKey"] == {
        "type": "http",
        "scheme": "basic",
        "description": schema["components"]["securitySchemes"]["writeKey"]["description"],
    }
