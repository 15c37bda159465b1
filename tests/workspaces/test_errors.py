"""Services refuse through one error family (workspaces.errors.ServiceError), answered once by
the exception handler: a 400 names each field, a 409 says why the state forbids it, and a parent
object missing from the workspace is the plain 404 — the same body from every app."""

from __future__ import annotations

import pytest

from tests.journeys.builders import make_journey

pytestmark = pytest.mark.django_db
NOT_FOUND = {"error": {"code": "not_found", "message": "Not found.", "details": {}}}


def test_a_journeys_service_refusal_is_a_400_naming_the_field(api, workspace):
    response = api.post("/api/v1/journeys/import", {"format": "waymark.journey", "format_version": 99},
                        format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {
        "code": "validation_error",
        "message": "format_version: Only version 1 can be imported.",
        "details": {"format_version": ["Only version 1 can be imported."]},
    }}


def test_an_analytics_refusal_is_a_json_400_even_on_the_csv_export(api, workspace):
    journey = make_journey(workspace)
    response = api.get(f"/api/v1/journeys/{journey.pk}/analytics.csv?from=2026-11-02&to=2026-11-01",
                       HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == {
        "code": "validation_error", "message": "to: Must not be before from.",
        "details": {"to": ["Must not be before from."]},
    }


def test_a_state_conflict_is_a_409_with_its_details(api, workspace):
    journey = make_journey(workspace)
    response = api.put(f"/api/v1/journeys/{journey.pk}/stop", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {"error": {
        "code": "conflict", "message": "Cannot stop a journey that is draft.", "details": {"status": "draft"},
    }}


def test_nested_endpoints_answer_404_for_a_parent_outside_the_workspace(api, workspace, other_workspace):
    theirs = make_journey(other_workspace)
    mine = make_journey(workspace)
    for method, path in [
        ("get", f"/api/v1/journeys/{theirs.pk}/enrollments"),
        ("post", f"/api/v1/journeys/{theirs.pk}/simulate"),
        ("get", f"/api/v1/journeys/{theirs.pk}/enrollments/ada"),
        ("delete", f"/api/v1/journeys/{mine.pk}/enrollments/nobody"),
        ("get", "/api/v1/customers/nobody/enrollments"),
    ]:
        response = getattr(api, method)(path, {}, format="json") if method == "post" else getattr(api, method)(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, path)
