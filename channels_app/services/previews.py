"""Previews and test sends: content rendered and limit-checked for a person (400 on a problem),
and one synchronous send through a channel config outside any journey."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

import templating
from audiences.models import Customer
from audiences.normalize import FieldError, phone_clean
from workspaces.errors import ServiceValidationError
from workspaces.models import Workspace

from .. import kakao, locales, rendering
from ..models import ChannelConfig, Message
from . import wallet_passes
from .links import link_variables
from .sending import messages_send


def _raise_render(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise ServiceValidationError({"content": {f or "content": [m] for f, m in problems}})


def content_render_checked(
    *,
    channel: str,
    content: Any,
    context: dict,
    workspace_settings: dict | None,
    locale: str | None = None,
) -> dict:
    """Validated, rendered and limit-checked content (the variant `locale` picks), or a 400
    naming the field and position."""
    _raise_render(locales.content_errors(channel, content))
    _, content = locales.content_for_locale(channel, content, locale)
    try:
        rendered = rendering.content_render(channel, content, context)
    except templating.RenderError as exc:
        raise ServiceValidationError({"content": {exc.field: [exc.message]}}) from exc
    _raise_render(rendering.rendered_errors(channel, rendered, workspace_settings))
    return with_metadata(channel, rendered)


def with_metadata(channel: str, rendered: dict) -> dict:
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
    event: dict | None = None,
    locale: str | None = None,
) -> dict:
    """The content as `customer` (or `attributes`) would get it after a trigger event with
    `event`'s properties, in `locale` when given, else in the customer's own locale (attributes'
    `locale` for a preview without a customer)."""
    context = templating.liquid_context(
        customer=customer if customer is not None else (attributes or {}), event=event
    )
    context.update(link_variables(None, workspace))  # sample links: no message to sign for
    try:  # sample pass links, once the wallet channel has the templates named
        context.update(
            wallet_passes.wallet_variables(
                workspace=workspace, customer=customer, content=content, preview=True
            )
        )
    except templating.RenderError as exc:
        raise ServiceValidationError({"content": {exc.field: [exc.message]}}) from exc
    if locale is None:
        locale = customer.locale if customer is not None else str((attributes or {}).get("locale") or "")
    rendered = content_render_checked(
        channel=channel,
        content=content,
        context=context,
        workspace_settings=workspace.settings,
        locale=locale,
    )
    if channel == kakao.ALIMTALK:  # the preview only: gateways get the content as written
        rendered.update(kakao.metadata(rendered))
    return rendered


def channel_test_send(*, config: ChannelConfig, to: str, content: Any) -> Message:
    """Sends one message synchronously (no journey) and returns it with its outcome."""
    workspace = Workspace.objects.get(pk=config.workspace_id)
    if config.channel == "wallet":
        return _wallet_test_issue(config=config, workspace=workspace, to=to, content=content)
    if config.channel in kakao.CHANNELS or config.provider in kakao.DEALERS:
        # A number as people type it ("010-1234-5678"), read in the workspace's default country
        # as a customer's phone is; the provider then gives the dealer its national form.
        try:
            to = phone_clean(to, workspace.default_country) or to
        except FieldError as exc:
            raise ServiceValidationError({"to": [str(exc)]}) from exc
    rendered = content_render_checked(
        channel=config.channel,
        content=content,
        context=templating.liquid_context(customer={}),
        workspace_settings=workspace.settings,
    )
    targets: list = [to]
    if config.channel == "push":
        platforms = rendered.get("platforms") or ["android"]
        if config.provider == "webpush":  # its address is a browser subscription
            platforms = ["web"]
        elif config.provider == "apns":  # its address is an iOS device token
            platforms = ["ios"]
        targets = [{"platform": platforms[0], "token": to}]
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


WALLET_LINKS = {"apple_wallet": "apple_url", "google_wallet": "google_url"}


def _wallet_test_issue(
    *, config: ChannelConfig, workspace: Workspace, to: str, content: Any
) -> Message:
    """A wallet channel sends nothing itself: its test issues the pass of one template
    (`content.template`, else the first) to the customer whose external id is `to`, and records
    the link a message would carry to them as a sent message."""
    customer = Customer.objects.for_workspace(workspace).filter(external_id=to).first()
    if customer is None:
        raise ServiceValidationError({"to": [f"No customer with the id {to!r}."]})
    passes = config.settings.get("passes") or {}
    asked = content.get("template") if isinstance(content, dict) else None
    key = asked or next(iter(passes), "")
    if key not in passes:
        raise ServiceValidationError({"content": {"template": [f"No pass template {key!r}."]}})
    kind = WALLET_LINKS.get(config.provider)
    if kind is None:
        raise ServiceValidationError({"provider": ["This wallet provider issues no links."]})
    try:
        link = wallet_passes._link(kind, workspace, customer, config, key)  # noqa: SLF001
    except (templating.RenderError, KeyError, ValueError) as exc:
        raise ServiceValidationError({"content": {"template": [str(exc)]}}) from exc
    now = timezone.now()
    return Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel=config.channel,
        channel_config=config,
        provider=config.provider,
        to=to,
        targets=[to],
        content={"template": key, "url": link},
        status=Message.Status.SENT,
        sent_at=now,
    )
