"""A person's own choices, reached from a message's signed links: one-click unsubscribe (RFC
8058) and the preference page's topics and channels. Every opt-out is also stored as a
`customer.unsubscribed` event, so journeys can exit or branch on it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audiences.models import Customer
from audiences.services import events_ingest
from audiences.topics import subscriptions_merge, topic_subscribed, topics_list
from workspaces.models import Workspace

from ..models import ChannelConfig, Message

UNSUBSCRIBED_EVENT = "customer.unsubscribed"


@dataclass(frozen=True)
class Choice:
    key: str
    label: str
    description: str
    on: bool


@dataclass(frozen=True)
class Preferences:
    """What the preference page shows for the customer a message went to."""

    workspace: Workspace
    customer: Customer
    message: Message
    topics: list[Choice]
    channels: list[Choice]


def _customer(message: Message, *, lock: bool = False) -> Customer | None:
    if message.customer_id is None:
        return None
    customers = Customer.objects.for_workspace(message.workspace_id).filter(pk=message.customer_id)
    return (customers.select_for_update(no_key=True) if lock else customers).first()


def _shown_channels(message: Message, customer: Customer) -> list[str]:
    """Channels the workspace sends on, any the customer already left, and the one this message
    came by (its channel may since have been removed; the person can still leave it)."""
    configured = set(
        ChannelConfig.objects.for_workspace(message.workspace_id).values_list("channel", flat=True)
    )
    return sorted(configured | set(customer.unsubscribed or []) | {message.channel})


def preferences_for(*, message: Message) -> Preferences | None:
    customer = _customer(message)
    if customer is None:
        return None
    workspace = Workspace.objects.get(pk=message.workspace_id)
    topics = [
        Choice(t.key, t.name, t.description, topic_subscribed(customer=customer, topic=t, topic_key=t.key))
        for t in topics_list(workspace=workspace)
    ]
    channels = [
        Choice(c, c, "", c not in (customer.unsubscribed or []))
        for c in _shown_channels(message, customer)
    ]
    return Preferences(workspace, customer, message, topics, channels)


def _raise_unsubscribed(customer: Customer, workspace_id: int, opt_outs: list[dict], source: str, message: Message):
    """One `customer.unsubscribed` event per opt-out, stored after the choice commits."""
    if not opt_outs:
        return
    events = [
        {
            "customer_id": customer.external_id,
            "name": UNSUBSCRIBED_EVENT,
            "properties": {**opt_out, "source": source, "message_id": message.pk},
        }
        for opt_out in opt_outs
    ]
    workspace = Workspace.objects.get(pk=workspace_id)
    transaction.on_commit(lambda: events_ingest(workspace=workspace, events=events))


def customer_unsubscribe(*, message: Message) -> None:
    """One-click (List-Unsubscribe-Post, RFC 8058) and the page's unsubscribe button: out of the
    message's topic when it had one, else out of its channel."""
    with transaction.atomic():
        customer = _customer(message, lock=True)
        if customer is None:
            return
        opt_outs: list[dict] = []
        if message.topic:
            # Stored as an explicit choice even where the topic's default is already "out".
            if (customer.subscriptions or {}).get(message.topic) is not False:
                customer.subscriptions = subscriptions_merge(customer.subscriptions, {message.topic: False})
                opt_outs.append({"topic": message.topic, "channel": message.channel})
        elif message.channel not in (customer.unsubscribed or []):
            customer.unsubscribed = sorted({*(customer.unsubscribed or []), message.channel})
            opt_outs.append({"channel": message.channel})
        if opt_outs:
            customer.updated_at = timezone.now()
            customer.save(update_fields=["subscriptions", "unsubscribed", "updated_at"])
        _raise_unsubscribed(customer, message.workspace_id, opt_outs, "one_click", message)


def preferences_save(
    *,
    message: Message,
    topics_shown: list[str],
    topics_on: set[str],
    channels_shown: list[str],
    channels_on: set[str],
) -> Preferences | None:
    """The page's form: each topic and channel it showed is on when ticked, off otherwise.
    Names the page did not show (or that are no longer topics or channels) are ignored."""
    with transaction.atomic():
        customer = _customer(message, lock=True)
        if customer is None:
            return None
        known_topics = {t.key: t for t in topics_list(workspace=message.workspace_id)}
        allowed_channels = set(_shown_channels(message, customer))
        opt_outs: list[dict] = []
        choices: dict[str, bool | None] = {}
        for key in dict.fromkeys(topics_shown):
            if key not in known_topics:
                continue
            was = topic_subscribed(customer=customer, topic=known_topics[key], topic_key=key)
            choices[key] = key in topics_on
            if was and not choices[key]:
                opt_outs.append({"topic": key})
        unsubscribed = set(customer.unsubscribed or [])
        for channel in dict.fromkeys(channels_shown):
            if channel not in allowed_channels:
                continue
            if channel in channels_on:
                unsubscribed.discard(channel)
            elif channel not in unsubscribed:
                unsubscribed.add(channel)
                opt_outs.append({"channel": channel})
        customer.subscriptions = subscriptions_merge(customer.subscriptions, choices)
        customer.unsubscribed = sorted(unsubscribed)
        customer.updated_at = timezone.now()
        customer.save(update_fields=["subscriptions", "unsubscribed", "updated_at"])
        _raise_unsubscribed(customer, message.workspace_id, opt_outs, "preferences", message)
    return preferences_for(message=message)
