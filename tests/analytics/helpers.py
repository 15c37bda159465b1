"""Builders for analytics tests: a journey with every kind of fork, and a full recount of its
numbers straight from StepEvent, Message and Enrollment (what the rollups must agree with)."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection

from channels_app.services import channel_create
from tests.engine.helpers import chain, edge, node, published, seconds

METRICS = ("sent", "delivered", "opened", "read", "clicked", "replied", "failed", "bounced")


def forked_graph(*, wait_seconds: int = 1, event_timeout: int = 2) -> dict:
    """start → split(a 50 / b 50); a → sms → wait → branch(vip | else) → exits;
    b → wait for "purchase" (event | timeout) → exit."""
    nodes = [
        node("start", "start"),
        node("split", "split", {"paths": [{"id": "a", "name": "Path A", "percent": 50},
                                          {"id": "b", "name": "Path B", "percent": 50}]}),
        node("sms", "message", {"channel": "sms", "content": {"text": "Hi {{ customer.external_id }}"}}),
        node("pause", "wait", {"mode": "duration", "duration": seconds(wait_seconds)}),
        node("vip", "branch", {"groups": [{"id": "vip", "name": "VIPs",
                                           "condition": {"attribute": "plan", "op": "eq", "value": "vip"}}]}),
        node("tag", "update_profile", {"add_tags": ["vip-seen"]}),
        node("buy", "wait", {"mode": "event", "event": "purchase", "timeout": seconds(event_timeout)}),
        node("end", "exit"),
    ]
    edges = [
        edge("start", "next", "split"), edge("split", "a", "sms"), edge("split", "b", "buy"),
        edge("sms", "next", "pause"), edge("sms", "failed", "end"), edge("pause", "next", "vip"),
        edge("vip", "vip", "tag"), edge("tag", "next", "end"), edge("buy", "event", "end"),
        # vip:else and buy:timeout are left open: those customers complete there
    ]
    return {"nodes": nodes, "edges": edges}


def sms_then_wait_journey(workspace):
    """A sandbox SMS channel and a published start → sms → wait an hour → exit: each customer
    gets one message, then waits where the test can look at the message's numbers."""
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="Sandbox SMS")
    return published(workspace, chain(
        node("start", "start"),
        node("sms", "message", {"channel": "sms", "content": {"text": "Hi"}}),
        node("pause", "wait", {"mode": "duration", "duration": seconds(3600)}),
        node("end", "exit"),
    ))


def forked_journey(workspace, *, holdout: int | None = 25, name: str = "Forked", **graph_options):
    settings = {
        "goals": [{"id": "bought", "name": "Bought", "condition": {"event": "purchase"}},
                  {"id": "clicked", "name": "Clicked", "condition": {"event": "clicked_promo"}}],
        "exit_conditions": [{"event": "stop"}],
    }
    if holdout:
        settings["holdout"] = {"percent": holdout}
    return published(workspace, forked_graph(**graph_options), settings=settings, name=name)


def recount(journey) -> dict:
    """Every number of the analytics page, counted from the source tables."""
    nodes: dict[str, dict] = defaultdict(lambda: {
        "entered": 0, "passed": 0, "exited": 0, "failed": 0, "completed": 0, "waiting": 0, "handles": {},
        "messages": dict.fromkeys((*METRICS, "failover", "saved"), 0),
    })
    summary = {"started": 0, "completed": 0, "exited": 0, "failed": 0}
    reasons: dict[str, int] = defaultdict(int)
    with connection.cursor() as c:
        c.execute(
            "SELECT node_id, kind, handle, data->>'reason', count(*) FROM journeys_stepevent"
            " WHERE journey_id = %s GROUP BY 1, 2, 3, 4"
            # a passed row also records the arrival at its to_node_id
            " UNION ALL SELECT to_node_id, 'arrived', '', NULL, count(*) FROM journeys_stepevent"
            " WHERE journey_id = %s AND to_node_id <> '' GROUP BY 1", [journey.id, journey.id],
        )
        for node_id, kind, handle, reason, n in c.fetchall():
            row = nodes[node_id]
            if kind in ("entered", "arrived"):
                row["entered"] += n
            elif kind == "passed":
                row["passed"] += n
                row["handles"][handle] = row["handles"].get(handle, 0) + n
                if handle == "failed":  # a failed send counts on its node, wherever it went on
                    row["failed"] += n
            elif kind in ("exited", "failed", "completed"):
                row[kind] += n
                summary[kind] += n
                if kind == "exited":
                    reasons[reason] += n
            if kind == "entered":
                summary["started"] += n
        c.execute(
            "SELECT count(DISTINCT s.enrollment_id) FILTER (WHERE NOT e.holdout),"
            " count(DISTINCT s.enrollment_id) FILTER (WHERE e.holdout)"
            " FROM journeys_stepevent s JOIN journeys_enrollment e ON e.id = s.enrollment_id"
            " WHERE s.journey_id = %s AND s.kind = 'goal'", [journey.id],
        )
        treated_conversions, holdout_conversions = c.fetchone()
        c.execute(
            "SELECT count(*) FILTER (WHERE holdout), count(*) FILTER (WHERE NOT holdout),"
            " avg(extract(epoch FROM finished_at - entered_at)) FILTER (WHERE state = 'completed'),"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - entered_at))"
            "   FILTER (WHERE state = 'completed'),"
            " count(*) FILTER (WHERE state IN ('active', 'waiting'))"
            " FROM journeys_enrollment WHERE journey_id = %s", [journey.id],
        )
        holdout_started, treated_started, avg_duration, median_duration, active = c.fetchone()
        c.execute(
            "SELECT node_id, state, count(*) FROM journeys_enrollment WHERE journey_id = %s"
            " AND state IN ('active', 'waiting') GROUP BY 1, 2", [journey.id],
        )
        for node_id, state, n in c.fetchall():
            if state == "waiting":
                nodes[node_id]["waiting"] += n
        c.execute(
            "SELECT node_id, " + ", ".join(f"count({m}_at)" for m in METRICS)
            + ", count(*) FILTER (WHERE content ? 'failover')"
            + " FROM channels_app_message WHERE journey_id = %s GROUP BY node_id", [journey.id],
        )
        for node_id, *counts in c.fetchall():
            nodes[node_id]["messages"] = {**dict(zip((*METRICS, "failover"), counts, strict=True)), "saved": 0}
        c.execute(  # wallet passes the messages carried, saved to a phone
            "SELECT m.node_id, count(DISTINCT d.message_id) FROM channels_app_message m"
            " JOIN channels_app_deliveryevent d ON d.message_id = m.id AND d.status = 'saved'"
            " WHERE m.journey_id = %s GROUP BY 1", [journey.id],
        )
        for node_id, n in c.fetchall():
            nodes[node_id]["messages"]["saved"] = n
    summary.update(
        active=active,
        goal_conversions=treated_conversions + holdout_conversions,
        exited_by_reason=dict(reasons),
        avg_duration_seconds=float(avg_duration) if avg_duration is not None else None,
        median_duration_seconds=float(median_duration) if median_duration is not None else None,
        holdout_started=holdout_started, treated_started=treated_started,
        holdout_conversions=holdout_conversions, treated_conversions=treated_conversions,
    )
    return {"summary": summary, "nodes": dict(nodes)}
