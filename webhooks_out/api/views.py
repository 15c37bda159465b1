"""The /event-webhooks endpoints: owners register, change, test and watch their webhooks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from workspaces.models import Role
from workspaces.viewsets import WorkspaceViewSet

from .. import services
from ..models import EVENT_TYPE_DESCRIPTIONS, EventDelivery, EventWebhook
from .serializers import (
    EventDeliverySerializer,
    EventTypeSerializer,
    EventWebhookCreatedSerializer,
    EventWebhookSerializer,
    EventWebhookWriteSerializer,
)


class EventWebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Owners only: a webhook sends the workspace's customer data to a URL of their choosing."""

    model = EventWebhook
    serializer_class = EventWebhookSerializer
    read_role = Role.OWNER
    write_role = Role.OWNER

    def scope_queryset(self, queryset):
        return queryset.order_by("-id")

    @extend_schema(
        request=EventWebhookWriteSerializer, responses={201: EventWebhookCreatedSerializer}
    )
    def create(self, request):
        params = EventWebhookWriteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        webhook, secret = services.event_webhook_create(
            workspace=self.workspace, **params.validated_data
        )
        webhook.secret = secret
        return Response(EventWebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EventWebhookWriteSerializer, responses={200: EventWebhookSerializer})
    def partial_update(self, request, pk=None):
        webhook = self.get_object()
        params = EventWebhookWriteSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        webhook = services.event_webhook_update(webhook=webhook, **params.validated_data)
        return Response(EventWebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: EventDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def test(self, request, pk=None):
        delivery = services.event_webhook_test(webhook=self.get_object())
        return Response(EventDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: EventTypeSerializer(many=True)})
    @action(
        detail=False,
        methods=["get"],
        url_path="event-types",
        url_name="event-types",
        pagination_class=None,
        filter_backends=[],
    )
    def event_types(self, request):
        """The events a webhook can subscribe to, each with what it means."""
        rows = [{"type": t, "description": d} for t, d in EVENT_TYPE_DESCRIPTIONS.items()]
        return Response(EventTypeSerializer(rows, many=True).data)

    @extend_schema(responses={200: EventDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="deliveries", url_name="deliveries")
    def deliveries(self, request, pk=None):
        webhook = self.get_object()
        queryset = (
            EventDelivery.objects.for_workspace(self.workspace)
            .filter(webhook=webhook)
            .order_by("-id")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(EventDeliverySerializer(page, many=True).data)
