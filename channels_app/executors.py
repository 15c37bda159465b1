"""The message and webhook executors against the engine's contract (journeys/engine/): the
message node prepares a Message and waits for its send's signal (then, with `await`, for the
awaited receipt); the webhook node renders its request and waits for the call's signal."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import templating
from journeys.fields import duration_seconds
from journeys.models import JourneyVersion
from journeys.nodes.base import Next, Result, Wait
from workspaces.models import Workspace

from . import services
from .models import Message, WebhookCall
from .services.consent import MARKETING

# A send not confirmed within this long is looked at again (a lost task or signal): re-enqueued
# while queued, resolved from the row otherwise. Journeys are never stuck on a lost signal.
SEND_CHECK_AFTER = timedelta(minutes=10)
WEBHOOK_MARGIN_SECONDS = 120


def _workspace(ctx) -> Workspace:
    workspace = getattr(ctx, "_channels_workspace", None)
    if workspace is None:
        workspace = Workspace.objects.get(pk=ctx.workspace_id)
        ctx._channels_workspace = workspace
    return workspace


@lru_cache(maxsize=4096)
def _version_number(version_id: int) -> int | None:
    # Versions are immutable, so each process looks each one up once.
    return (
        JourneyVersion.objects.unscoped()
        .filter(pk=version_id)
        .values_list("number", flat=True)
        .first()
    )


def message_execute(ctx, node_type=None) -> Result:
    config = ctx.config
    outcome = services.message_prepare(
        step=services.MessageStep(
            workspace=_workspace(ctx),
            customer=ctx.customer,
            config=config,
            journey_id=ctx.journey_id,
            journey_name=ctx.journey_name,
            version_number=_version_number(ctx.version.id),
            node_id=ctx.node_id,
            enrollment_id=ctx.enrollment.id,
            step_seq=ctx.step_seq,
            journey_settings=ctx.settings,
            event=ctx.event,
            simulate=ctx.simulate,
            now=ctx.now,
            key=getattr(ctx.enrollment, "key", ""),
            simulated_sends=_simulated_sends(ctx) if ctx.simulate else (),
        )
    )
    awaited = config.get("await")
    if outcome.kind == "simulated":
        ctx.note(
            message={
                "channel": config.get("channel"),
                "category": config.get("category") or MARKETING,
                "content": outcome.rendered,
                "error": outcome.reason,
            }
        )
        if outcome.reason:
            ctx.note(reason=outcome.reason)
            return Next("failed")
        return Next("yes" if awaited else "next")
    if outcome.kind == "failed":
        ctx.note(message_id=outcome.message.pk if outcome.message else None, reason=outcome.reason)
        return Next("failed")
    if outcome.kind == "defer":  # quiet hours, or a frequency count another worker holds
        ctx.note(reason=outcome.reason or "quiet_hours")
        return Wait(until=outcome.until, data={"quiet_hours": True})
    message = outcome.message
    if message.status == Message.Status.QUEUED:
        ctx.on_commit(
            lambda: services.messages_enqueue(
                message_ids=[message.pk], workspace_id=message.workspace_id
            )
        )
    ctx.note(message_id=message.pk)
    return _after_send(ctx, message, wake_kind=None)


def _simulated_sends(ctx) -> tuple:
    """When the simulated path's earlier marketing messages went out (not the failed ones)."""
    return tuple(
        step["at"]
        for step in ctx.simulated_steps()
        if (sent := step["data"].get("message"))
        and not sent.get("error")
        and sent.get("category") == MARKETING
    )


def _after_send(ctx, message: Message, *, wake_kind: str | None) -> Result:
    """Where a message's node goes given the message row as it is now."""
    awaited = ctx.config.get("await") or {}
    if message.status in services.FINAL_FAILURES:
        ctx.note(message_id=message.pk, reason=message.error)
        return Next("failed")
    if message.status == Message.Status.QUEUED:
        if wake_kind == "timer":  # the send is overdue: its task or signal was lost
            services.messages_enqueue(message_ids=[message.pk], workspace_id=message.workspace_id)
        return Wait(
            until=ctx.now + SEND_CHECK_AFTER, data={"message_id": message.pk, "phase": "send"}
        )
    if not awaited:
        return Next("next")
    if services.awaited_reached(message, awaited["status"]):
        return Next("yes")
    until = (message.sent_at or ctx.now) + timedelta(seconds=duration_seconds(awaited["within"]))
    if until <= ctx.now:
        return Next("no")
    return Wait(
        until=until, data={"message_id": message.pk, "phase": "await", "until": until.isoformat()}
    )


def message_resume(ctx, wake) -> Result:
    data = ctx.wait_data or {}
    if data.get("quiet_hours"):
        if wake.kind != "timer":
            return Wait(until=ctx.enrollment.wake_at, data=data)
        return message_execute(ctx)
    message = (
        Message.objects.for_workspace(ctx.workspace_id).filter(pk=data.get("message_id")).first()
    )
    if message is None:
        ctx.note(reason="message_missing")
        return Next("failed")
    if data.get("phase") == "await" and message.status not in services.FINAL_FAILURES:
        awaited = ctx.config["await"]["status"]
        if services.awaited_reached(message, awaited):
            return Next("yes")
        if wake.kind == "timer":
            return Next("no")
        return Wait(until=ctx.enrollment.wake_at, data=data)
    return _after_send(ctx, message, wake_kind=wake.kind)


# ---- Webhook -------------------------------------------------------------------------------
def webhook_execute(ctx) -> Result:
    config = ctx.config
    context = ctx.liquid_context()
    try:
        request = {
            "method": config.get("method", "POST"),
            "url": templating.render_string(config["url"], context, field="url"),
            "headers": templating.render_value(
                config.get("headers") or {}, context, field="headers"
            ),
            "body": templating.render_value(config.get("body"), context, field="body"),
            "timeout_seconds": float(config.get("timeout_seconds") or 10),
            "retries": int(config.get("retries") if config.get("retries") is not None else 2),
            "save_as": config.get("save_as") or "",
        }
    except templating.RenderError as exc:
        ctx.note(reason="render_error", error=exc.message, field=exc.field)
        return Next("failed")
    if ctx.simulate:
        ctx.note(webhook={k: request[k] for k in ("method", "url", "headers", "body")})
        return Next("next")
    call = services.webhook_call_prepare(
        workspace_id=ctx.workspace_id,
        enrollment_id=ctx.enrollment.id,
        step_seq=ctx.step_seq,
        customer_id=ctx.customer.id,
        node_id=ctx.node_id,
        request=request,
    )
    if call.status != WebhookCall.Status.PENDING:  # finished before (a re-run of this visit)
        ctx.note(status_code=call.status_code, error=call.error)
        return Next("next" if call.status == WebhookCall.Status.OK else "failed")
    ctx.on_commit(lambda: services.webhook_call_enqueue(call=call))
    # The longest the call can take with every retry and backoff; then it counts as failed.
    budget = request["timeout_seconds"] * (request["retries"] + 1) + sum(
        services.webhook_backoff(i) for i in range(request["retries"])
    )
    return Wait(
        until=ctx.now + timedelta(seconds=budget + WEBHOOK_MARGIN_SECONDS), data={"webhook": True}
    )


def webhook_resume(ctx, wake) -> Result:
    if wake.kind == "signal" and "webhook" in wake.payload:
        ctx.note(status_code=wake.payload.get("status_code"), error=wake.payload.get("error", ""))
        return Next("next" if wake.payload["webhook"] == "ok" else "failed")
    if wake.kind == "timer":
        ctx.note(reason="webhook_timeout")
        return Next("failed")
    return Wait(until=ctx.enrollment.wake_at, data=ctx.wait_data)
