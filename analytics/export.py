"""CSV exports of the analytics tables, streamed row by row, with formula injection defused."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

from journeys.models import Journey

from .selectors import journeys_summary_rows
from .services import MESSAGE_METRICS

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV Injection");
# text cells that do are prefixed with a quote so they show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Journeys fetched per query for the journey list export.
JOURNEY_PAGE = 500


def csv_cell(value) -> object:
    """Numbers stay numbers (a negative uplift is data, not a formula); text is defused."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_STARTS) else text
    return value


class _Echo:
    """csv.writer needs a file; this one hands each formatted line back to the generator."""

    def write(self, line: str) -> str:
        return line


def csv_response(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines: Iterator[str] = (writer.writerow([csv_cell(c) for c in row]) for row in rows)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pairs(mapping: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in mapping.items())


def journey_analytics_rows(analytics: dict) -> Iterator[list]:
    """The summary (metric, value), then the node table, then the daily series."""
    summary = analytics["summary"]
    yield ["metric", "value"]
    for key in ("started", "active", "completed", "exited", "failed", "goal_conversions", "conversion_rate",
                "avg_duration_seconds", "median_duration_seconds"):
        yield [key, summary[key]]
    for reason, n in summary["exited_by_reason"].items():
        yield [f"exited:{reason}", n]
    yield ["revenue", summary["revenue"]]
    for row in summary["goals"].values():  # by the goal's name, as the marketer named it
        yield [f"goal:{row['name']}", row["conversions"]]
        yield [f"goal_revenue:{row['name']}", row["revenue"]]
    holdout = summary.get("holdout")
    if holdout:
        for group in ("holdout", "treatment"):
            for key, value in holdout[group].items():
                yield [f"{group}_{key}", value]
        for key, value in (holdout["uplift"] or {}).items():
            yield [f"uplift_{key}", value]
    yield []
    yield ["node_id", "type", "name", "entered", "waiting", "active", "passed", "exited", "failed", "completed",
           "handles", *(f"messages_{m}" for m in MESSAGE_METRICS)]
    for node in analytics["nodes"]:
        messages = node["messages"] or {}
        names = node["handle_names"]
        handles = {names.get(h, h): n for h, n in node["handles"].items()}
        yield [node["node_id"], node["type"], node["name"], node["entered"], node["waiting"], node["active"],
               node["passed"], node["exited"], node["failed"], node["completed"], _pairs(handles),
               *(messages.get(m, "") for m in MESSAGE_METRICS)]
    yield []
    yield ["date", "started", "completed", "goal_conversions"]
    for point in analytics["series"]:
        yield [point["date"], point["started"], point["completed"], point["goal_conversions"]]


JOURNEY_LIST_COLUMNS = ["id", "name", "status", "started", "active", "completed", "exited", "goal_conversions",
                        "conversion_rate"]


def journeys_csv_rows(*, workspace_id: int) -> Iterator[list]:
    """Every journey of the workspace, a page of JOURNEY_PAGE at a time (keyset on id)."""
    yield JOURNEY_LIST_COLUMNS
    after = 0
    while True:
        page = list(Journey.objects.for_workspace(workspace_id).filter(id__gt=after).order_by("id")[:JOURNEY_PAGE])
        if not page:
            return
        for row in journeys_summary_rows(workspace_id=workspace_id, journeys=page):
            yield [row[c] for c in JOURNEY_LIST_COLUMNS]
        after = page[-1].id
