"""What fails outside DRF or below the serializers still answers JSON: Django's own 400/403/404
pages, unmatched paths under /api and /v1, and JSON the database cannot store (NUL, lone
surrogates, numbers beyond a float) — each a 4xx naming what is wrong, never HTML or a 500."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from audiences.models import Customer, Event
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


# ---- Django's own error pages under /api and /v1 ------------------------------------------
def test_bad_host_header_is_a_json_400(api):
    error = _error(api.get("/api/v1/customers", HTTP_HOST="evil.example.com"))
    assert error["code"] == "bad_request"


def test_bad_host_on_the_tracking_api_answers_in_segments_shape(api):
    response = api.post("/v1/track", {"userId": "u1", "event": "x"}, format="json", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response.json() == {"success": False, "code": "bad_request", "message": "The request is malformed."}


@pytest.mark.parametrize("method", ["get", "delete", "put", "post"])
def test_unmatched_api_path_is_a_json_404_for_every_method(workspace, method):
    # "0.5" is not a valid id for the router, so no route matches; a DELETE used to meet CSRF's
    # HTML 403 page before the 404. CSRF is enforced here as it is for a real client.
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_client(workspace).raw_key}")
    response = getattr(client, method)("/api/v1/channels/0.5")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_unmatched_tracking_path_is_a_json_404_not_the_spa(api):
    response = api.post("/v1/nowhere", {}, format="json")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_csrf_failure_under_the_api_is_json_and_elsewhere_djangos_page(rf):
    # DRF views check CSRF themselves; this is the view Django's CsrfViewMiddleware answers with
    # for any plain view (settings.CSRF_FAILURE_VIEW).
    from django.middleware.csrf import _get_failure_view

    failure_view = _get_failure_view()
    api_answer = failure_view(rf.post("/api/v1/anything"), reason="CSRF cookie not set.")
    assert api_answer.status_code == 403
    assert json.loads(api_answer.content)["error"]["code"] == "csrf_failed"
    page = failure_view(rf.post("/login"), reason="CSRF cookie not set.")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_the_spa_still_serves_html_outside_the_api(db):
    response = APIClient().get("/journeys/12")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


# ---- JSON the database cannot store ----------------------------------------------------------
@pytest.mark.parametrize(
    "raw, field",
    [
        ('{"email": "a\\u0000b@example.com"}', "email"),
        ('{"attributes": {"x": "\\ud800"}}', "attributes.x"),
        ('{"attributes": {"n": 1e400}}', "attributes.n"),
    ],
    ids=["nul", "lone-surrogate", "infinite-number"],
)
def test_unstorable_json_is_a_400_naming_the_field_and_stores_nothing(api, workspace, raw, field):
    # A single object (PATCH); in a batch the item is refused alone (tests/audiences/test_unstorable_items.py).
    api.post("/api/v1/customers", {"customers": [{"external_id": "ok"}]}, format="json")
    response = api.generic("PATCH", "/api/v1/customers/ok", raw, content_type="application/json")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert Customer.objects.for_workspace(workspace).get().attributes == {}


def test_unstorable_property_on_the_tracking_api_is_a_400_naming_it(api, workspace):
    body = '{"userId": "u1", "event": "viewed", "properties": {"name": "a\\u0000"}}'
    response = api.generic("POST", "/v1/track", body, content_type="application/json")
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False and "properties.name" in answer["message"]
    assert not Event.objects.for_workspace(workspace).exists()


def test_tracking_clock_correction_out_of_the_calendar_is_a_400(api, workspace):
    # receivedAt - (sentAt - timestamp) lands before year 1: junk device clocks, not a 500.
    body = {"userId": "u1", "event": "x", "timestamp": "0426-05-05T19:07:30Z", "sentAt": "6263-07-10T15:53:14Z"}
    response = api.generic("POST", "/v1/track", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "sentAt" in response.json()["message"]
    assert not Event.objects.for_workspace(workspace).exists()


@pytest.mark.parametrize(
    "query, field",
    [("journey_id=abc", "journey_id"), ("status=nonsense", "status"), ("channel=fax", "channel")],
)
def test_message_filters_with_junk_are_a_400_naming_the_parameter(api, query, field):
    response = api.get(f"/api/v1/messages?{query}")
    assert response.status_code == 400
    assert field in _error(response)["details"]


def test_message_filters_with_good_values_still_filter(api):
    response = api.get("/api/v1/messages?journey_id=1&status=sent&channel=email&customer_id=c1")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("how", [{"format": "csv"}, {"HTTP_ACCEPT": "text/csv"}], ids=["format-param", "accept"])
def test_an_error_from_a_csv_export_is_json_whatever_was_negotiated(api, how):
    query = {"format": how["format"]} if "format" in how else {}
    headers = {k: v for k, v in how.items() if k.startswith("HTTP_")}
    response = api.get("/api/v1/journeys/999999/analytics.csv", query, **headers)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quiet_hours": {}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"frequency_cap": {"max": 3}}, "frequency_cap.per"),
        ({"frequency_cap": {"max": 3, "per": {"value": 1}}}, "frequency_cap.per.unit"),
    ],
)
def test_a_half_nested_object_in_a_partial_patch_is_a_400_naming_what_is_missing(api, body, field):
    # Found by tests/security/test_schemathesis.py: PATCH /workspace {"quiet_hours": {}} was a 500.
    response = api.patch("/api/v1/workspace", body, format="json")
    assert response.status_code == 400, response.content[:200]
    details = _error(response)["details"]
    where = field.split(".")
    for key in where:
        assert key in details, (field, details)
        details = details[key]
    assert api.get("/api/v1/workspace").json()["quiet_hours"] is None
