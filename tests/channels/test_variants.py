"""Message variants: each customer gets one variant of a message node by percent, sticky, recorded
on the Message with that variant's rendered content; the node's analytics count each variant's
sends, receipts and goal conversions; validation names the field of a bad variant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.services import rollups_refresh
from analytics.stats import wilson_interval
from channels_app.models import Message
from channels_app.services import MessageStep, message_prepare
from channels_app.services.receipts import message_receipt
from journeys.engine import stable_bucket
from journeys.enrollments import enrollments_create
from journeys.experiments import experiments_decide
from journeys.models import JourneyVersion, StepEvent
from tests.conftest import wait_for
from tests.engine.conftest import engine, timers_pump  # noqa: F401  (fixtures)
from tests.engine.helpers import chain, customers, node, published, send_events

VARIANTS = [
    {"id": "short", "name": "Short", "percent": 70, "content": {"text": "A: hi {{ customer.external_id }}"}},
    {"id": "long", "percent": 30, "content": {"text": "B: hello there {{ customer.external_id }}"}},
]
GOALS = [{"id": "bought", "name": "Bought", "condition": {"event": "purchase"}}]


def _message_journey(workspace, config: dict):
    return published(workspace, chain(node("start", "start"), node("m", "message", config), node("end", "exit")),
                     {"goals": GOALS})


def _enroll_until_sent(journey, group) -> list[Message]:
    """Enrolls `group` and waits until each of them has been sent its message."""
    enrollments_create(journey=journey, customer_ids=[c.id for c in group])
    ids = [c.id for c in group]
    return wait_for(lambda: (rows := list(Message.objects.for_workspace(journey.workspace_id).filter(
        journey_id=journey.id, customer_id__in=ids, status="sent"))) and len(rows) == len(ids) and rows, timeout=60)


def test_variants_split_by_percent_record_their_content_and_count_in_analytics(
    workspace, api, engine, channels_set_up  # noqa: F811
):
    journey = _message_journey(workspace, {"channel": "sms", "variants": VARIANTS})
    group = customers(workspace, 200, phone="+14155550100")
    messages = _enroll_until_sent(journey, group)

    # The variant is the customer's bucket of this node (sticky), and its own content was rendered.
    by_customer = {m.customer_id: m for m in messages}
    expected = {c.id: "short" if stable_bucket("variant", journey.id, "m", c.id) < 7000 else "long"
                for c in group}
    assert {cid: m.variant for cid, m in by_customer.items()} == expected
    for c in group:
        message = by_customer[c.id]
        prefix = "A: hi" if message.variant == "short" else "B: hello there"
        assert message.content["text"] == f"{prefix} {c.external_id}"
    short = [m for m in messages if m.variant == "short"]
    long = [m for m in messages if m.variant == "long"]
    assert 120 <= len(short) <= 160 and len(short) + len(long) == 200  # 70 % of 200, give or take

    listed = api.get("/api/v1/messages", {"customer_id": group[0].external_id}).json()["results"]
    assert [m["variant"] for m in listed] == [expected[group[0].id]]

    # Receipts and goal conversions of the customers who got each variant.
    for m in short[:10]:
        message_receipt(message=m, status="delivered", source="test")
    for m in short[:4]:
        message_receipt(message=m, status="clicked", source="test")  # implies delivered, opened
    for m in long[:2]:
        message_receipt(message=m, status="opened", source="test")
    by_id = {c.id: c for c in group}
    buyers = [by_id[m.customer_id] for m in short[:5] + long[:1]]
    send_events(workspace, *[{"customer_id": c.external_id, "name": "purchase"} for c in buyers])
    wait_for(lambda: StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id, kind="goal")
             .count() == 6, timeout=30)
    rollups_refresh()
    nodes = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["nodes"]
    variants = next(n for n in nodes if n["node_id"] == "m")["variants"]

    def row(variant_id, name, sent, delivered, opened, clicked, conversions):
        low, high = wilson_interval(conversions, sent)
        return {"id": variant_id, "name": name, "sent": sent, "delivered": delivered, "opened": opened,
                "clicked": clicked, "conversions": conversions, "rate": round(conversions / sent, 4),
                "ci95": [round(low, 6), round(high, 6)]}

    assert variants == [
        row("short", "Short", len(short), 10, 4, 4, 5),
        row("long", "long", len(long), 2, 2, 0, 1),
    ]
    assert 0 < variants[0]["ci95"][0] < variants[0]["rate"] < variants[0]["ci95"][1]


def test_the_same_customer_gets_the_same_variant_every_visit(workspace, channels_set_up):
    [customer] = customers(workspace, 1, phone="+14155550100")
    picked = set()
    for _ in range(3):
        outcome = message_prepare(step=MessageStep(
            workspace=workspace, customer=customer, node_id="m",
            config={"channel": "sms", "variants": VARIANTS},
        ))
        assert outcome.kind == "queued"
        picked.add((outcome.message.variant, outcome.message.content["text"][:2]))
    assert len(picked) == 1 and picked.pop() in {("short", "A:"), ("long", "B:")}


def _errors(api, config) -> dict[str, str]:
    graph = {"nodes": [{"id": "start", "type": "start", "config": {}}, {"id": "m", "type": "message", "config": config}],
             "edges": [{"source": "start", "source_handle": "next", "target": "m"}]}
    journey = api.post("/api/v1/journeys", {"name": "J", "graph": graph, "settings": {"entry": {"type": "api"}}},
                       format="json").json()
    body = api.post(f"/api/v1/journeys/{journey['id']}/validate").json()
    return {e["field"]: e["message"] for e in body["errors"] if e["node_id"] == "m"}


@pytest.mark.django_db
def test_variant_config_errors_name_the_field(api, channels_set_up):
    email = {"subject": "Hi", "text": "Body"}
    good = [{"id": "a", "percent": 50, "content": email}, {"id": "b", "percent": 50, "content": email}]
    assert _errors(api, {"channel": "email", "variants": good}) == {}
    bad = [
        {"id": "a", "percent": 50, "content": {"text": "no subject"}},
        {"id": "a", "percent": 40.5, "content": {"subject": "{{ unclosed", "text": "x"}},
        {"id": "c", "percent": 10, "content": email, "colour": "red"},
    ]
    fields = _errors(api, {"channel": "email", "variants": bad})
    assert {"config.variants.0.content.subject", "config.variants.1.id", "config.variants.1.percent",
            "config.variants.1.content.subject", "config.variants.2.colour"} <= set(fields)
    assert "sum to 100" in _errors(api, {"channel": "email", "variants": [
        {**good[0], "percent": 60}, {**good[1], "percent": 30}]})["config.variants"]
    assert "config.variants" in _errors(api, {"channel": "email", "variants": good[:1]})
    assert "config.variants" in _errors(api, {"channel": "email", "variants": good * 6})
    assert "not both" in _errors(api, {"channel": "email", "content": email, "variants": good})["config.content"]
    assert "config.variants.1.content" in _errors(api, {"channel": "email", "variants": [
        good[0], {"id": "b", "percent": 50}]})


def test_a_message_experiment_on_clicks_decides_the_best_variant_then_sends_it_to_everyone(
    workspace, api, engine, channels_set_up  # noqa: F811
):
    experiment = {"goal_id": "clicked", "min_per_path": 4, "decide_after": {"value": 1, "unit": "hours"}}
    variants = [{**v, "percent": 50} for v in VARIANTS]
    journey = _message_journey(workspace, {"channel": "sms", "variants": variants, "experiment": experiment})
    messages = _enroll_until_sent(journey, customers(workspace, 24, phone="+14155550100"))
    short = [m for m in messages if m.variant == "short"]
    assert len(short) >= 4 and len(messages) - len(short) >= 4
    for m in short:
        message_receipt(message=m, status="clicked", source="test")
    assert experiments_decide() == 0  # decide_after has not passed since the version went live
    JourneyVersion.objects.for_workspace(workspace).filter(journey=journey).update(
        published_at=timezone.now() - timedelta(hours=2))
    assert experiments_decide() == 1
    rollups_refresh()
    nodes = api.get(f"/api/v1/journeys/{journey.pk}/analytics").json()["nodes"]
    m_node = next(n for n in nodes if n["node_id"] == "m")
    assert m_node["experiment"]["status"] == "decided" and m_node["experiment"]["winner"] == "short"
    assert m_node["experiment"]["decided_by"] == "auto" and m_node["experiment"]["p_value"] < 0.05
    rows = {v["id"]: v for v in m_node["variants"]}
    assert rows["short"]["conversions"] == rows["short"]["clicked"] == len(short) and rows["short"]["rate"] == 1.0
    assert rows["long"]["conversions"] == 0

    sent_later = _enroll_until_sent(journey, customers(workspace, 10, prefix="later", phone="+14155550100"))
    assert {m.variant for m in sent_later} == {"short"}
    assert all(m.content["text"].startswith("A: hi") for m in sent_later)


@pytest.mark.django_db
def test_message_experiment_config_errors_name_the_field(api, channels_set_up):
    email = {"subject": "Hi", "text": "Body"}
    variants = [{"id": "a", "percent": 50, "content": email}, {"id": "b", "percent": 50, "content": email}]
    ok = {"goal_id": "opened", "decide_after": {"value": 1, "unit": "days"}}
    assert _errors(api, {"channel": "email", "variants": variants, "experiment": ok}) == {}
    fields = _errors(api, {"channel": "email", "variants": variants,
                           "experiment": {"goal_id": "nope", "min_per_path": 0, "decide_after": {"value": 1}}})
    assert {"config.experiment.goal_id", "config.experiment.min_per_path"} <= set(fields)
    assert "opened" in fields["config.experiment.goal_id"]
    assert "config.experiment" in _errors(api, {"channel": "email", "content": email, "experiment": ok})
