"""A journey step's message: address, consent, frequency cap, quiet hours and rendering decided
synchronously, and the Message created once per (enrollment, step_seq)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.utils import timezone

import templating
from audiences.models import Customer
from journeys.engine import stable_bucket
from journeys.experiments import experiment_winner
from workspaces.models import Workspace

from .. import kakao, locales, rendering
from ..models import DeliveryEvent, Message
from . import consent, links, suppressions, wallet_passes
from .channels import channel_config_resolve
from .previews import with_metadata


@dataclass(frozen=True, slots=True)
class MessageStep:
    """One visit of a message node: the node's config, whom it is for, and where in which journey
    (a test send or simulation leaves the journey fields empty). `now` defaults to the clock."""

    workspace: Workspace
    customer: Customer
    config: dict
    node_id: str
    journey_id: int | None = None
    journey_name: str = ""
    version_number: int | None = None
    enrollment_id: int | None = None
    step_seq: int | None = None
    journey_settings: dict | None = None
    event: dict | None = None
    simulate: bool = False
    now: datetime | None = None
    key: str = ""  # a keyed journey's pass key (Liquid `enrollment.key`, Message.key)
    # Simulation: when the path's earlier marketing messages went out (they are written nowhere,
    # so the frequency cap counts them from here).
    simulated_sends: tuple[datetime, ...] = ()


@dataclass
class StepOutcome:
    """What the message node should do: `failed` (reason on a failed Message), `defer` until a
    time (quiet hours), `queued` (a Message to send; wait for its signal), or `simulated`
    (rendered only). Holdout customers never get here: the engine passes them on."""

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


def variant_pick(step: MessageStep) -> dict | None:
    """The node's variant for this customer: its experiment's winner once decided, else by percent
    and sticky, as a split path is (the same customer gets the same variant of this node on every
    visit); None without variants."""
    variants = step.config.get("variants")
    if not variants:
        return None
    if step.config.get("experiment") and step.journey_id is not None:
        winner = experiment_winner(journey_id=step.journey_id, node_id=step.node_id)
        decided = next((v for v in variants if v["id"] == winner), None)
        if decided is not None:  # the experiment is decided: every later send is the winner
            return decided
    key = step.customer.pk if step.customer.pk is not None else step.customer.external_id
    bucket = stable_bucket("variant", step.journey_id, step.node_id, key)
    edge = 0
    for variant in variants:
        edge += variant["percent"] * 100
        if bucket < edge:
            return variant
    return variants[-1]


def message_prepare(*, step: MessageStep) -> StepOutcome:
    """Everything the message node decides synchronously. Creates the Message idempotently: a
    retried step (same enrollment and step_seq) returns the message it created the first time."""
    now = step.now or timezone.now()
    workspace, customer, config = step.workspace, step.customer, step.config
    journey_settings = step.journey_settings or {}
    channel = config["channel"]
    category = config.get("category") or consent.MARKETING
    topic_key = config.get("topic") or ""
    context = templating.liquid_context(
        customer=customer,
        event=step.event,
        journey={"id": step.journey_id, "name": step.journey_name},
        enrollment={"key": step.key},
    )
    variant = variant_pick(step)
    chosen = variant["content"] if variant else config.get("content")
    locale, content = locales.content_for_locale(channel, chosen or {}, customer.locale)
    message_id = None
    if not step.simulate and links.mentions_links(content):
        # The links are signed for this message, so its id is taken before it is rendered.
        message_id = links.message_id_reserve()
    context.update(links.link_variables(message_id, workspace))
    try:
        context.update(
            wallet_passes.wallet_variables(
                workspace=workspace, customer=customer, content=content, preview=step.simulate
            )
        )
        rendered = rendering.content_render(channel, content, context)
        render_problems = rendering.rendered_errors(channel, rendered, workspace.settings)
    except templating.RenderError as exc:
        rendered, render_problems = {}, [(exc.field, exc.message)]
    rendered = with_metadata(channel, rendered)
    if step.enrollment_id is not None and not step.simulate:
        existing = (
            Message.objects.for_workspace(workspace)
            .filter(enrollment_id=step.enrollment_id, step_seq=step.step_seq)
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
    marketing = category == consent.MARKETING
    reason, detail = "", ""
    if channel_config is None and channel != "in_app":
        reason = "no_channel_configured"
    elif marketing and consent.opted_out(
        workspace=workspace, customer=customer, channel=channel, topic_key=topic_key
    ):
        reason = "unsubscribed"
    elif not targets:
        reason = "no_push_token" if channel == "push" else "no_address"
    elif channel == "email" and suppressions.address_suppressed(
        workspace_id=workspace.pk, channel=channel, address=to
    ):
        reason = "undeliverable"  # it bounced or complained before (any category)
    elif render_problems:
        reason, detail = "content_invalid", "; ".join(f"{f}: {m}" for f, m in render_problems)
    elif marketing:
        until = consent.quiet_until(
            workspace=workspace,
            journey_settings=journey_settings,
            zone=_customer_zone(customer, workspace.timezone),
            now=now,
        )
        ad_settings = channel_config.settings if channel_config else None
        if until is None and kakao.is_ad(channel, rendered, ad_settings):
            until = kakao.ad_ban_until(now)  # Korea: no ads 20:00–08:00 KST
        if until is not None:
            return StepOutcome(kind="defer", until=until, reason="quiet_hours")
    if step.simulate:  # the same preconditions as a real send; nothing is written
        if reason == "content_invalid":
            reason = render_problems[0][1]
        elif not reason and marketing:
            capped = consent.frequency_capped(
                workspace=workspace,
                customer_id=customer.pk,
                journey_id=step.journey_id,
                journey_cap=journey_settings.get("frequency_cap"),
                now=now,
                unsaved=step.simulated_sends,
            )
            reason = "frequency_capped" if capped else ""
        return StepOutcome(kind="simulated", rendered=rendered, reason=reason)

    awaited = config.get("await")
    message = Message(
        id=message_id,
        workspace=workspace,
        customer=customer,
        enrollment_id=step.enrollment_id,
        step_seq=step.step_seq,
        journey_id=step.journey_id,
        version=step.version_number,
        node_id=step.node_id,
        key=step.key,
        channel_config=channel_config,
        channel=channel,
        provider=channel_config.provider
        if channel_config
        else ("in_app" if channel == "in_app" else ""),
        to=to,
        targets=targets,
        content=rendered,
        category=category,
        topic=topic_key,
        locale=locale,
        variant=variant["id"] if variant else None,
        status=Message.Status.FAILED if reason else Message.Status.QUEUED,
        error=reason,
        error_detail=detail[:2000],
        failed_at=now if reason else None,
        awaiting={"status": awaited["status"]} if awaited and not reason else None,
        created_at=now,
    )
    try:
        with transaction.atomic():
            # Counted and created in one transaction, under the customer's lock (consent.py).
            if (
                marketing
                and not reason
                and consent.frequency_capped_locked(
                    workspace=workspace,
                    customer_id=customer.pk,
                    journey_id=step.journey_id,
                    journey_cap=journey_settings.get("frequency_cap"),
                    now=now,
                )
            ):
                reason = "frequency_capped"
                message.status, message.error, message.failed_at = Message.Status.FAILED, reason, now
                message.awaiting = None
            message.save(force_insert=True)
            DeliveryEvent.objects.for_workspace(workspace).create(
                workspace=workspace,
                message=message,
                status=message.status,
                source="journey",
                at=now,
                data={"reason": reason} if reason else {},
            )
    except consent.CapBusy:
        # Nothing was written (the savepoint rolled back): the step comes back shortly.
        return StepOutcome(kind="defer", until=now + consent.CAP_BUSY_RETRY, reason="frequency_cap_busy")
    except IntegrityError:
        # A concurrent run of the same step won the unique key: use its message.
        message = Message.objects.for_workspace(workspace).get(
            enrollment_id=step.enrollment_id, step_seq=step.step_seq
        )
        reason = message.error if message.status == Message.Status.FAILED else ""
    if reason:
        return StepOutcome(kind="failed", message=message, reason=reason)
    wallet_passes.wallet_passes_linked(message=message, content=content)
    # The caller enqueues the send after its commit (the engine: ctx.on_commit).
    return StepOutcome(kind="queued", message=message)
