"""Writes for channels: channel configs, previews, preparing a journey step's message (address,
consent, frequency cap, quiet hours, rendering), batch sending with rate limits and retries, and
delivery receipts that move messages forward and wake the journeys waiting on them."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from audiences.models import Customer
from workspaces.models import Workspace

from . import rendering, tracking
from .crypto import credentials_decrypt, credentials_encrypt
from .models import ChannelConfig, DeliveryEvent, Message, WebhookCall
from .providers import PROVIDERS, Outbound, Provider, SendResult
from .ratelimit import tokens_take

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 4  # then the provider error is final
RETRY_BACKOFF_SECONDS = (2, 10, 60)  # after attempt 1, 2, 3
# Messages per send task: per-task costs (commit, round trips, broker) amortized over the batch;
# 1,000 measured 15–50% above 500 on the loaded 2-core machine (bench/bench_channels.py).
SEND_BATCH = 1000

# Statuses as a ladder: a later receipt implies the earlier ones (a click means it was opened
# and delivered), so awaiting "delivered" is met by a click whose delivery receipt was lost.
IMPLIES: dict[str, tuple[str, ...]] = {
    "sent": (),
    "delivered": ("sent",),
    "opened": ("sent", "delivered"),
    "read": ("sent", "delivered"),
    "clicked": ("sent", "delivered", "opened"),
    "replied": ("sent", "delivered", "read"),
    "failed": (),
    "bounced": ("sent",),
}
RANK = {"queued": 0, "sent": 1, "delivered": 2, "opened": 3, "read": 3, "clicked": 4, "replied": 5}
FINAL_FAILURES = ("failed", "bounced")
RECEIPT_STATUSES = tuple(IMPLIES)


# ---- Channel configs -----------------------------------------------------------------------
def _config_errors(
    channel: str, provider: str, credentials: Any, settings: Any
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    cls = PROVIDERS.get(provider)
    if cls is None or provider == "in_app":
        names = ", ".join(k for k in PROVIDERS if k != "in_app")
        return {"provider": [f"Must be one of {names}."]}
    if channel not in cls.channels:
        errors["provider"] = [f"{provider} cannot send {channel}."]
    errors.update(cls.credential_errors(credentials))
    if settings is not None and not isinstance(settings, dict):
        errors["settings"] = ["Must be an object."]
    elif provider == "smtp" and not (settings or {}).get("from_email"):
        errors["settings.from_email"] = ["SMTP needs a from_email setting."]
    return errors


def _default_set(config: ChannelConfig) -> None:
    ChannelConfig.objects.for_workspace(config.workspace_id).filter(
        channel=config.channel, is_default=True
    ).exclude(pk=config.pk).update(is_default=False)


@transaction.atomic
def channel_create(
    *,
    workspace: Workspace,
    channel: str,
    provider: str,
    name: str,
    credentials: dict | None = None,
    settings: dict | None = None,
    is_default: bool | None = None,
    rate_per_second: int | None = None,
) -> ChannelConfig:
    credentials = credentials or {}
    errors = _config_errors(channel, provider, credentials, settings)
    if errors:
        raise ValidationError(errors)
    first = not ChannelConfig.objects.for_workspace(workspace).filter(channel=channel).exists()
    config = ChannelConfig(
        workspace=workspace,
        channel=channel,
        provider=provider,
        name=name,
        credentials_encrypted=credentials_encrypt(credentials),
        settings=settings or {},
        is_default=first if is_default is None else is_default,
        rate_per_second=rate_per_second,
    )
    if config.is_default:
        _default_set(config)
    config.save()
    return config


@transaction.atomic
def channel_update(
    *,
    config: ChannelConfig,
    name: str,
    provider: str,
    credentials: dict | None = None,
    settings: dict | None = None,
    is_default: bool | None = None,
    rate_per_second: int | None = None,
) -> ChannelConfig:
    """A PUT; credentials are write-only, so leaving them out keeps the stored ones."""
    config = (
        ChannelConfig.objects.for_workspace(config.workspace_id)
        .select_for_update()
        .get(pk=config.pk)
    )
    if credentials is None:
        if provider != config.provider:
            raise ValidationError({"credentials": ["Changing the provider needs its credentials."]})
        credentials = credentials_decrypt(config.credentials_encrypted)
    errors = _config_errors(config.channel, provider, credentials, settings)
    if errors:
        raise ValidationError(errors)
    config.name = name
    config.provider = provider
    config.credentials_encrypted = credentials_encrypt(credentials)
    config.settings = settings or {}
    config.rate_per_second = rate_per_second
    if is_default is not None:
        config.is_default = is_default
    if config.is_default:
        _default_set(config)
    config.save()
    return config


def channel_delete(*, config: ChannelConfig) -> None:
    config.delete()


def provider_for(config: ChannelConfig | None, channel: str) -> Provider:
    if config is None:  # only in-app works without a config: its inbox is our own table
        return PROVIDERS["in_app"]({}, {})
    return PROVIDERS[config.provider](
        credentials_decrypt(config.credentials_encrypted), config.settings
    )


def channel_config_resolve(
    *, workspace_id: int, channel: str, channel_id: int | None
) -> ChannelConfig | None:
    configs = ChannelConfig.objects.for_workspace(workspace_id).filter(channel=channel)
    if channel_id is not None:
        return configs.filter(pk=channel_id).first()
    return configs.filter(is_default=True).first()


# ---- Previews and test sends ---------------------------------------------------------------
def _raise_render(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise ValidationError({"content": {f or "content": [m] for f, m in problems}})


def content_render_checked(
    *, channel: str, content: Any, context: dict, workspace_settings: dict | None
) -> dict:
    """Validated, rendered and limit-checked content, or a 400 naming the field and position."""
    _raise_render(rendering.content_errors(channel, content))
    try:
        rendered = rendering.content_render(channel, content, context)
    except rendering.RenderError as exc:
        raise ValidationError({"content": {exc.field: [exc.message]}}) from exc
    _raise_render(rendering.rendered_errors(channel, rendered, workspace_settings))
    return _with_metadata(channel, rendered)


def _with_metadata(channel: str, rendered: dict) -> dict:
    if channel == "sms":
        encoding, segments = rendering.sms_segments(rendered.get("text") or "")
        return {**rendered, "encoding": encoding, "segments": segments}
    return rendered


def message_preview(
    *,
    workspace: Workspace,
    channel: str,
    content: Any,
    customer: Customer | None = None,
    attributes: dict | None = None,
) -> dict:
    context = rendering.liquid_context(
        customer=customer if customer is not None else (attributes or {})
    )
    return content_render_checked(
        channel=channel, content=content, context=context, workspace_settings=workspace.settings
    )


def channel_test_send(*, config: ChannelConfig, to: str, content: Any) -> Message:
    """Sends one message synchronously (no journey) and returns it with its outcome."""
    workspace = Workspace.objects.get(pk=config.workspace_id)
    rendered = content_render_checked(
        channel=config.channel,
        content=content,
        context=rendering.liquid_context(customer={}),
        workspace_settings=workspace.settings,
    )
    targets: list = [to]
    if config.channel == "push":
        targets = [
            {"platform": p, "token": to} for p in (rendered.get("platforms") or ["android"])[:1]
        ]
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        channel=config.channel,
        channel_config=config,
        provider=config.provider,
        to=to,
        targets=targets,
        content=rendered,
    )
    messages_send(message_ids=[message.pk], workspace_id=workspace.pk, retry=False)
    message.refresh_from_db()
    return message


# ---- A journey step's message --------------------------------------------------------------
@dataclass
class StepOutcome:
    """What the message node should do: `failed` (reason on a failed Message), `defer` until a
    time (quiet hours), `queued` (a Message to send; wait for its signal), `skipped` (holdout),
    or `simulated` (rendered only)."""

    kind: str
    message: Message | None = None
    reason: str = ""
    until: datetime | None = None
    rendered: dict = field(default_factory=dict)


def _address(channel: str, customer: Customer, content: dict) -> tuple[str, list]:
    attributes = customer.attributes or {}
    if channel == "email":
        return customer.email, [customer.email] if customer.email else []
    if channel == "push":
        platforms = content.get("platforms") or list(rendering.PUSH_PLATFORMS)
        tokens = [
            {"platform": t.get("platform"), "token": t.get("token")}
            for t in customer.push_tokens or []
            if isinstance(t, dict)
            and t.get("token")
            and t.get("valid", True)
            and t.get("platform") in platforms
        ]
        return ",".join(t["token"] for t in tokens)[:1000], tokens
    if channel == "telegram":
        chat = str(attributes.get("telegram_chat_id") or "")
        return chat, [chat] if chat else []
    if channel == "whatsapp":
        phone = str(attributes.get("whatsapp_phone") or customer.phone or "")
        return phone, [phone] if phone else []
    if channel == "in_app":
        return customer.external_id, [customer.external_id]
    return customer.phone, [customer.phone] if customer.phone else []  # sms, rcs, kakao_*


def _customer_zone(customer: Customer, workspace_tz: str) -> ZoneInfo:
    for name in (customer.timezone, workspace_tz, "UTC"):
        try:
            return ZoneInfo(name) if name else ZoneInfo("UTC")
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def quiet_hours_end(*, quiet_hours: dict | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When `now` falls inside the quiet window (customer's local time), the window's end;
    else None. A window may cross midnight ("21:00"–"08:00")."""
    if not quiet_hours or not quiet_hours.get("start") or not quiet_hours.get("end"):
        return None
    start = dtime.fromisoformat(quiet_hours["start"])
    end = dtime.fromisoformat(quiet_hours["end"])
    if start == end:
        return None
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    naive = datetime.combine(end_day, end)
    # fold=0 and a round trip through UTC settle DST gaps/overlaps on a real instant.
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def _capped(*, customer_id: int, journey_id: int | None, cap: dict | None, now: datetime) -> bool:
    if not cap or not cap.get("max") or not cap.get("per"):
        return False
    from journeys.fields import DURATION_UNITS

    per = cap["per"]
    window = timedelta(seconds=per["value"] * DURATION_UNITS[per["unit"]])
    # The cap is a journey setting, so it counts this journey's messages that went (or are
    # going) out; failed ones never reached the customer.
    sent = (
        Message.objects.unscoped()
        .filter(customer_id=customer_id, journey_id=journey_id, created_at__gte=now - window)
        .exclude(status=Message.Status.FAILED)
        .count()
    )
    return sent >= cap["max"]


def message_prepare(
    *,
    workspace: Workspace,
    customer: Customer,
    config: dict,
    journey_id: int | None,
    journey_name: str = "",
    version_number: int | None,
    node_id: str,
    enrollment_id: int | None,
    step_seq: int | None,
    journey_settings: dict | None,
    event: dict | None,
    holdout: bool = False,
    simulate: bool = False,
    now: datetime | None = None,
) -> StepOutcome:
    """Everything the message node decides synchronously. Creates the Message idempotently: a
    retried step (same enrollment and step_seq) returns the message it created the first time."""
    now = now or timezone.now()
    journey_settings = journey_settings or {}
    channel = config["channel"]
    context = rendering.liquid_context(
        customer=customer, event=event, journey={"id": journey_id, "name": journey_name}
    )
    try:
        rendered = rendering.content_render(channel, config.get("content") or {}, context)
        render_problems = rendering.rendered_errors(channel, rendered, workspace.settings)
    except rendering.RenderError as exc:
        rendered, render_problems = {}, [(exc.field, exc.message)]
    rendered = _with_metadata(channel, rendered)
    if simulate:
        return StepOutcome(
            kind="simulated",
            rendered=rendered,
            reason=render_problems[0][1] if render_problems else "",
        )
    if holdout:
        return StepOutcome(kind="skipped", reason="holdout")

    if enrollment_id is not None:
        existing = (
            Message.objects.for_workspace(workspace)
            .filter(enrollment_id=enrollment_id, step_seq=step_seq)
            .first()
        )
        if existing is not None:
            kind = (
                "failed"
                if existing.status == Message.Status.FAILED and not existing.sent_at
                else "queued"
            )
            return StepOutcome(kind=kind, message=existing, reason=existing.error)

    channel_config = channel_config_resolve(
        workspace_id=workspace.pk, channel=channel, channel_id=config.get("channel_id")
    )
    to, targets = _address(channel, customer, rendered)
    reason, detail = "", ""
    if channel_config is None and channel != "in_app":
        reason = "no_channel_configured"
    elif channel in (customer.unsubscribed or []):
        reason = "unsubscribed"
    elif not targets:
        reason = "no_push_token" if channel == "push" else "no_address"
    elif render_problems:
        reason, detail = "content_invalid", "; ".join(f"{f}: {m}" for f, m in render_problems)
    elif _capped(
        customer_id=customer.pk,
        journey_id=journey_id,
        cap=journey_settings.get("frequency_cap"),
        now=now,
    ):
        reason = "frequency_capped"
    else:
        until = quiet_hours_end(
            quiet_hours=journey_settings.get("quiet_hours"),
            zone=_customer_zone(customer, workspace.timezone),
            now=now,
        )
        if until is not None:
            return StepOutcome(kind="defer", until=until, reason="quiet_hours")

    awaited = config.get("await")
    message = Message(
        workspace=workspace,
        customer=customer,
        enrollment_id=enrollment_id,
        step_seq=step_seq,
        journey_id=journey_id,
        version=version_number,
        node_id=node_id,
        channel_config=channel_config,
        channel=channel,
        provider=channel_config.provider
        if channel_config
        else ("in_app" if channel == "in_app" else ""),
        to=to,
        targets=targets,
        content=rendered,
        status=Message.Status.FAILED if reason else Message.Status.QUEUED,
        error=reason,
        error_detail=detail[:2000],
        failed_at=now if reason else None,
        awaiting={"status": awaited["status"]} if awaited and not reason else None,
        created_at=now,
    )
    try:
        with transaction.atomic():
            message.save(force_insert=True)
            DeliveryEvent.objects.for_workspace(workspace).create(
                workspace=workspace,
                message=message,
                status=message.status,
                source="journey",
                at=now,
                data={"reason": reason} if reason else {},
            )
    except IntegrityError:
        # A concurrent run of the same step won the unique key: use its message.
        message = Message.objects.for_workspace(workspace).get(
            enrollment_id=enrollment_id, step_seq=step_seq
        )
        reason = message.error if message.status == Message.Status.FAILED else ""
    if reason:
        return StepOutcome(kind="failed", message=message, reason=reason)
    # The caller enqueues the send after its commit (the engine: ctx.on_commit).
    return StepOutcome(kind="queued", message=message)


def messages_enqueue(
    *, message_ids: list[int], workspace_id: int, countdown: float | None = None
) -> None:
    from .tasks import messages_send_task

    for start in range(0, len(message_ids), SEND_BATCH):
        messages_send_task.apply_async(
            kwargs={
                "message_ids": message_ids[start : start + SEND_BATCH],
                "workspace_id": workspace_id,
            },
            countdown=countdown,
        )


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
           targets, content, attempts
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
        RETURNING m.id, m.status, m.error, m.error_detail
    )
    INSERT INTO channels_app_deliveryevent (workspace_id, message_id, status, source, at, data)
    SELECT %(workspace_id)s, w.id, w.status, 'send', %(now)s,
           CASE WHEN w.status = 'failed'
                THEN jsonb_build_object('error', w.error, 'detail', left(w.error_detail, 500))
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


def _outbound(message: _Claimed | Message) -> Outbound:
    content = message.content
    if message.channel == "email" and content.get("html"):
        content = {**content, "html": tracking.email_html_track(content["html"], message.id)}
    status_callback = ""
    if message.provider == "twilio":
        from .callbacks import twilio_callback_url

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
    )


def _messages_claim(*, message_ids: list[int], workspace_id: int) -> list[_Claimed]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [list(message_ids), workspace_id])
        # Django's psycopg setup hands jsonb over as text (JSONField decodes it); so do we.
        return [
            _Claimed(*row[:8], json.loads(row[8]), json.loads(row[9]), row[10])
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
        (_Claimed(message_id, "", None, "", None, enrollment_id, step_seq, "", [], {}, 0, status), status)
        for message_id, enrollment_id, step_seq, status in rows
    ]


def _provider_results(
    config: ChannelConfig | None, channel: str, group: list[_Claimed]
) -> list[SendResult]:
    if config is None and channel != "in_app":
        return [SendResult(ok=False, error="no_channel_configured") for _ in group]
    provider = provider_for(config, channel)
    results = []
    for message in group:
        try:
            results.append(provider.send(_outbound(message)))
        except Exception as exc:  # a provider bug must not lose the whole batch
            logger.exception("provider %s failed on message %s", message.provider, message.id)
            results.append(SendResult(ok=False, error="provider_error", detail=repr(exc)[:500]))
    return results


def messages_send(*, message_ids: list[int], workspace_id: int, retry: bool = True) -> dict:
    """Sends the still-queued messages among `message_ids`. Rows are locked (SKIP LOCKED) while
    they are sent, and only queued rows are picked, so a duplicate or retried task sends each
    message once. Sends beyond the channel's rate wait for tokens and are re-enqueued."""
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
            results = _provider_results(config, channel, group[:granted])
            for message, result in zip(group[:granted], results, strict=True):
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
    from journeys.engine import advance_enqueue

    advance_enqueue(
        [
            [m.enrollment_id, m.step_seq, {"kind": "signal", "payload": _signal_payload(m, s)}]
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


# ---- Receipts ------------------------------------------------------------------------------
def _engine_signal(message: Message, status: str) -> None:
    """Wakes the enrollment that sent `message` (its step_seq makes a late signal a no-op)."""
    if message.enrollment_id is None or message.step_seq is None:
        return
    from journeys.engine import signal

    signal(
        enrollment_id=message.enrollment_id,
        step_seq=message.step_seq,
        payload=_signal_payload(message, status),
    )


def _signal_payload(message: _Claimed | Message, status: str) -> dict:
    return {"message_id": message.id, "status": status}


def awaited_reached(message: Message, awaited: str) -> bool:
    return getattr(message, f"{awaited}_at", None) is not None


def message_receipt(
    *,
    message: Message,
    status: str,
    source: str,
    at: datetime | None = None,
    error: str = "",
    data: dict | None = None,
) -> Message:
    """Records a delivery receipt: the status's timestamp (and those it implies), the status if
    it moves forward, a DeliveryEvent; then wakes an enrollment waiting for it."""
    if status not in RECEIPT_STATUSES:
        raise ValidationError({"status": [f"Must be one of {', '.join(RECEIPT_STATUSES)}."]})
    at = at or timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.for_workspace(message.workspace_id)
            .select_for_update()
            .get(pk=message.pk)
        )
        fields = []
        for name in (*IMPLIES[status], status):
            if getattr(message, f"{name}_at") is None:
                setattr(message, f"{name}_at", at)
                fields.append(f"{name}_at")
        if status in FINAL_FAILURES:
            if message.status not in FINAL_FAILURES:
                message.status = status
                message.error = (error or status)[:255]
                fields += ["status", "error"]
        elif message.status not in FINAL_FAILURES and RANK[status] > RANK.get(message.status, 0):
            message.status = status
            fields.append("status")
        if fields:
            message.save(update_fields=fields)
        DeliveryEvent.objects.for_workspace(message.workspace_id).create(
            workspace_id=message.workspace_id,
            message=message,
            status=status,
            source=source,
            at=at,
            data={**(data or {}), **({"error": error} if error else {})},
        )
        awaiting = (message.awaiting or {}).get("status")
        # Only news wakes the journey: the awaited status reached for the first time, or a failure.
        if awaiting and fields and (status in FINAL_FAILURES or awaited_reached(message, awaiting)):
            snapshot = message
            transaction.on_commit(lambda: _engine_signal(snapshot, status))
    return message


def inbox_read(*, message: Message) -> Message:
    return message_receipt(message=message, status="read", source="inbox")


def customer_unsubscribe(*, message: Message) -> None:
    """One-click unsubscribe from the message's channel (List-Unsubscribe, RFC 8058)."""
    if message.customer_id is None:
        return
    with transaction.atomic():
        customer = (
            Customer.objects.unscoped().select_for_update().filter(pk=message.customer_id).first()
        )
        if customer is not None and message.channel not in customer.unsubscribed:
            customer.unsubscribed = [*customer.unsubscribed, message.channel]
            customer.updated_at = timezone.now()
            customer.save(update_fields=["unsubscribed", "updated_at"])


# ---- Webhook calls -------------------------------------------------------------------------
def webhook_backoff(attempt: int) -> float:
    """Seconds before retry `attempt + 1`: 1, 2, 4, 8, 16."""
    return float(2**attempt)


@dataclass
class WebhookOutcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False
    body: Any = None


def webhook_request(*, request: dict) -> WebhookOutcome:
    """One guarded attempt: 2xx is success; network errors, 429 and 5xx are worth retrying."""
    import httpx

    from .guard import OutboundBlocked, guarded_request

    body = request.get("body")
    kwargs: dict[str, Any] = {"headers": request.get("headers") or {}}
    if body not in (None, "") and request["method"] != "GET":
        if isinstance(body, str):
            kwargs["content"] = body.encode()
        else:
            kwargs["json"] = body
    try:
        response = guarded_request(
            request["method"], request["url"], timeout=request["timeout_seconds"], **kwargs
        )
    except OutboundBlocked as exc:
        return WebhookOutcome(ok=False, error=f"outbound_blocked: {exc}")
    except httpx.HTTPError as exc:
        return WebhookOutcome(
            ok=False, error=f"{exc.__class__.__name__}: {exc}"[:255], retryable=True
        )
    if response.is_success:
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return WebhookOutcome(ok=True, status_code=response.status_code, body=parsed)
    return WebhookOutcome(
        ok=False,
        status_code=response.status_code,
        error=f"HTTP {response.status_code}",
        retryable=response.status_code == 429 or response.status_code >= 500,
    )


def webhook_call_prepare(
    *,
    workspace_id: int,
    enrollment_id: int,
    step_seq: int,
    customer_id: int,
    node_id: str,
    request: dict,
) -> WebhookCall:
    """The call of one webhook node visit, created once per (enrollment, step_seq). It is written
    in the engine's batch transaction, so a batch that rolls back leaves no call behind."""
    calls = WebhookCall.objects.for_workspace(workspace_id)
    existing = calls.filter(enrollment_id=enrollment_id, step_seq=step_seq).first()
    if existing is not None:
        return existing
    call = WebhookCall(
        workspace_id=workspace_id,
        enrollment_id=enrollment_id,
        step_seq=step_seq,
        customer_id=customer_id,
        node_id=node_id,
        request=request,
    )
    try:
        with transaction.atomic():
            call.save(force_insert=True)
    except IntegrityError:  # a concurrent run of the same step won the unique key
        return calls.get(enrollment_id=enrollment_id, step_seq=step_seq)
    return call


def webhook_call_enqueue(*, call: WebhookCall, countdown: float | None = None) -> None:
    """Queues the call's next attempt (the task carries the attempt number it is for)."""
    from .tasks import webhook_call_task

    webhook_call_task.apply_async(
        kwargs={"call_id": call.pk, "workspace_id": call.workspace_id, "attempt": call.attempts},
        countdown=countdown,
    )


def webhook_call_attempt(*, call_id: int, workspace_id: int, attempt: int) -> WebhookOutcome | None:
    """Makes attempt `attempt` (0-based) of a pending call, at most once: the row is locked (SKIP
    LOCKED) for the request and must still be pending with exactly `attempt` attempts made, so a
    redelivered or duplicate task finds it finished, moved on or in progress and does nothing.
    A retryable failure with retries left counts the attempt and schedules the next (backoff);
    anything else finishes the call, stores the JSON response on the customer (save_as) and
    signals the waiting enrollment, all in one transaction. Returns None when nothing finished."""
    from journeys.engine import signal

    with transaction.atomic():
        call = (
            WebhookCall.objects.for_workspace(workspace_id)
            .select_for_update(skip_locked=True)
            .filter(pk=call_id, status=WebhookCall.Status.PENDING, attempts=attempt)
            .first()
        )
        if call is None:
            return None
        request = call.request
        outcome = webhook_request(request=request)
        call.attempts = attempt + 1
        call.status_code = outcome.status_code
        call.error = outcome.error[:255]
        fields = ["attempts", "status_code", "error"]
        if not outcome.ok and outcome.retryable and attempt < request.get("retries", 0):
            call.save(update_fields=fields)
            transaction.on_commit(
                lambda: webhook_call_enqueue(call=call, countdown=webhook_backoff(attempt))
            )
            return None
        call.status = WebhookCall.Status.OK if outcome.ok else WebhookCall.Status.FAILED
        call.finished_at = timezone.now()
        call.save(update_fields=[*fields, "status", "finished_at"])
        if outcome.ok and request.get("save_as") and outcome.body is not None:
            _customer_attribute_set(
                workspace_id=workspace_id,
                customer_id=call.customer_id,
                name=request["save_as"],
                value=outcome.body,
            )
        signal(
            enrollment_id=call.enrollment_id,
            step_seq=call.step_seq,
            payload={
                "webhook": "ok" if outcome.ok else "failed",
                "status_code": outcome.status_code,
                "error": outcome.error,
            },
        )
    return outcome


def _customer_attribute_set(*, workspace_id: int, customer_id: int, name: str, value: Any) -> None:
    customer = (
        Customer.objects.for_workspace(workspace_id)
        .select_for_update()
        .filter(pk=customer_id)
        .first()
    )
    if customer is not None:
        customer.attributes = {**(customer.attributes or {}), name: value}
        customer.updated_at = timezone.now()
        customer.save(update_fields=["attributes", "updated_at"])
