"""Batch sending: claim queued messages, send them through their channel's provider within its
rate limit, retry what may succeed later, and write the outcomes and wake the journeys."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from audiences.models import Customer

from .. import email_parts, tracking
from ..callback_urls import twilio_callback_url
from ..models import ChannelConfig, Message
from ..outbound_slots import outbound_slot, slot_retry_seconds
from ..providers import Outbound, SendResult
from ..ratelimit import tokens_take
from .channels import provider_for
from .enqueue import messages_enqueue
from .receipts import signal_payload

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 4  # then the provider error is final
RETRY_BACKOFF_SECONDS = (2, 10, 60)  # after attempt 1, 2, 3
# A batch stops calling providers after this long and queues its unsent messages again, so with
# one provider call in flight (≤ providers.base.MAX_TIMEOUT_SECONDS) it ends well inside the send
# task's hard time limit (config/celery.py): a batch killed there would roll back sends it made.
SEND_BUDGET_SECONDS = 120

# ---- Sending -------------------------------------------------------------------------------
# The send path is the hot path (LIMITS.md: per-row ORM work is 40–100× below the machine), so it
# reads only the columns a send needs into plain rows, and writes a whole batch's outcomes and
# their DeliveryEvents in one set-based statement.
#
# Query plans must not depend on row statistics, which are stale right after a workspace queues
# thousands of messages, and a batch only ever touches ≤ SEND_BATCH rows by primary key:
# - the claim's workspace check is written `(…) IS TRUE` so no workspace index can serve it (with
#   the plain form the planner scanned the whole workspace: 1,075 ms instead of 2 ms per 500
#   rows at 50k);
# - the send transaction turns sequential scans off (SET LOCAL), so the write joins its ids to
#   the primary key instead of scanning the table (a hash join over 20k rows took 50 ms per
#   batch, and a stale estimate of one row turned it into a 21 s nested sequential scan);
# - the write names only the ids the claim locked in the same transaction (a workspace predicate
#   there is what fed the planner that one-row estimate).
_CLAIM_SQL = """
    SELECT id, channel, channel_config_id, provider, customer_id, enrollment_id, step_seq, "to",
           targets, content, attempts, created_at
    FROM channels_app_message
    WHERE id = ANY(%s) AND (workspace_id = %s) IS TRUE AND status = 'queued'
    ORDER BY id
    FOR UPDATE SKIP LOCKED
"""

# Outcomes → message columns, and (for every outcome that is not a retry) one DeliveryEvent.
_WRITE_SQL = """
    WITH v AS (
        SELECT * FROM unnest(%(ids)s::bigint[], %(statuses)s::text[], %(provider_ids)s::text[],
                             %(errors)s::text[], %(details)s::text[], %(attempts)s::int[])
               AS v(id, status, provider_message_id, error, error_detail, attempts)
    ), written AS (
        UPDATE channels_app_message AS m SET
            status = v.status,
            provider_message_id = v.provider_message_id,
            error = v.error,
            error_detail = v.error_detail,
            attempts = v.attempts,
            sent_at = CASE WHEN v.status IN ('sent', 'delivered') THEN %(now)s ELSE m.sent_at END,
            delivered_at = CASE WHEN v.status = 'delivered' THEN %(now)s ELSE m.delivered_at END,
            failed_at = CASE WHEN v.status = 'failed' THEN %(now)s ELSE m.failed_at END
        FROM v
        WHERE m.id = v.id
        RETURNING m.id, m.status, m.error, m.error_detail, m.content->>'failover' AS failover
    )
    INSERT INTO channels_app_deliveryevent (workspace_id, message_id, status, source, at, data)
    SELECT %(workspace_id)s, w.id, w.status, 'send', %(now)s,
           CASE WHEN w.status = 'failed'
                THEN jsonb_build_object('error', w.error, 'detail', left(w.error_detail, 500))
                -- Sent by another channel instead (RCS to a phone without RCS went as SMS,
                -- services/fallback.py): the event says so, and analytics counts it as failover.
                WHEN w.failover IS NOT NULL THEN jsonb_build_object('failover', w.failover)
                ELSE '{}'::jsonb END
    FROM written AS w
    WHERE w.status <> 'queued'
"""


@dataclass(slots=True)
class _Claimed:
    """A locked queued message (the columns a send needs) and, once sent, its outcome."""

    id: int
    channel: str
    channel_config_id: int | None
    provider: str
    customer_id: int | None
    enrollment_id: int | None
    step_seq: int | None
    to: str
    targets: list
    content: dict
    attempts: int
    status: str = Message.Status.QUEUED
    provider_message_id: str = ""
    error: str = ""
    error_detail: str = ""
    created_at: datetime | None = None


def _outbound(message: _Claimed | Message) -> Outbound:
    content = message.content
    if message.channel == "email" and content.get("html"):
        content = {**content, "html": tracking.email_html_track(content["html"], message.id)}
    if message.channel == "email" and content.get("buttons") and content.get("text"):
        click = partial(tracking.click_url, message.id)
        content = {**content, "text": email_parts.text_track(content["text"], content["buttons"], click)}
    status_callback = ""
    if message.provider == "twilio":
        status_callback = twilio_callback_url(message.channel_config_id)
    return Outbound(
        message_id=message.id,
        channel=message.channel,
        to=message.to,
        content=content,
        targets=message.targets,
        status_callback_url=status_callback,
        unsubscribe_url=(
            tracking.unsubscribe_url(message.id)
            if message.customer_id and message.channel == "email"
            else ""
        ),
        attempts=message.attempts,
        queued_at=message.created_at,
    )


def _messages_claim(*, message_ids: list[int], workspace_id: int) -> list[_Claimed]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [list(message_ids), workspace_id])
        # Django's psycopg setup hands jsonb over as text (JSONField decodes it); so do we.
        return [
            _Claimed(*row[:8], json.loads(row[8]), json.loads(row[9]), row[10], created_at=row[11])
            for row in cursor.fetchall()
        ]


# Messages of this task that were sent but whose enrollment still waits for the send's signal:
# a worker killed between the commit and publishing the signals (after commit) left them so, and
# acks_late brings its task back here. Signalling again wakes them now instead of after
# SEND_CHECK_AFTER; a signal that did arrive moved the step on, so a repeat is a no-op.
_STRANDED_SQL = """
    SELECT m.id, m.enrollment_id, m.step_seq, m.status
    FROM channels_app_message m JOIN journeys_enrollment e ON e.id = m.enrollment_id
    WHERE m.id = ANY(%s) AND m.workspace_id = %s AND m.status <> 'queued'
      AND e.state = 'waiting' AND e.step_seq = m.step_seq AND e.wait->'data'->>'phase' = 'send'
"""


def _messages_stranded(*, message_ids: set[int], workspace_id: int) -> list[tuple[_Claimed, str]]:
    if not message_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_STRANDED_SQL, [list(message_ids), workspace_id])
        rows = cursor.fetchall()
    return [
        (
            _Claimed(
                message_id, "", None, "", None, enrollment_id, step_seq, "", [], {}, 0, status
            ),
            status,
        )
        for message_id, enrollment_id, step_seq, status in rows
    ]


def _provider_results(
    config: ChannelConfig | None, channel: str, group: list[_Claimed], *, until: float
) -> list[SendResult]:
    """The results of sending `group` in order; it stops at the monotonic instant `until`, so the
    messages past the last result were not sent."""
    if config is None and channel != "in_app":
        return [SendResult(ok=False, error="no_channel_configured") for _ in group]
    provider = provider_for(config, channel)
    results = []
    for message in group:
        if time.monotonic() > until:
            break
        try:
            results.append(provider.send(_outbound(message)))
        except Exception as exc:  # a provider bug must not lose the whole batch
            logger.exception("provider %s failed on message %s", message.provider, message.id)
            results.append(SendResult(ok=False, error="provider_error", detail=repr(exc)[:500]))
    return results


def messages_send(*, message_ids: list[int], workspace_id: int, retry: bool = True) -> dict:
    """Sends the still-queued messages among `message_ids`. Rows are locked (SKIP LOCKED) while
    they are sent, and only queued rows are picked, so a duplicate or retried task sends each
    message once. Sends beyond the channel's rate wait for tokens and are re-enqueued, and so
    are those the batch had no time left for (SEND_BUDGET_SECONDS)."""
    until = time.monotonic() + SEND_BUDGET_SECONDS
    counts = {"sent": 0, "failed": 0, "deferred": 0}
    signals: list[tuple[_Claimed, str]] = []
    invalid_tokens: list[tuple[int, list]] = []
    later: list[int] = []
    later_delay = 0.0
    retries: dict[int, list[int]] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # see the comment on _CLAIM_SQL
        messages = _messages_claim(message_ids=message_ids, workspace_id=workspace_id)
        stranded = _messages_stranded(
            message_ids=set(message_ids) - {m.id for m in messages}, workspace_id=workspace_id
        )
        configs = ChannelConfig.objects.for_workspace(workspace_id).in_bulk(
            {m.channel_config_id for m in messages if m.channel_config_id is not None}
        )
        by_config: dict[tuple[int | None, str], list[_Claimed]] = {}
        for message in messages:
            by_config.setdefault((message.channel_config_id, message.channel), []).append(message)
        written: list[_Claimed] = []
        for (config_id, channel), group in by_config.items():
            config = configs.get(config_id) if config_id is not None else None
            granted = tokens_take(
                channel_config_id=config_id or 0,
                rate_per_second=config.rate_per_second if config else None,
                wanted=len(group),
            )
            if granted < len(group):
                later += [m.id for m in group[granted:]]
                rate = config.rate_per_second or 1
                later_delay = max(later_delay, (len(group) - granted) / rate)
                counts["deferred"] += len(group) - granted
            results = _provider_results(config, channel, group[:granted], until=until)
            if len(results) < granted:  # out of time: queued again, sent by the next task
                later += [m.id for m in group[len(results) : granted]]
                later_delay = max(later_delay, 0.05)
                counts["deferred"] += granted - len(results)
            for message, result in zip(group[: len(results)], results, strict=True):
                message.attempts += 1
                written.append(message)
                if result.invalid_targets and message.customer_id:
                    invalid_tokens.append((message.customer_id, result.invalid_targets))
                if result.ok:
                    message.status = result.status
                    message.provider_message_id = result.provider_message_id[:255]
                    counts["sent"] += 1
                elif result.retryable and retry and message.attempts < MAX_SEND_ATTEMPTS:
                    message.error_detail = result.detail
                    delay = RETRY_BACKOFF_SECONDS[
                        min(message.attempts, len(RETRY_BACKOFF_SECONDS)) - 1
                    ]
                    retries.setdefault(delay, []).append(message.id)
                    continue  # stays queued: no event, no signal yet
                else:
                    message.status = Message.Status.FAILED
                    message.error = (result.error or "provider_error")[:255]
                    message.error_detail = result.detail
                    counts["failed"] += 1
                signals.append((message, message.status))
        signals += stranded
        _messages_write(written, workspace_id=workspace_id, now=timezone.now())
        for customer_id, targets in invalid_tokens:
            push_tokens_invalidate(customer_id=customer_id, targets=targets)
        transaction.on_commit(
            lambda: _after_send(signals, later, later_delay, retries, workspace_id)
        )
    return counts


def messages_send_batch(*, message_ids: list[int], workspace_id: int, slot_waits: int = 0) -> dict:
    """The send task's work: messages_send in one of the workspace's outbound slots, or the batch
    queued again shortly when the workspace holds them all (channels_app.outbound_slots)."""
    with outbound_slot(workspace_id=workspace_id) as granted:
        if granted:
            return messages_send(message_ids=message_ids, workspace_id=workspace_id)
    messages_enqueue(
        message_ids=message_ids,
        workspace_id=workspace_id,
        countdown=slot_retry_seconds(slot_waits),
        slot_waits=slot_waits + 1,
    )
    return {"sent": 0, "failed": 0, "deferred": len(message_ids)}


def _messages_write(messages: list[_Claimed], *, workspace_id: int, now: datetime) -> None:
    """One statement per batch: the outcomes and their DeliveryEvents (Django's bulk_update
    builds CASE chains that cost seconds per 500 rows, and ORM history rows cost ~70 µs each)."""
    if not messages:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _WRITE_SQL,
            {
                "ids": [m.id for m in messages],
                "statuses": [m.status for m in messages],
                "provider_ids": [m.provider_message_id for m in messages],
                "errors": [m.error for m in messages],
                "details": [m.error_detail for m in messages],
                "attempts": [m.attempts for m in messages],
                "now": now,
                "workspace_id": workspace_id,
            },
        )


def _after_send(signals, later, later_delay, retries, workspace_id) -> None:
    # One engine batch per 100 signals (advance_enqueue), not one task per message.
    from journeys.dispatch import advance_enqueue

    advance_enqueue(
        [
            [m.enrollment_id, m.step_seq, {"kind": "signal", "payload": signal_payload(m, s)}]
            for m, s in signals
            if m.enrollment_id is not None and m.step_seq is not None
        ]
    )
    if later:
        messages_enqueue(
            message_ids=later, workspace_id=workspace_id, countdown=max(later_delay, 0.05)
        )
    for delay, ids in retries.items():
        messages_enqueue(message_ids=ids, workspace_id=workspace_id, countdown=delay)


def push_tokens_invalidate(*, customer_id: int, targets: list) -> None:
    """The provider said these device tokens are dead: mark them invalid on the customer."""
    dead = {t["token"] for t in targets if isinstance(t, dict)}
    customer = Customer.objects.unscoped().select_for_update().filter(pk=customer_id).first()
    if customer is None:
        return
    tokens = []
    for token in customer.push_tokens or []:
        if isinstance(token, dict) and token.get("token") in dead:
            token = {**token, "valid": False, "updated_at": timezone.now().isoformat()}
        tokens.append(token)
    Customer.objects.unscoped().filter(pk=customer_id).update(push_tokens=tokens)
