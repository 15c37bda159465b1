"""Small builders for journey graphs and settings used across the journey tests."""

from __future__ import annotations

from journeys.services import journey_create


def node(node_id: str, type_: str, config: dict | None = None, **extra) -> dict:
    return {
        "id": node_id,
        "type": type_,
        "name": node_id,
        "position": {"x": 0, "y": 0},
        "config": config or {},
        **extra,
    }


def edge(source: str, handle: str, target: str) -> dict:
    return {"source": source, "source_handle": handle, "target": target}


def days(n: int) -> dict:
    return {"value": n, "unit": "days"}


def email(subject: str = "Hi {{ customer.first_name }}") -> dict:
    return {"channel": "email", "content": {"subject": subject, "html": "<p>Hello</p>"}}


def valid_graph() -> dict:
    """start → wait 1 day → email → exit."""
    return {
        "nodes": [
            node("start", "start"),
            node("wait", "wait", {"mode": "duration", "duration": days(1)}),
            node("mail", "message", email()),
            node("end", "exit"),
        ],
        "edges": [
            edge("start", "next", "wait"),
            edge("wait", "next", "mail"),
            edge("mail", "next", "end"),
        ],
    }


def valid_settings() -> dict:
    return {
        "entry": {"type": "event", "events": [{"name": "signed_up"}]},
        "re_entry": {"policy": "never"},
    }


def make_journey(
    workspace, name: str = "Welcome", graph: dict | None = None, settings: dict | None = None
):
    return journey_create(
        workspace=workspace,
        actor=None,
        name=name,
        graph=graph if graph is not None else valid_graph(),
        settings=settings if settings is not None else valid_settings(),
    )
