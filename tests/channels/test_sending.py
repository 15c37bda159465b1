"""The message step's decisions (failure reasons, quiet hours, caps), idempotency, rate limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from channels_app.models import DeliveryEvent, Message
from channels_app.ratelimit import tokens_take
from channels_app.services import (
    MessageStep,
    channel_create,
    message_prepare,
    messages_send,
    quiet_hours_end,
)

from .conftest import make_customer

pytestmark = pytest.mark.django_db
SMS = {"channel": "sms", "content": {"text": "Hi {{ customer.first_name }}"}}


def _prepare(workspace, customer, config=SMS, settings=None, now=None, step_seq=1):
    return message_prepare(
        step=MessageStep(
            workspace=workspace,
            customer=customer,
            config=config,
            version_number=1,
            node_id="m1",
            step_seq=step_seq,
            journey_settings=settings or {},
            event={},
            now=now,
        )
    )


@pytest.mark.parametrize(
    "setup,reason",
    [
        (lambda ws: make_customer(ws, phone="+15551234"), "no_channel_configured"),
        (lambda ws: make_customer(ws, phone=""), "no_address"),
        (lambda ws: make_customer(ws, phone="+15551234", unsubscribed=["sms"]), "unsubscribed"),
    ],
)
def test_failure_reasons_are_recorded(workspace, setup, reason):
    if reason != "no_channel_configured":
        channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    outcome = _prepare(workspace, setup(workspace))
    assert outcome.kind == "failed" and outcome.reason == reason
    assert outcome.message.status == "failed" and outcome.message.error == reason


def test_push_without_valid_token_fails(workspace):
    channel_create(workspace=workspace, channel="push", provider="sandbox", name="P")
    customer = make_customer(
        workspace, push_tokens=[{"platform": "ios", "token": "t", "valid": False}]
    )
    outcome = _prepare(workspace, customer, {"channel": "push", "content": {"body": "b"}})
    assert outcome.reason == "no_push_token"


def test_frequency_cap_counts_recent_messages(workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    customer = make_customer(workspace, phone="+1555")
    cap = {"frequency_cap": {"max": 2, "per": {"value": 1, "unit": "days"}}}
    assert _prepare(workspace, customer, settings=cap).kind == "queued"
    assert _prepare(workspace, customer, settings=cap).kind == "queued"
    third = _prepare(workspace, customer, settings=cap)
    assert third.kind == "failed" and third.reason == "frequency_capped"
    later = datetime.now(UTC) + timedelta(days=2)
    assert _prepare(workspace, customer, settings=cap, now=later).kind == "queued"


def test_quiet_hours_defer_to_the_end_in_the_customer_timezone(workspace):
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    customer = make_customer(workspace, phone="+1555", timezone="America/New_York")
    quiet = {"quiet_hours": {"start": "21:00", "end": "08:00"}}
    # 23:30 in New York.
    now = datetime(2026, 3, 3, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    outcome = _prepare(workspace, customer, settings=quiet, now=now)
    assert outcome.kind == "defer"
    assert outcome.until == datetime(2026, 3, 4, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    assert Message.objects.for_workspace(workspace).count() == 0  # nothing is created yet
    noon = datetime(2026, 3, 4, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert _prepare(workspace, customer, settings=quiet, now=noon).kind == "queued"


def test_quiet_hours_window_inside_one_day():
    zone = ZoneInfo("Asia/Seoul")
    window = {"start": "12:00", "end": "14:00"}
    assert quiet_hours_end(
        quiet_hours=window, zone=zone, now=datetime(2026, 1, 1, 13, 0, tzinfo=zone)
    ) == datetime(2026, 1, 1, 14, 0, tzinfo=zone)
    assert (
        quiet_hours_end(quiet_hours=window, zone=zone, now=datetime(2026, 1, 1, 15, 0, tzinfo=zone))
        is None
    )


def test_a_retried_send_sends_once(workspace, http_server):
    http_server.route("POST", "/gw", 200, {"id": "x"})
    channel_create(
        workspace=workspace,
        channel="sms",
        provider="http",
        name="G",
        credentials={"url": f"{http_server.url}/gw"},
    )
    outcome = _prepare(
        workspace, make_customer(workspace, phone="+1555", attributes={"first_name": "Al"})
    )
    ids = [outcome.message.pk]
    first = messages_send(message_ids=ids, workspace_id=workspace.pk)
    second = messages_send(message_ids=ids, workspace_id=workspace.pk)  # the task redelivered
    assert first["sent"] == 1 and second["sent"] == 0
    assert len(http_server.requests) == 1
    assert http_server.requests[0].json()["content"]["text"] == "Hi Al"


def test_rate_limit_token_bucket():
    granted = tokens_take(channel_config_id=999, rate_per_second=10, wanted=25)
    assert granted == 10
    assert tokens_take(channel_config_id=999, rate_per_second=10, wanted=25) == 0
    time.sleep(0.35)
    assert 2 <= tokens_take(channel_config_id=999, rate_per_second=10, wanted=25) <= 4
    assert tokens_take(channel_config_id=1000, rate_per_second=None, wanted=25) == 25


def test_sends_beyond_the_rate_stay_queued(workspace):
    config = channel_create(
        workspace=workspace, channel="in_app", provider="sandbox", name="I", rate_per_second=5
    )
    customer = make_customer(workspace)
    messages = [
        Message.objects.for_workspace(workspace).create(
            workspace=workspace,
            customer=customer,
            channel="in_app",
            channel_config=config,
            provider="sandbox",
            to="c1",
            targets=["c1"],
            content={"title": "t", "body": "b"},
        )
        for _ in range(8)
    ]
    counts = messages_send(message_ids=[m.pk for m in messages], workspace_id=workspace.pk)
    assert counts == {"sent": 5, "failed": 0, "deferred": 3}
    assert Message.objects.for_workspace(workspace).filter(status="queued").count() == 3


def test_a_batch_writes_each_outcome_and_its_history(workspace, other_workspace, http_server):
    """One batch: sent, failed (no channel), retried (5xx) and another workspace's id. Each
    message gets its own status, attempt count and history row; the foreign one is untouched."""
    http_server.route("POST", "/gw", 503, {"error": "busy"})
    sandbox = channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    gateway = channel_create(
        workspace=workspace,
        channel="rcs",
        provider="http",
        name="G",
        credentials={"url": f"{http_server.url}/gw"},
    )
    customer = make_customer(workspace, phone="+1555")

    def queued(ws, channel, config):
        return Message.objects.for_workspace(ws).create(
            workspace=ws,
            channel=channel,
            channel_config=config,
            provider=config.provider if config else "",
            to="+1555",
            targets=["+1555"],
            content={"text": "Hi"},
            customer=customer if ws == workspace else None,
        )

    sent = queued(workspace, "sms", sandbox)
    unconfigured = queued(workspace, "telegram", None)
    retried = queued(workspace, "rcs", gateway)
    foreign = queued(other_workspace, "sms", None)

    counts = messages_send(
        message_ids=[sent.pk, unconfigured.pk, retried.pk, foreign.pk], workspace_id=workspace.pk
    )

    assert counts == {"sent": 1, "failed": 1, "deferred": 0}
    for message in (sent, unconfigured, retried, foreign):
        message.refresh_from_db()
    assert (sent.status, sent.provider_message_id, sent.attempts) == (
        "sent",
        f"sandbox-{sent.pk}",
        1,
    )
    assert sent.sent_at is not None and sent.failed_at is None
    assert (unconfigured.status, unconfigured.error) == ("failed", "no_channel_configured")
    assert unconfigured.failed_at is not None and unconfigured.sent_at is None
    assert (retried.status, retried.attempts) == ("queued", 1)  # backoff, then again
    assert "503" in retried.error_detail
    assert (foreign.status, foreign.attempts) == ("queued", 0)
    history = {
        e.message_id: (e.status, e.source, e.data)
        for e in DeliveryEvent.objects.for_workspace(workspace)
    }
    assert history == {
        sent.pk: ("sent", "send", {}),
        unconfigured.pk: (
            "failed",
            "send",
            {"error": "no_channel_configured", "detail": ""},
        ),
    }
