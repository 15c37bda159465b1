"""Writes for event webhooks: registering them, turning what the engine and the channels already
wrote (step events, delivery events) into deliveries in batches, and delivering each one signed,
retried with exponential backoff for 24 hours, through the outbound guard and slots.

Nothing here runs on the engine's or the senders' path: the fan-out reads their append-only
tables behind them, with the analytics rollups' rule for which id ranges are final
(analytics.services), so no row is skipped and none is fanned out twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import defaultdict
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from analytics.services import _closable_id
from audiences.models import Customer, Event
from channels_app.crypto import credentials_decrypt, credentials_encrypt
from channels_app.guard import DeadlineExceeded, OutboundBlocked, guarded_request, url_check
from channels_app.models import DeliveryEvent, Message
from channels_app.outbound_slots import outbound_slot, slot_retry_seconds
from journeys.experiments import DECIDED_ACTION
from journeys.models import JourneyAuditEntry, StepEvent
from workspaces.errors import ServiceValidationError
from workspaces.models import Membership, Role

from .models import BATCH_EVENT, TEST_EVENT, EventDelivery, EventWebhook, FanoutCursor

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks_out.tasks.event_delivery_task"
DELIVER_BATCH_TASK = "webhooks_out.tasks.event_batch_delivery_task"
SIGNATURE_HEADER = "Waymark-Signature"
STEPS = "journeys_stepevent"
DELIVERIES = "channels_app_deliveryevent"
AUDIT = "journeys_journeyauditentry"
# Source ids read per transaction: bounded memory when catching up after a pause.
CHUNK_IDS = 20_000
# Deliveries queued per sweep; the rest wait for the next one (every few seconds).
SWEEP_BATCH = 1000
# A queued attempt owns its delivery this long; if its task is lost, the sweep queues it again.
LEASE_SECONDS = 120
ATTEMPT_TIMEOUT_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 3600

_STEP_TYPES = {
    StepEvent.Kind.ENTERED: "journey.entered",
    StepEvent.Kind.COMPLETED: "journey.completed",
    StepEvent.Kind.EXITED: "journey.exited",
    StepEvent.Kind.GOAL: "goal.converted",
}
_MESSAGE_TYPES = {
    status: f"message.{status}"
    for status in ("sent", "delivered", "opened", "clicked", "replied", "bounced", "failed")
}


# ---- Registering ---------------------------------------------------------------------------
def _url_validate(url: str) -> None:
    try:
        url_check(url)
    except OutboundBlocked as exc:
        raise ServiceValidationError(
            {"url": [f"This URL cannot receive webhooks: {exc}."]}
        ) from exc


def event_webhook_create(
    *,
    workspace,
    url: str,
    events: list[str],
    description: str = "",
    enabled: bool = True,
    batch_size: int = 1,
) -> tuple[EventWebhook, str]:
    """The webhook and its signing secret, which is shown only now."""
    _url_validate(url)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    webhook = EventWebhook.objects.unscoped().create(
        workspace=workspace,
        url=url,
        events=sorted(set(events)),
        description=description,
        enabled=enabled,
        batch_size=batch_size,
        secret_encrypted=credentials_encrypt({"secret": secret}),
    )
    subscriptions_changed()
    return webhook, secret


def event_webhook_update(*, webhook: EventWebhook, **changes) -> EventWebhook:
    if "url" in changes:
        _url_validate(changes["url"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    if changes.get("enabled"):  # turned on again by hand: a fresh 24 hours of patience
        changes |= {"failing_since": None, "disabled_reason": ""}
    for name, value in changes.items():
        setattr(webhook, name, value)
    webhook.save()
    subscriptions_changed()
    return webhook


def _secret(webhook: EventWebhook) -> str:
    return credentials_decrypt(webhook.secret_encrypted)["secret"]


def signature(*, secret: str, body: bytes, at: int) -> str:
    """Waymark-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>."""
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def _payload(event_id: str, event_type: str, at, data: dict) -> dict:
    return {"id": event_id, "type": event_type, "created_at": at.isoformat(), "data": data}


def event_webhook_test(*, webhook: EventWebhook) -> EventDelivery:
    """A webhook.test delivery, queued like any other."""
    now = timezone.now()
    event_id = f"evt_test_{secrets.token_hex(8)}"
    delivery = EventDelivery.objects.unscoped().create(
        workspace_id=webhook.workspace_id,
        webhook=webhook,
        event_id=event_id,
        event_type=TEST_EVENT,
        payload=_payload(event_id, TEST_EVENT, now, {"webhook_id": webhook.pk}),
        next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
    )
    transaction.on_commit(lambda: _enqueue(delivery.pk, webhook.workspace_id, 0))
    return delivery


# ---- Fan-out ---------------------------------------------------------------------------------
def _subscriptions() -> dict[int, list[EventWebhook]]:
    found: dict[int, list[EventWebhook]] = defaultdict(list)
    for webhook in EventWebhook.objects.unscoped().filter(enabled=True):
        found[webhook.workspace_id].append(webhook)
    return found


def _step_events(
    low: int, high: int, workspace_ids: list[int]
) -> list[tuple[int, str, object, dict]]:
    rows = list(
        StepEvent.objects.unscoped()
        .filter(
            id__gt=low, id__lte=high, kind__in=list(_STEP_TYPES), workspace_id__in=workspace_ids
        )
        .values_list(
            "id",
            "workspace_id",
            "kind",
            "journey_id",
            "version_id",
            "enrollment_id",
            "customer_id",
            "node_id",
            "at",
            "data",
        )
        .order_by("id")
    )
    external = dict(
        Customer.objects.unscoped()
        .filter(pk__in={row[6] for row in rows})
        .values_list("pk", "external_id")
    )
    events = []
    for (
        row_id,
        workspace_id,
        kind,
        journey_id,
        version_id,
        enrollment_id,
        customer_id,
        node_id,
        at,
        data,
    ) in rows:
        body = {
            "journey_id": journey_id,
            "version_id": version_id,
            "enrollment_id": enrollment_id,
            "customer_id": external.get(customer_id),
            "node_id": node_id,
            "at": at.isoformat(),
        }
        if kind == StepEvent.Kind.GOAL:
            body["goal_id"] = (data or {}).get("goal_id")
            body["value"] = (data or {}).get("value")
        if kind == StepEvent.Kind.EXITED:
            body["reason"] = (data or {}).get("reason", "")
        events.append((workspace_id, f"evt_step_{row_id}", _STEP_TYPES[kind], at, body))
    return events


def _message_events(low: int, high: int, workspace_ids: list[int]) -> list:
    rows = list(
        DeliveryEvent.objects.unscoped()
        .filter(
            id__gt=low,
            id__lte=high,
            status__in=list(_MESSAGE_TYPES),
            workspace_id__in=workspace_ids,
        )
        .values_list("id", "workspace_id", "message_id", "status", "source", "at", "data")
        .order_by("id")
    )
    messages = {
        m["id"]: m
        for m in Message.objects.unscoped()
        .filter(pk__in={row[2] for row in rows})
        .values("id", "journey_id", "node_id", "channel", "customer_id", "error")
    }
    external = dict(
        Customer.objects.unscoped()
        .filter(pk__in={m["customer_id"] for m in messages.values()})
        .values_list("pk", "external_id")
    )
    events = []
    for row_id, workspace_id, message_id, status, source, at, _data in rows:
        message = messages.get(message_id, {})
        body = {
            "message_id": message_id,
            "journey_id": message.get("journey_id"),
            "node_id": message.get("node_id"),
            "channel": message.get("channel"),
            "customer_id": external.get(message.get("customer_id")),
            "status": status,
            "source": source,
            "at": at.isoformat(),
        }
        if status in ("failed", "bounced"):
            body["error"] = message.get("error", "")
        events.append((workspace_id, f"evt_msg_{row_id}", _MESSAGE_TYPES[status], at, body))
    return events


def _decision_events(low: int, high: int, workspace_ids: list[int]) -> list:
    """experiment.decided from the decisions journeys.experiments writes to the audit log."""
    rows = (
        JourneyAuditEntry.objects.unscoped()
        .filter(id__gt=low, id__lte=high, action=DECIDED_ACTION, workspace_id__in=workspace_ids)
        .values_list("id", "workspace_id", "journey_id", "version_number", "actor_label", "at", "details")
        .order_by("id")
    )
    return [
        (
            workspace_id,
            f"evt_audit_{row_id}",
            "experiment.decided",
            at,
            {
                "journey_id": journey_id,
                "version": version,
                "node_id": details.get("node_id"),
                "node_type": details.get("node_type"),
                "winner": details.get("winner"),
                "decided_by": details.get("decided_by"),
                "decided_at": details.get("decided_at"),
                "p_value": details.get("p_value"),
                "actor": actor or None,
            },
        )
        for row_id, workspace_id, journey_id, version, actor, at, details in rows
    ]


def _deliveries_make(events, subscriptions) -> list[tuple]:
    """Deliveries for every (event, subscribed webhook); an event fanned out before is not made
    again (unique per webhook). Returns the new ones as _enqueue_grouped takes them."""
    lease = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    rows = [
        EventDelivery(
            workspace_id=workspace_id,
            webhook=webhook,
            event_id=event_id,
            event_type=event_type,
            payload=_payload(event_id, event_type, at, data),
            next_attempt_at=lease,
        )
        for workspace_id, event_id, event_type, at, data in events
        for webhook in subscriptions.get(workspace_id, [])
        if event_type in webhook.events and at >= webhook.created_at
    ]
    if not rows:
        return []
    EventDelivery.objects.unscoped().bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    # ignore_conflicts leaves the ids unset; the ones still unattempted are what to queue.
    return list(
        EventDelivery.objects.unscoped()
        .filter(
            webhook_id__in={row.webhook_id for row in rows},
            event_id__in={row.event_id for row in rows},
            attempts=0,
            status=EventDelivery.Status.PENDING,
        )
        .order_by("pk")
        .values_list(*_QUEUED_FIELDS)
    )


def _fan_out(source: str, read, subscriptions) -> int:
    """Turns the final rows of `source` past its cursor into deliveries, chunk by chunk, each in
    one transaction with the cursor's move; their first attempts are queued after commit."""
    FanoutCursor.objects.get_or_create(source=source)
    target = _closable_id(source)
    made = 0
    while True:
        with transaction.atomic():
            cursor = (
                FanoutCursor.objects.select_for_update(skip_locked=True)
                .filter(source=source)
                .first()
            )
            if cursor is None or target is None or cursor.closed_id >= target:
                return made  # another run holds the cursor, a writer is still open, or all done
            # Without any webhook there is nothing to read: the cursor jumps (a first webhook on
            # a large installation must not wait for years of history to be walked).
            high = min(target, cursor.closed_id + CHUNK_IDS) if subscriptions else target
            if subscriptions:
                new = _deliveries_make(
                    read(cursor.closed_id, high, list(subscriptions)), subscriptions
                )
                made += len(new)
                transaction.on_commit(lambda new=new: _enqueue_grouped(new))
            cursor.closed_id = high
            cursor.save(update_fields=["closed_id"])


def event_webhooks_pump() -> dict:
    """One run of the periodic pump: fan out new step and delivery events and experiment
    decisions, then queue the deliveries whose retry is due (or whose queued attempt was lost)."""
    subscriptions = _subscriptions()
    made = (
        _fan_out(STEPS, _step_events, subscriptions)
        + _fan_out(DELIVERIES, _message_events, subscriptions)
        + _fan_out(AUDIT, _decision_events, subscriptions)
    )
    return {"made": made, "queued": deliveries_due_enqueue()}


def deliveries_due_enqueue() -> int:
    now = timezone.now()
    with transaction.atomic():
        due = list(
            EventDelivery.objects.unscoped()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=EventDelivery.Status.PENDING, next_attempt_at__lte=now, webhook__enabled=True
            )
            .order_by("next_attempt_at", "pk")
            .values_list(*_QUEUED_FIELDS)[:SWEEP_BATCH]
        )
        EventDelivery.objects.unscoped().filter(pk__in=[row[0] for row in due]).update(
            next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)
        )
        transaction.on_commit(lambda: _enqueue_grouped(due))
    return len(due)


# What _enqueue_grouped needs of each delivery to queue.
_QUEUED_FIELDS = ("pk", "workspace_id", "attempts", "webhook_id", "webhook__batch_size")


def _enqueue_grouped(rows) -> None:
    """Queues attempts of (delivery id, workspace id, attempt, webhook id, batch size) rows: one
    task per delivery for a webhook of batch size 1 (each POST one event, as the contract says),
    else one task per up to batch-size deliveries of the same webhook (one POST carrying them)."""
    groups: dict[tuple[int, int, int], list[tuple[int, int]]] = defaultdict(list)
    for pk, workspace_id, attempt, webhook_id, batch_size in rows:
        groups[(webhook_id, workspace_id, max(1, batch_size))].append((pk, attempt))
    for (_webhook_id, workspace_id, size), items in groups.items():
        for start in range(0, len(items), size):
            group = items[start : start + size]
            if len(group) == 1:
                _enqueue(group[0][0], workspace_id, group[0][1])
            else:
                _enqueue_batch(group, workspace_id)


def _enqueue_batch(
    deliveries: list[tuple[int, int]],
    workspace_id: int,
    countdown: float | None = None,
    slot_waits: int = 0,
):
    kwargs = {"deliveries": [list(item) for item in deliveries], "workspace_id": workspace_id}
    if slot_waits:
        kwargs["slot_waits"] = slot_waits
    current_app.send_task(DELIVER_BATCH_TASK, kwargs=kwargs, countdown=countdown)


def _enqueue(
    delivery_id: int,
    workspace_id: int,
    attempt: int,
    countdown: float | None = None,
    slot_waits: int = 0,
):
    kwargs = {"delivery_id": delivery_id, "workspace_id": workspace_id, "attempt": attempt}
    if slot_waits:
        kwargs["slot_waits"] = slot_waits
    current_app.send_task(DELIVER_TASK, kwargs=kwargs, countdown=countdown)


# ---- Events that arrive as customer events (the ingest hook) -------------------------------
# Opt-outs are stored as customer events (channels_app.services.preferences) and reach us
# through the ingest hook, batch by batch, after commit. The hook must cost ingest nothing for
# workspaces without such a webhook: it reads who subscribes from a cache of a few seconds.
CUSTOMER_EVENT_TYPES = ("customer.unsubscribed",)
CUSTOMER_EVENTS_TASK = "webhooks_out.tasks.customer_events_fan_out_task"
SUBSCRIPTION_CACHE_SECONDS = 5.0
_subscribed: dict = {"at": float("-inf"), "types": {}}


def _subscribed_types(workspace_id: int) -> set[str]:
    if time.monotonic() - _subscribed["at"] > SUBSCRIPTION_CACHE_SECONDS:
        types: dict[int, set[str]] = defaultdict(set)
        for ws, events in (
            EventWebhook.objects.unscoped()
            .filter(enabled=True)
            .values_list("workspace_id", "events")
        ):
            types[ws].update(events)
        _subscribed.update(at=time.monotonic(), types=types)
    return _subscribed["types"].get(workspace_id, set())


def subscriptions_changed() -> None:
    """Drops this process's cache of who subscribes to what (a webhook was made or changed)."""
    _subscribed["at"] = float("-inf")


def events_ingested(workspace_id: int, event_ids: list[int], names: frozenset[str] | None) -> None:
    """audiences.hooks handler: queues the fan-out of a stored batch only when the workspace has a
    webhook for an event type that arrives this way."""
    if _subscribed_types(workspace_id) & set(CUSTOMER_EVENT_TYPES):
        current_app.send_task(
            CUSTOMER_EVENTS_TASK, kwargs={"workspace_id": workspace_id, "event_ids": event_ids}
        )


def customer_events_fan_out(*, workspace_id: int, event_ids: list[int]) -> int:
    """Deliveries for the opt-outs among a stored batch of customer events (made once each)."""
    rows = list(
        Event.objects.for_workspace(workspace_id)
        .filter(pk__in=event_ids, name__in=CUSTOMER_EVENT_TYPES)
        .values_list("pk", "name", "occurred_at", "properties", "customer__external_id")
    )
    if not rows:
        return 0
    events = [
        (
            workspace_id,
            f"evt_event_{pk}",
            name,
            at,
            {"customer_id": external_id, **(properties or {})},
        )
        for pk, name, at, properties, external_id in rows
    ]
    subscriptions = {
        workspace_id: list(EventWebhook.objects.for_workspace(workspace_id).filter(enabled=True))
    }
    with transaction.atomic():
        new = _deliveries_make(events, subscriptions)
        transaction.on_commit(lambda: _enqueue_grouped(new))
    return len(new)


# ---- Delivering ------------------------------------------------------------------------------
def retry_backoff(attempts: int) -> float:
    """Seconds after failed attempt number `attempts` (1-based) before the next: the base
    doubling each time, at most an hour apart."""
    return min(MAX_BACKOFF_SECONDS, settings.EVENT_WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def event_delivery_attempt(
    *, delivery_id: int, workspace_id: int, attempt: int, slot_waits: int = 0
) -> bool | None:
    """Attempt `attempt` of a pending delivery, at most once (row locked, attempts must match),
    in one of the workspace's outbound slots. True delivered, False failed, None skipped."""
    with outbound_slot(workspace_id=workspace_id) as granted:
        if not granted:
            _enqueue(
                delivery_id, workspace_id, attempt, slot_retry_seconds(slot_waits), slot_waits + 1
            )
            return None
        return _attempt(deliveries=[(delivery_id, attempt)], workspace_id=workspace_id)


def event_batch_delivery_attempt(
    *, deliveries: list[tuple[int, int]], workspace_id: int, slot_waits: int = 0
) -> bool | None:
    """One POST carrying several pending deliveries of one webhook, given as (delivery id, attempt
    expected): each is attempted at most once, as event_delivery_attempt does for one."""
    with outbound_slot(workspace_id=workspace_id) as granted:
        if not granted:
            _enqueue_batch(
                deliveries, workspace_id, slot_retry_seconds(slot_waits), slot_waits + 1
            )
            return None
        return _attempt(deliveries=deliveries, workspace_id=workspace_id)


def _post(webhook: EventWebhook, payload: dict) -> tuple[int | None, str]:
    """(status code, error): error is '' for a 2xx answer."""
    import httpx

    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Waymark-Webhooks/1",
        SIGNATURE_HEADER: signature(secret=_secret(webhook), body=body, at=int(time.time())),
    }
    try:
        response = guarded_request(
            "POST",
            webhook.url,
            content=body,
            headers=headers,
            timeout=ATTEMPT_TIMEOUT_SECONDS,
            read_body=False,
        )
    except OutboundBlocked as exc:
        return None, f"outbound_blocked: {exc}"[:255]
    except DeadlineExceeded as exc:
        return None, f"timeout: {exc}"[:255]
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:255]
    return response.status_code, "" if response.is_success else f"HTTP {response.status_code}"


def _batch_payload(rows: list[EventDelivery], now) -> tuple[str, dict]:
    """(batch id, body) of a POST carrying these deliveries: one alone is its own event object,
    exactly as with batch size 1; several go as {"id", "type": "batch", "created_at",
    "data": {"events": [...]}}, each event with its own id for the receiver to dedupe on."""
    if len(rows) == 1:
        return "", rows[0].payload
    batch_id = f"batch_{secrets.token_hex(12)}"
    return batch_id, _payload(
        batch_id, BATCH_EVENT, now, {"events": [row.payload for row in rows]}
    )


def _attempt(*, deliveries: list[tuple[int, int]], workspace_id: int) -> bool | None:
    """POSTs the pending deliveries among `deliveries` whose attempts still match (rows locked;
    one a concurrent task holds or has attempted is left to it) and records the answer on each."""
    expected = dict(deliveries)
    with transaction.atomic():
        rows = [
            row
            for row in EventDelivery.objects.for_workspace(workspace_id)
            .select_for_update(
                skip_locked=True, of=("self",)
            )  # not the webhook: its other deliveries go on
            .select_related("webhook")
            .filter(pk__in=list(expected), status=EventDelivery.Status.PENDING)
            .order_by("pk")
            if row.attempts == expected[row.pk]
        ]
        if not rows or not rows[0].webhook.enabled:
            return None
        webhook = rows[0].webhook
        batch_id, payload = _batch_payload(rows, timezone.now())
        code, error = _post(webhook, payload)
        now = timezone.now()
        window = timedelta(seconds=settings.EVENT_WEBHOOK_RETRY_WINDOW_SECONDS)
        gave_up = False
        for delivery in rows:
            delivery.attempts += 1
            delivery.response_code = code
            delivery.last_error = error
            delivery.batch_id = batch_id
            if not error:
                delivery.status = EventDelivery.Status.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
            elif now - delivery.created_at >= window:
                gave_up = True
                delivery.status = EventDelivery.Status.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=retry_backoff(delivery.attempts))
        EventDelivery.objects.for_workspace(workspace_id).bulk_update(
            rows,
            [
                "attempts",
                "response_code",
                "last_error",
                "batch_id",
                "status",
                "delivered_at",
                "next_attempt_at",
            ],
        )
        if not error and webhook.failing_since is not None:
            EventWebhook.objects.unscoped().filter(pk=webhook.pk).update(failing_since=None)
        elif error:
            _failure_note(webhook, now, window, gave_up=gave_up)
    return not error


def _failure_note(webhook: EventWebhook, now, window: timedelta, *, gave_up: bool) -> None:
    """Remembers since when the URL fails; failing for the whole retry window (a delivery given up
    after failing since then, or the failures lasting that long) disables the webhook."""
    if webhook.failing_since is None:
        EventWebhook.objects.unscoped().filter(pk=webhook.pk, failing_since__isnull=True).update(
            failing_since=now
        )
    elif gave_up or now - webhook.failing_since >= window:
        disabled = EventWebhook.objects.unscoped().filter(pk=webhook.pk, enabled=True).update(
            enabled=False,
            disabled_reason=f"Every delivery failed since {webhook.failing_since.isoformat()}.",
        )
        logger.info(
            "event webhook %s disabled after failing since %s", webhook.pk, webhook.failing_since
        )
        if disabled:  # only the attempt that turned it off tells the owners
            transaction.on_commit(lambda: _owners_told_disabled(webhook))


def _owners_told_disabled(webhook: EventWebhook) -> None:
    """Emails the workspace's owners that their webhook stopped, and why; a mail failure is
    logged, never raised into the delivery task."""
    owners = list(
        Membership.objects.filter(workspace_id=webhook.workspace_id, role=Role.OWNER)
        .values_list("user__email", flat=True)
    )
    if not owners:
        return
    try:
        send_mail(
            subject=f"Waymark stopped your event webhook to {webhook.url[:80]}",
            message=(
                f"Every delivery to {webhook.url} has failed since "
                f"{webhook.failing_since:%Y-%m-%d %H:%M} UTC, so Waymark disabled the webhook and "
                "keeps no further events for it.\n\nFix the receiver, then enable the webhook again "
                f"(PATCH /api/v1/event-webhooks/{webhook.pk} with \"enabled\": true); "
                "its delivery log shows the last answers."
            ),
            from_email=None,
            recipient_list=owners,
        )
    except Exception:
        logger.exception("event webhook %s: the owners could not be emailed", webhook.pk)
