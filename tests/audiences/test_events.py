"""Event ingest: per-row errors, customer creation, idempotency, size bounds, and the one hook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from audiences import hooks
from audiences.models import Customer, Event

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingested():
    calls = []

    def handler(workspace_id, event_ids, names):
        calls.append((workspace_id, list(event_ids)))

    hooks.connect_events_ingested(handler)
    yield calls
    hooks.disconnect_events_ingested(handler)


def post(api, events):
    return api.post("/api/v1/events", {"events": events}, format="json")


def test_stores_events_creates_customers_and_hands_them_to_the_engine(api, workspace, django_capture_on_commit_callbacks, ingested):
    CustomerFactory(workspace=workspace, external_id="known")
    events = [
        {"customer_id": "known", "name": "purchase", "properties": {"amount": 42}, "timestamp": "2025-01-02T03:04:05+02:00"},
        {"customer_id": "brand.new@x", "name": "signup"},
    ]
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, events)
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "duplicates": 0, "errors": []}
    stored = {e.name: e for e in Event.objects.for_workspace(workspace)}
    assert stored["purchase"].occurred_at == datetime(2025, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert stored["purchase"].properties == {"amount": 42}
    assert stored["signup"].occurred_at >= before  # default: now
    assert Customer.objects.for_workspace(workspace).filter(external_id="brand.new@x").exists()
    assert len(ingested) == 1  # one call per stored batch
    assert ingested[0][0] == workspace.pk and sorted(ingested[0][1]) == sorted(e.pk for e in stored.values())


def test_a_repeated_id_is_stored_once(api, workspace, django_capture_on_commit_callbacks, ingested):
    event = {"customer_id": "c", "name": "purchase", "id": "order-1"}
    assert post(api, [event, event]).json()["accepted"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = post(api, [event]).json()
    assert again == {"accepted": 0, "duplicates": 1, "errors": []}
    assert Event.objects.for_workspace(workspace).count() == 1
    assert ingested == []  # nothing new to process


def test_a_retried_batch_stores_only_what_it_did_not_store_before(api, workspace, django_capture_on_commit_callbacks, ingested):
    first = [{"customer_id": "c", "name": "view", "id": f"e{i}"} for i in range(3)]
    assert post(api, first).json()["accepted"] == 3
    retry = [*first, {"customer_id": "c", "name": "purchase", "id": "e3"}, {"customer_id": "d", "name": "signup"}]
    with django_capture_on_commit_callbacks(execute=True):
        again = post(api, retry).json()
    assert again == {"accepted": 2, "duplicates": 3, "errors": []}
    events = Event.objects.for_workspace(workspace)
    assert events.count() == 5
    new = events.filter(name__in=["purchase", "signup"])
    assert len(ingested) == 1 and sorted(ingested[0][1]) == sorted(new.values_list("pk", flat=True))


def test_properties_keep_their_text_and_the_size_limit_counts_characters(api, workspace):
    wide = {"title": "Checkout — Example Shop", "city": "서울", "note": "é" * 20_000}  # 40 KB of UTF-8, 20k characters
    data = post(api, [{"customer_id": "a", "name": "wide", "properties": wide}]).json()
    assert data == {"accepted": 1, "duplicates": 0, "errors": []}
    assert Event.objects.for_workspace(workspace).get(name="wide").properties == wide


@pytest.mark.parametrize("odd", ['he said "hi"', "back\\slash", "a,b {c} NULL", " spaced ", "서울\n"])
def test_names_ids_and_customers_with_any_characters_are_stored_as_sent(api, workspace, odd):
    """The batch goes to PostgreSQL as array literals and a text of one line per event's properties
    when nothing needs quoting: quotes, backslashes, commas, braces, NULL, spaces, line breaks are
    stored exactly as sent, in a batch beside plain events."""
    events = [
        {"customer_id": f"c-{odd}", "name": f"n-{odd}", "id": f"k-{odd}", "properties": {"text": odd, odd: [odd]}},
        {"customer_id": "plain", "name": "plain", "id": "plain", "properties": {"a": 1}},
        {"customer_id": "plain", "name": "nokey", "properties": {"line": "one\ntwo"}},
    ]
    assert post(api, events).json() == {"accepted": 3, "duplicates": 0, "errors": []}
    stored = Event.objects.for_workspace(workspace).select_related("customer").order_by("id")
    assert [(e.customer.external_id, e.name, e.idempotency_id, e.properties) for e in stored] == [
        (f"c-{odd}".strip(), f"n-{odd}", f"k-{odd}", {"text": odd, odd: [odd]}),
        ("plain", "plain", "plain", {"a": 1}),
        ("plain", "nokey", None, {"line": "one\ntwo"}),
    ]
    assert post(api, events[:1]).json() == {"accepted": 0, "duplicates": 1, "errors": []}


def test_idempotency_ids_are_per_workspace(api, other_api, workspace, other_workspace):
    event = {"customer_id": "c", "name": "purchase", "id": "same"}
    assert post(api, [event]).json()["accepted"] == 1
    assert post(other_api, [event]).json()["accepted"] == 1


def test_bad_rows_are_reported_and_good_ones_kept(api, workspace):
    events = [
        {"customer_id": "a", "name": "ok"},
        {"name": "no customer"},
        {"customer_id": "a", "name": "x" * 201},
        {"customer_id": "a", "name": "big", "properties": {"blob": "x" * 40_000}},
        {"customer_id": "a", "name": "when", "timestamp": "yesterday"},
        {"customer_id": "a", "name": "props", "properties": [1, 2]},
        {"customer_id": "a", "name": "extra", "colour": "red"},
        "not an object",
    ]
    data = post(api, events).json()
    assert data["accepted"] == 1
    errors = {e["index"]: e["error"] for e in data["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7]
    assert "customer_id" in errors[1] and "name" in errors[2] and "properties" in errors[3]
    assert "timestamp" in errors[4] and "properties" in errors[5] and "colour" in errors[6]
    assert Event.objects.for_workspace(workspace).count() == 1


def test_batch_limit_and_envelope(api, workspace):
    too_many = post(api, [{"customer_id": "a", "name": "e"}] * 10_001)
    assert too_many.status_code == 400 and "events" in too_many.json()["error"]["details"]
    assert api.post("/api/v1/events", {"evnts": []}, format="json").status_code == 400
    assert not Event.objects.for_workspace(workspace).exists()


def test_viewer_cannot_ingest(viewer_api):
    assert post(viewer_api, [{"customer_id": "a", "name": "e"}]).status_code == 403


def test_a_full_batch_of_ten_thousand(api, workspace):
    events = [{"customer_id": f"c{i % 500}", "name": "view", "properties": {"i": i}} for i in range(10_000)]
    response = post(api, events)
    assert response.json()["accepted"] == 10_000
    assert Customer.objects.for_workspace(workspace).count() == 500


def test_the_json_body_is_read_directly_with_the_same_answers(api, workspace):
    """The hot path parses the body itself: broken JSON is still a 400 parse error, a charset
    suffix is still JSON, and what the C parser refuses but JSON allows (NaN) still stores."""
    broken = api.generic("POST", "/api/v1/events", b'{"events": [', content_type="application/json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "parse_error"
    not_an_object = api.generic("POST", "/api/v1/events", b"[1, 2]", content_type="application/json")
    assert not_an_object.status_code == 400 and "events" in not_an_object.json()["error"]["details"]
    body = b'{"events": [{"customer_id": "n", "name": "seen", "properties": {"big": 123456789012345678901234567890, "x": 1}}]}'
    response = api.generic("POST", "/api/v1/events", body, content_type="application/json; charset=utf-8")
    assert response.status_code == 202 and response.json()["accepted"] == 1
    stored = Event.objects.for_workspace(workspace).get(customer__external_id="n")
    assert stored.properties["x"] == 1 and float(stored.properties["big"]) == pytest.approx(1.2345678901234568e29)
    assert api.post("/api/v1/events", {"events": "x"}, format="multipart").status_code in (400, 415)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["ingest", "erase"])
def test_erasure_and_a_concurrent_batch_never_leave_orphan_events(workspace, first):
    """Events carry no database foreign key to their customer: ingest holds the workspace's
    customer-deletion lock shared, erasure takes it exclusive first. Whichever commits first, no event
    is left pointing at an erased customer, and a batch that waited re-creates the customer."""
    import threading

    from django.db import connection, transaction

    from audiences import services

    customer = CustomerFactory(workspace=workspace, external_id="gone")
    holding, release, finished = threading.Event(), threading.Event(), []

    def ingest():
        try:
            with transaction.atomic():
                services.events_ingest(workspace=workspace, events=[{"customer_id": "gone", "name": "late"}])
                if first == "ingest":
                    holding.set()
                    release.wait(10)
        finally:
            connection.close()
            finished.append("ingest")

    def erase():
        try:
            with transaction.atomic():
                services.customer_erase(workspace=workspace, customer=customer)
                if first == "erase":
                    holding.set()
                    release.wait(10)
        finally:
            connection.close()
            finished.append("erase")

    threads = {"ingest": threading.Thread(target=ingest), "erase": threading.Thread(target=erase)}
    threads[first].start()
    assert holding.wait(10)
    second = "erase" if first == "ingest" else "ingest"
    threads[second].start()
    threads[second].join(1)
    assert threads[second].is_alive()  # waits on the first one's lock
    release.set()
    for thread in threads.values():
        thread.join(10)
    assert sorted(finished) == ["erase", "ingest"]
    customer_ids = set(Customer.objects.for_workspace(workspace).values_list("pk", flat=True))
    events = list(Event.objects.for_workspace(workspace).values_list("customer_id", flat=True))
    assert all(pk in customer_ids for pk in events)
    assert customer.pk not in customer_ids
    # Ingest first: its event went with the erased customer. Erase first: the batch re-created it.
    assert len(events) == (0 if first == "ingest" else 1)


@pytest.mark.django_db(transaction=True)
def test_a_merge_waits_for_a_batch_in_flight_and_takes_its_events_along(workspace):
    """An alias merges the anonymous customer into the known one while a batch for the anonymous
    id is still open: the merge waits for it, then moves its event over instead of erasing it."""
    import threading

    from django.db import connection, transaction

    from audiences import services
    from audiences.segment_api.services import tracking_apply, tracking_parse

    CustomerFactory(workspace=workspace, external_id="anon:dev")
    holding, release, finished = threading.Event(), threading.Event(), []

    def ingest():
        try:
            with transaction.atomic():
                services.events_ingest(workspace=workspace, events=[{"customer_id": "anon:dev", "name": "late"}])
                holding.set()
                release.wait(10)
        finally:
            connection.close()
            finished.append("ingest")

    def merge():
        try:
            messages, _ = tracking_parse(body={"previousId": "dev", "userId": "known"}, kind="alias", received_at=timezone.now())
            tracking_apply(workspace=workspace, messages=messages)
        finally:
            connection.close()
            finished.append("merge")

    batch, alias = threading.Thread(target=ingest), threading.Thread(target=merge)
    batch.start()
    assert holding.wait(10)
    alias.start()
    alias.join(1)
    assert alias.is_alive()  # waits for the open batch
    release.set()
    batch.join(10)
    alias.join(10)
    assert sorted(finished) == ["ingest", "merge"]
    customers = dict(Customer.objects.for_workspace(workspace).values_list("external_id", "pk"))
    assert "anon:dev" not in customers
    events = list(Event.objects.for_workspace(workspace).values_list("name", "customer_id"))
    assert events == [("late", customers["known"])]


@pytest.mark.django_db
def test_event_properties_suggest_the_keys_of_recent_events_of_a_name(api, other_api):
    api.post(
        "/api/v1/events",
        {
            "events": [
                {"customer_id": "ann", "name": "cart_updated", "properties": {"cart_id": "A", "total": 12}},
                {"customer_id": "bob", "name": "cart_updated", "properties": {"cart_id": "B", "coupon": "X"}},
                {"customer_id": "bob", "name": "page_viewed", "properties": {"url": "/secret-page"}},
            ]
        },
        format="json",
    )
    answer = api.get("/api/v1/events/properties?name=cart_updated")
    assert answer.status_code == 200
    assert answer.json() == {"properties": ["cart_id", "coupon", "total"]}
    both = api.get("/api/v1/events/properties?name=cart_updated&name=page_viewed").json()
    assert both["properties"] == ["cart_id", "coupon", "total", "url"]
    assert api.get("/api/v1/events/properties").json() == {"properties": []}
    # Another workspace sees none of these names' properties.
    assert other_api.get("/api/v1/events/properties?name=cart_updated").json() == {"properties": []}
