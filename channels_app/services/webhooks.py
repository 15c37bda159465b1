"""Webhook node calls: the call row created once per step, one guarded attempt at a time with
retries and backoff, the JSON answer stored on the customer (save_as), and the journey woken."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audiences.models import Customer
from audiences.services import MAX_ATTRIBUTES_BYTES

from ..guard import DeadlineExceeded, OutboundBlocked, ResponseTooLarge, guarded_request
from ..models import WebhookCall
from ..outbound_slots import outbound_slot, slot_retry_seconds
from .enqueue import webhook_attempt_enqueue, webhook_call_enqueue


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
    """One guarded attempt: 2xx is success; network errors, 429 and 5xx are worth retrying. The
    whole call ends within `timeout_seconds`; the answer's body is read only when it is to be
    stored (save_as), and then no further than a customer's attribute cap."""
    import httpx

    body = request.get("body")
    kwargs: dict[str, Any] = {"headers": request.get("headers") or {}}
    if body not in (None, "") and request["method"] != "GET":
        if isinstance(body, str):
            kwargs["content"] = body.encode()
        else:
            kwargs["json"] = body
    try:
        response = guarded_request(
            request["method"],
            request["url"],
            timeout=request["timeout_seconds"],
            max_body=MAX_ATTRIBUTES_BYTES,
            read_body=bool(request.get("save_as")),
            **kwargs,
        )
    except OutboundBlocked as exc:
        return WebhookOutcome(ok=False, error=f"outbound_blocked: {exc}")
    except ResponseTooLarge as exc:
        return WebhookOutcome(
            ok=False, error=f"response_too_large: {exc} (save_as keeps at most 64 KiB)"
        )
    except DeadlineExceeded as exc:
        return WebhookOutcome(ok=False, error=f"timeout: {exc}", retryable=True)
    except httpx.HTTPError as exc:
        return WebhookOutcome(
            ok=False, error=f"{exc.__class__.__name__}: {exc}"[:255], retryable=True
        )
    if response.is_success:
        parsed = None
        if request.get("save_as"):
            try:
                parsed = response.json()
            except ValueError:
                pass
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


def webhook_call_attempt(
    *, call_id: int, workspace_id: int, attempt: int, slot_waits: int = 0
) -> WebhookOutcome | None:
    """Makes attempt `attempt` (0-based) of a pending call, at most once: the row is locked (SKIP
    LOCKED) for the request and must still be pending with exactly `attempt` attempts made, so a
    redelivered or duplicate task finds it finished, moved on or in progress and does nothing.
    A retryable failure with retries left counts the attempt and schedules the next (backoff);
    anything else finishes the call, stores the JSON response on the customer (save_as) and
    signals the waiting enrollment, all in one transaction. Returns None when nothing finished.
    The attempt runs in one of the workspace's outbound slots; with none free it is queued again
    shortly, unchanged, so one tenant's slow targets wait for each other, not for other tenants."""
    with outbound_slot(workspace_id=workspace_id) as granted:
        if not granted:
            webhook_attempt_enqueue(
                call_id=call_id,
                workspace_id=workspace_id,
                attempt=attempt,
                countdown=slot_retry_seconds(slot_waits),
                slot_waits=slot_waits + 1,
            )
            return None
        return _attempt(call_id=call_id, workspace_id=workspace_id, attempt=attempt)


def _attempt(*, call_id: int, workspace_id: int, attempt: int) -> WebhookOutcome | None:
    from journeys.dispatch import signal

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
        if outcome.ok and request.get("save_as") and outcome.body is not None:
            refused = _customer_attribute_set(
                workspace_id=workspace_id,
                customer_id=call.customer_id,
                name=request["save_as"],
                value=outcome.body,
            )
            if refused:
                outcome = WebhookOutcome(ok=False, status_code=outcome.status_code, error=refused)
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


def _customer_attribute_set(
    *, workspace_id: int, customer_id: int, name: str, value: Any
) -> str | None:
    """Stores `value` as attribute `name`, or refuses (the reason) when the customer's attributes
    would pass the cap every other write keeps (audiences.services.MAX_ATTRIBUTES_BYTES)."""
    customer = (
        Customer.objects.for_workspace(workspace_id)
        .select_for_update()
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        return None
    attributes = {**(customer.attributes or {}), name: value}
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        return (
            f"save_as: the answer would make the customer's attributes larger than "
            f"{MAX_ATTRIBUTES_BYTES // 1024} KiB; not stored"
        )
    customer.attributes = attributes
    customer.updated_at = timezone.now()
    customer.save(update_fields=["attributes", "updated_at"])
    return None
