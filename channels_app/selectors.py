"""Reads for channels: configs, message lists with filters, a customer's inbox."""

from __future__ import annotations

from django.db import connection
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


def web_push_config(*, workspace: Workspace) -> ChannelConfig | None:
    """The Web Push channel a site's browsers subscribe to: the default push channel when it is
    Web Push, else the oldest Web Push channel."""
    configs = ChannelConfig.objects.for_workspace(workspace).filter(channel="push", provider="webpush")
    return configs.order_by("-is_default", "pk").first()


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


# A message node's messages grouped by the variant each recorded, in one pass. A conversion of
# `goal` is a sent message that was opened/clicked ("opened"/"clicked") or whose enrollment
# converted that journey goal ("" : any of the journey's goals).
_VARIANT_COUNTS = """
SELECT m.variant,
       count(*) FILTER (WHERE m.sent_at IS NOT NULL),
       count(*) FILTER (WHERE m.delivered_at IS NOT NULL),
       count(*) FILTER (WHERE m.opened_at IS NOT NULL),
       count(*) FILTER (WHERE m.clicked_at IS NOT NULL),
       count(*) FILTER (WHERE m.sent_at IS NOT NULL AND CASE %(goal)s::text
           WHEN 'opened' THEN m.opened_at IS NOT NULL
           WHEN 'clicked' THEN m.clicked_at IS NOT NULL
           WHEN '' THEN coalesce(e.goals, '[]'::jsonb) <> '[]'::jsonb
           ELSE coalesce(e.goals, '[]'::jsonb) @> jsonb_build_array(jsonb_build_object('id', %(goal)s::text))
       END)
FROM channels_app_message m LEFT JOIN journeys_enrollment e ON e.id = m.enrollment_id
WHERE m.workspace_id = %(ws)s AND m.journey_id = %(journey)s AND m.node_id = %(node)s
  AND m.variant IS NOT NULL AND (%(version)s::int IS NULL OR m.version = %(version)s::int)
GROUP BY m.variant
"""


def message_variant_counts(
    *, workspace_id: int, journey_id: int, node_id: str, goal_id: str = "", version: int | None = None
) -> dict[str, tuple[int, int, int, int, int]]:
    """Variant id → (sent, delivered, opened, clicked, conversions of `goal_id`) of a message node
    (`version` a version number, or every version)."""
    with connection.cursor() as cursor:
        cursor.execute(_VARIANT_COUNTS, {"ws": workspace_id, "journey": journey_id, "node": node_id,
                                         "goal": goal_id or "", "version": version})
        return {row[0]: tuple(int(n) for n in row[1:]) for row in cursor.fetchall()}


def variant_experiment_counts(*, journey, node_id: str, goal_id: str) -> dict[str, tuple[int, int]]:
    """A message experiment's arms for journeys.experiments: variant → (sent, converted)."""
    counts = message_variant_counts(workspace_id=journey.workspace_id, journey_id=journey.id,
                                    node_id=node_id, goal_id=goal_id)
    return {variant: (row[0], row[4]) for variant, row in counts.items()}
