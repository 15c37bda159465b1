"""One bad item never fails a batch: an event, customer or tracking message holding a value
PostgreSQL cannot store (NUL, a lone surrogate, NaN/Infinity/1e400, nesting past the limit) or a
malformed id is reported by index, naming the field, and the good items of the call are stored."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.models import Customer, Event
from tests.segment_api.conftest import send

pytestmark = pytest.mark.django_db

DEEP = '{"a":' * 100 + "1" + "}" * 100

# (name, JSON text of the bad item's offending member, the field its error must name)
BAD_VALUES = [
    ("nul_in_value", '"properties": {"k": "a\\u0000b"}', "properties.k"),
    ("nul_in_key", '"properties": {"k\\u0000": 1}', "properties"),
    ("lone_surrogate", '"properties": {"k": "\\ud800"}', "properties.k"),
    ("surrogate_in_key", '"properties": {"\\udc00": 1}', "properties"),
    ("too_deep", f'"properties": {DEEP}', "properties.a.a"),
    ("nan", '"properties": {"k": NaN}', "properties.k"),
    ("infinity", '"properties": {"k": [1, -Infinity]}', "properties.k[1]"),
    ("overflow", '"properties": {"k": 1e400}', "properties.k"),
]
BAD_EVENT_FIELDS = [
    ("nul_in_name", '"name": "sign\\u0000up"', "name"),
    ("nul_in_id", '"id": "order\\u00001"', "id"),
    ("surrogate_in_id", '"id": "\\udbff"', "id"),
    ("id_not_a_string", '"id": {"x": 1}', "id"),
    ("nul_in_timestamp", '"timestamp": "2025-01-01T00:00:00\\u0000"', "timestamp"),
]
BAD_IDS = [
    ("nul_in_id", '"\\u0000"'),
    ("surrogate_in_id", '"a\\ud83d"'),
    ("object_id", '{"a": 1}'),
    ("list_id", "[1]"),
    ("empty_id", '""'),
]


def _events_body(bad_event: str) -> str:
    return '{"events": [{"customer_id": "good", "name": "ok"}, ' + bad_event + "]}"


def _assert_one_error(errors: list[dict], index: int, field: str) -> None:
    assert len(errors) == 1 and errors[0]["index"] == index, errors
    assert errors[0]["error"].startswith(field), errors


def _stored(workspace) -> tuple[list[str], list[str]]:
    events = sorted(Event.objects.for_workspace(workspace).values_list("name", flat=True))
    customers = sorted(Customer.objects.for_workspace(workspace).values_list("external_id", flat=True))
    return events, customers


@pytest.mark.parametrize("case,member,field", BAD_VALUES + BAD_EVENT_FIELDS, ids=[c for c, _, _ in BAD_VALUES + BAD_EVENT_FIELDS])
def test_events_a_bad_value_is_that_items_error_and_the_good_event_is_stored(api, workspace, case, member, field):
    name = "" if member.startswith('"name"') else '"name": "x", '
    bad = '{"customer_id": "bad", ' + name + member + "}"
    response = api.post("/api/v1/events", _events_body(bad), content_type="application/json")
    assert response.status_code == 202, response.content[:300]
    body = response.json()
    assert body["accepted"] == 1
    _assert_one_error(body["errors"], 1, field)
    assert _stored(workspace) == (["ok"], ["good"])  # nothing of the bad item, not even its customer


@pytest.mark.parametrize("case,value", BAD_IDS, ids=[c for c, _ in BAD_IDS])
def test_events_a_malformed_customer_id_is_that_items_error(api, workspace, case, value):
    response = api.post("/api/v1/events", _events_body('{"customer_id": ' + value + ', "name": "x"}'), content_type="application/json")
    assert response.status_code == 202, response.content[:300]
    _assert_one_error(response.json()["errors"], 1, "customer_id")
    assert _stored(workspace) == (["ok"], ["good"])


@pytest.mark.parametrize("case,member,field", BAD_VALUES, ids=[c for c, _, _ in BAD_VALUES])
def test_customers_a_bad_attribute_is_that_items_error_and_the_good_customer_is_stored(api, workspace, case, member, field):
    member = member.replace('"properties"', '"attributes"')
    field = field.replace("properties", "attributes")
    body = '{"customers": [{"external_id": "good"}, {"external_id": "bad", ' + member + "}]}"
    response = api.post("/api/v1/customers", body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 1
    _assert_one_error(response.json()["errors"], 1, field)
    assert _stored(workspace) == ([], ["good"])


@pytest.mark.parametrize("case,value", BAD_IDS, ids=[c for c, _ in BAD_IDS])
def test_customers_a_malformed_external_id_is_that_items_error(api, workspace, case, value):
    body = '{"customers": [{"external_id": "good"}, {"external_id": ' + value + "}]}"
    response = api.post("/api/v1/customers", body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    _assert_one_error(response.json()["errors"], 1, "external_id")
    assert _stored(workspace) == ([], ["good"])


@pytest.mark.parametrize("case,member,field", BAD_VALUES, ids=[c for c, _, _ in BAD_VALUES])
def test_tracking_batch_a_bad_message_is_reported_and_the_others_are_stored(api, workspace, case, member, field):
    bad = '{"type": "track", "userId": "bad", "event": "x", ' + member + "}"
    raw = ('{"batch": [{"type": "track", "userId": "good", "event": "ok"}, ' + bad + "]}").encode()
    response = send("batch", None, api.raw_key, raw=raw)
    assert response.status_code == 200, response.content[:300]
    assert response.json()["success"] is True
    _assert_one_error(response.json()["errors"], 1, f"batch[1].{field}")
    assert _stored(workspace) == (["ok"], ["good"])


@pytest.mark.parametrize("case,member,field", BAD_VALUES, ids=[c for c, _, _ in BAD_VALUES])
def test_tracking_single_call_with_a_bad_value_is_400_naming_it(api, workspace, case, member, field):
    raw = ('{"userId": "bad", "event": "x", ' + member + "}").encode()
    response = send("track", None, api.raw_key, raw=raw)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["message"].startswith(field)
    assert _stored(workspace) == ([], [])


@pytest.mark.parametrize("path,key", [("/api/v1/events", "events"), ("/api/v1/customers", "customers")])
def test_a_body_nested_past_what_json_parsers_take_is_a_400_parse_error(api, workspace, path, key):
    body = f'{{"{key}": [' + "[" * 5000 + "]" * 5000 + "]}"
    response = api.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


# ---- The class of bug: any JSON value, wherever it sits, is stored or refused by item ---------
NASTY_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["\x00", "a\x00", "\ud800", "x\udfff", "\U0001f600", "'; --", "\\u0000", "null"]),
)
NASTY_NUMBER = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NASTY_NUMBER | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=12,
)


_EXAMPLE = itertools.count()


def _numbers_as_floats(value):
    """jsonb keeps numbers as numeric (5.1e16 reads back as the int 51000000000000000): compare values."""
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_floats(v) for v in value]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(properties=st.dictionaries(NASTY_TEXT, JSON_VALUES, max_size=4), name=NASTY_TEXT)
def test_any_json_in_one_event_is_stored_intact_or_refused_alone(api, workspace, properties, name):
    who = f"fuzzed-{next(_EXAMPLE)}"  # examples share the test's transaction: one customer each
    bad = {"customer_id": who, "name": name or "n", "properties": properties}
    body = json.dumps({"events": [{"customer_id": "good", "name": "ok", "id": "stable"}, bad]}, allow_nan=True)
    response = api.post("/api/v1/events", body, content_type="application/json")
    assert response.status_code == 202, response.content[:300]
    errors = response.json()["errors"]
    stored = list(Event.objects.for_workspace(workspace).filter(customer__external_id=who).values_list("name", "properties"))
    if errors:
        assert [e["index"] for e in errors] == [1] and stored == []
    else:
        assert len(stored) == 1 and stored[0][0] == bad["name"]  # accepted means kept as sent
        assert _numbers_as_floats(stored[0][1]) == _numbers_as_floats(properties)
    assert Event.objects.for_workspace(workspace).filter(idempotency_id="stable").count() == 1


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(attributes=st.dictionaries(NASTY_TEXT, JSON_VALUES, max_size=4))
def test_any_json_in_one_customer_is_stored_intact_or_refused_alone(api, workspace, attributes):
    who = f"fuzzed-{next(_EXAMPLE)}"
    body = json.dumps({"customers": [{"external_id": "good"}, {"external_id": who, "attributes": attributes}]}, allow_nan=True)
    response = api.post("/api/v1/customers", body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    errors = response.json()["errors"]
    stored = Customer.objects.for_workspace(workspace).filter(external_id=who).first()
    if errors:
        assert [e["index"] for e in errors] == [1] and stored is None
    else:  # a null attribute removes the key (merge patch); everything else is kept as sent
        expected = {k: v for k, v in attributes.items() if v is not None}
        assert _numbers_as_floats(stored.attributes) == _numbers_as_floats(expected)
    assert Customer.objects.for_workspace(workspace).filter(external_id="good").exists()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(properties=st.dictionaries(NASTY_TEXT, JSON_VALUES, max_size=4))
def test_any_json_in_one_tracking_message_is_stored_intact_or_refused_alone(api, workspace, properties):
    who = f"fuzzed-{next(_EXAMPLE)}"
    batch = [{"type": "track", "userId": "good", "event": "ok", "messageId": "stable"},
             {"type": "track", "userId": who, "event": "fuzzed", "properties": properties}]
    response = send("batch", None, api.raw_key, raw=json.dumps({"batch": batch}, allow_nan=True).encode())
    assert response.status_code == 200, response.content[:300]
    errors = response.json().get("errors", [])
    stored = list(Event.objects.for_workspace(workspace).filter(customer__external_id=who).values_list("properties", flat=True))
    if errors:
        assert [e["index"] for e in errors] == [1] and stored == []
    else:
        assert [_numbers_as_floats(p) for p in stored] == [_numbers_as_floats(properties)]
    assert Event.objects.for_workspace(workspace).filter(idempotency_id="stable").count() == 1
