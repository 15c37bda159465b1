"""Formula injection (OWASP "CSV Injection") in every CSV we export: text a user chose — journey
and node names, node ids, branch group names, goal ids — never reaches a spreadsheet as a formula.
The exports are analytics' (analytics/export.py); this drives them from outside, with the real
engine filling every table the export shows."""

from __future__ import annotations

import csv
import io

from analytics.services import rollups_refresh
from journeys.models import Enrollment
from tests.conftest import make_client, wait_for
from tests.engine.helpers import edge, node, published

# A spreadsheet runs a cell starting with any of these (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = {
    "journey": "=cmd|' /C calc'!A0",
    "node_name": "+SUM(1+1)",
    "node_id": "@evil",
    "group": "-2+3",
    "goal": "=HYPERLINK(\"http://evil.example\",\"x\")",
    "tabbed": "\t=1+1",
}


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            # Numbers (a negative uplift) are data; every other cell must not start a formula.
            assert _is_number(cell) or not cell.startswith(FORMULA_STARTS), (cell, row)


def test_every_csv_export_defuses_formulas(workspace, celery_worker):
    graph = {
        "nodes": [
            node("start", "start"),
            {**node(PAYLOADS["node_id"], "branch", {"groups": [
                {"id": "g1", "name": PAYLOADS["group"], "condition": {"attribute": "plan", "op": "exists"}}]}),
             "name": PAYLOADS["node_name"]},
            {**node("end", "exit"), "name": PAYLOADS["tabbed"]},
        ],
        "edges": [edge("start", "next", PAYLOADS["node_id"]), edge(PAYLOADS["node_id"], "g1", "end"),
                  edge(PAYLOADS["node_id"], "else", "end")],
    }
    settings = {"goals": [{"id": PAYLOADS["goal"], "name": PAYLOADS["goal"], "condition": {"attribute": "plan",
                                                                                           "op": "exists"}}]}
    journey = published(workspace, graph, settings, name=PAYLOADS["journey"])
    api = make_client(workspace)
    api.post("/api/v1/customers", {"customers": [{"external_id": f"c{i}", "attributes": {"plan": "x"}}
                                                 for i in range(3)]}, format="json")
    assert api.post(f"/api/v1/journeys/{journey.id}/enrollments", {"customer_ids": ["c0", "c1", "c2"]},
                    format="json").status_code == 202
    wait_for(lambda: Enrollment.objects.for_workspace(workspace).filter(journey=journey)
             .exclude(state__in=["active", "waiting"]).count() == 3)
    rollups_refresh()

    detail = _rows(api.get(f"/api/v1/journeys/{journey.id}/analytics.csv"))
    listing = _rows(api.get("/api/v1/analytics/journeys.csv"))
    text = "\n".join(",".join(r) for r in detail + listing)
    # The payloads are there, shown as text (quote-prefixed), not dropped.
    for payload in (PAYLOADS["journey"], PAYLOADS["node_name"], PAYLOADS["node_id"], PAYLOADS["tabbed"]):
        assert "'" + payload in text, payload
    assert "'" + PAYLOADS["group"] in text  # the handle counts cell starts with the group's name
    _assert_no_formula(detail)
    _assert_no_formula(listing)


COVERED_CSV_EXPORTS = {"/api/v1/journeys/{id}/analytics.csv", "/api/v1/analytics/journeys.csv"}


def test_every_csv_export_in_the_schema_is_covered_here(db):
    """A new CSV export must join the test above: the schema lists every route answering text/csv.
    (Import error reports are JSON: GET /imports/{id}; customer attributes and imported cells,
    formulas included, reach no CSV; test_import_robustness.py stores them verbatim.)"""
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/v1/schema", {"format": "json"}).json()
    exports = {
        path
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        if "text/csv" in response.get("content", {})
    }
    assert exports == COVERED_CSV_EXPORTS
