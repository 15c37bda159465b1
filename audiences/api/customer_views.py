"""GET /customers/{external_id}/events: one customer's events for the customer page, newest
first by when they happened, paged with an opaque (occurred_at, id) cursor."""

from __future__ import annotations

import base64
import json

from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from workspaces.pagination import MAX_LIMIT
from workspaces.viewsets import WorkspaceAPIView

from .. import selectors
from ..models import Event


class CustomerEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "name", "properties", "occurred_at", "received_at", "idempotency_id"]
        read_only_fields = fields


class CustomerEventsQuerySerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200, help_text="Only events of this name.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=50)
    cursor = serializers.CharField(required=False, help_text="`next` of the previous page.")

    def validate_cursor(self, raw: str):
        """The cursor is the last row's (occurred_at, id); anything else is a 400 naming it."""
        try:
            at, event_id = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
            at = parse_datetime(at)
        except Exception as exc:
            raise serializers.ValidationError("Invalid cursor.") from exc
        if at is None or not isinstance(event_id, int):
            raise serializers.ValidationError("Invalid cursor.")
        return at, event_id


def _cursor(event: Event) -> str:
    return base64.urlsafe_b64encode(json.dumps([event.occurred_at.isoformat(), event.pk]).encode()).decode()


class CustomerEventsView(WorkspaceAPIView):
    """A customer's events (any role may read); another workspace's customer is a 404."""

    @extend_schema(
        operation_id="customers_events_list",
        parameters=[CustomerEventsQuerySerializer],
        responses=inline_serializer(
            name="CustomerEventPage",
            fields={
                "results": CustomerEventSerializer(many=True),
                "next": serializers.CharField(allow_null=True),
            },
        ),
    )
    def get(self, request, external_id: str):
        customer = selectors.customer_get(workspace=self.workspace, external_id=external_id)
        if customer is None:
            raise Http404
        params = CustomerEventsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        limit = params.validated_data["limit"]
        events = selectors.customer_events(
            workspace=self.workspace,
            customer=customer,
            limit=limit + 1,
            name=params.validated_data.get("name", ""),
            before=params.validated_data.get("cursor"),
        )
        more = len(events) > limit
        events = events[:limit]
        return Response(
            {
                "results": CustomerEventSerializer(events, many=True).data,
                "next": _cursor(events[-1]) if more else None,
            }
        )
