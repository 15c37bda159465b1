"""Reads for channels: configs, message lists with filters, a customer's inbox."""

from __future__ import annotations

from django.db.models import QuerySet

from audiences.models import Customer
from workspaces.models import Workspace

from .models import ChannelConfig, Message


def channel_configs(*, workspace: Workspace) -> QuerySet[ChannelConfig]:
    return ChannelConfig.objects.for_workspace(workspace)


def messages_filter(*, queryset: QuerySet[Message], params) -> QuerySet[Message]:
    """GET /messages filters: journey_id, customer_id (external id), node_id, status, channel."""
    if params.get("journey_id"):
        queryset = queryset.filter(journey_id=params["journey_id"])
    if params.get("customer_id"):
        queryset = queryset.filter(customer__external_id=params["customer_id"])
    if params.get("node_id"):
        queryset = queryset.filter(node_id=params["node_id"])
    if params.get("status"):
        queryset = queryset.filter(status=params["status"])
    if params.get("channel"):
        queryset = queryset.filter(channel=params["channel"])
    return queryset.select_related("customer")


def customer_by_external_id(*, workspace: Workspace, external_id: str) -> Customer | None:
    return Customer.objects.for_workspace(workspace).filter(external_id=external_id).first()


def inbox(*, workspace: Workspace, customer: Customer) -> QuerySet[Message]:
    return (
        Message.objects.for_workspace(workspace)
        .filter(customer=customer, channel="in_app")
        .exclude(status=Message.Status.FAILED)
    )


def message_by_provider_id(*, workspace_id: int, provider_message_id: str) -> Message | None:
    if not provider_message_id:
        return None
    return (
        Message.objects.for_workspace(workspace_id)
        .filter(provider_message_id=provider_message_id)
        .first()
    )


def message_latest_sent_to(*, workspace_id: int, channel_config_id: int, to: str) -> Message | None:
    """The newest message this channel sent to `to`: what an inbound reply (RBM carries no
    reference to the message it answers) is a reply to."""
    if not to:
        return None
    return (
        Message.objects.for_workspace(workspace_id)
        .filter(channel_config_id=channel_config_id, to=to, sent_at__isnull=False)
        .order_by("-sent_at", "-id")
        .first()
    )
