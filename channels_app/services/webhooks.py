"""Webhook node calls: the call row created once per step, one guarded attempt at a time with
retries and backoff, the JSON answer stored on the customer (save_as), and the journey woken."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audiences.models import Customer

from ..models import WebhookCall
from .enqueue import webhook_call_enqueue


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

    from ..guard import OutboundBlocked, guarded_request

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
