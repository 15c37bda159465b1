"""Analytics endpoints: a journey's metrics (JSON and CSV), the one-row-per-journey list and an
enrollment's timeline."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from journeys.api.engine_views import JourneyEnrollmentDetailView
from journeys.models import Journey
from workspaces.viewsets import WorkspaceViewSet

from ..export import csv_response, journey_analytics_rows, journeys_csv_rows
from ..funnel import funnel_steps_parse, journey_funnel
from ..selectors import analytics_range, channel_metrics, journey_analytics, journeys_summary_rows
from .serializers import (
    AnalyticsQuerySerializer,
    ChannelMetricsSerializer,
    EnrollmentDetailSerializer,
    FunnelSerializer,
    JourneyAnalyticsSerializer,
    JourneySummaryRowSerializer,
)

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A CSV file.")}


class CSVRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the CSV itself is streamed by the
    view. Errors (a dict) are still written as the JSON error body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


def _analytics_for(view, journey: Journey) -> dict:
    query = AnalyticsQuerySerializer(data=view.request.query_params)
    query.is_valid(raise_exception=True)
    tz_name = journey.workspace.timezone
    first, last = analytics_range(
        raw_from=query.validated_data.get("from"), raw_to=query.validated_data.get("to"), tz_name=tz_name
    )
    return journey_analytics(journey=journey, version=query.validated_data.get("version"), first=first, last=last)


class JourneyAnalyticsViewSet(WorkspaceViewSet):
    """GET /journeys/{id}/analytics[.csv]: read by any role; another workspace's journey is a 404."""

    model = Journey
    lookup_value_regex = r"[0-9]+"
    pagination_class = None

    def scope_queryset(self, queryset):
        return queryset.select_related("workspace")

    @extend_schema(parameters=[AnalyticsQuerySerializer], responses={200: JourneyAnalyticsSerializer})
    @action(detail=True, methods=["get"], url_path="analytics", url_name="analytics")
    def analytics(self, request, pk=None):
        return Response(_analytics_for(self, self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("steps", str, required=True, description="Node ids in order, comma-separated.")],
        responses={200: FunnelSerializer},
    )
    @action(detail=True, methods=["get"], url_path="analytics/funnel", url_name="analytics-funnel")
    def analytics_funnel(self, request, pk=None):
        journey = self.get_object()
        steps = funnel_steps_parse(journey=journey, raw=request.query_params.get("steps"))
        return Response(journey_funnel(journey=journey, steps=steps))

    @extend_schema(parameters=[AnalyticsQuerySerializer], responses=CSV_RESPONSE)
    @action(detail=True, methods=["get"], url_path=r"analytics\.csv", url_name="analytics-csv",
            renderer_classes=[JSONRenderer, CSVRenderer])
    def analytics_csv(self, request, pk=None):
        journey = self.get_object()
        analytics = _analytics_for(self, journey)  # computed before streaming: bad input is a 400
        return csv_response(journey_analytics_rows(analytics), f"journey-{journey.pk}-analytics.csv")


class AnalyticsViewSet(WorkspaceViewSet):
    """GET /analytics/journeys[.csv]: one summary row per journey of the workspace."""

    model = Journey
    cursor_field = "-id"

    @extend_schema(responses={200: JourneySummaryRowSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="journeys", url_name="journeys")
    def journeys(self, request):
        page = self.paginate_queryset(self.get_queryset())
        rows = journeys_summary_rows(workspace_id=self.workspace.pk, journeys=page)
        return self.get_paginated_response(JourneySummaryRowSerializer(rows, many=True).data)

    @extend_schema(parameters=[AnalyticsQuerySerializer], responses={200: ChannelMetricsSerializer})
    @action(detail=False, methods=["get"], url_path="channels", url_name="channels", pagination_class=None)
    def channels(self, request):
        """Per channel and provider: sent, delivered, read, bounced, fallback and saved passes."""
        query = AnalyticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tz_name = self.workspace.timezone
        first, last = analytics_range(
            raw_from=query.validated_data.get("from"), raw_to=query.validated_data.get("to"), tz_name=tz_name
        )
        rows = channel_metrics(workspace_id=self.workspace.pk, tz_name=tz_name, first=first, last=last)
        return Response(ChannelMetricsSerializer({"results": rows}).data)

    @extend_schema(responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path=r"journeys\.csv", url_name="journeys-csv",
            renderer_classes=[JSONRenderer, CSVRenderer], pagination_class=None)
    def journeys_csv(self, request):
        return csv_response(journeys_csv_rows(workspace_id=self.workspace.pk), "journeys-analytics.csv")


# The journeys detail view (the pass and its history; DELETE removes it) with the messages the pass
# sent, which only analytics reads: routed here so journeys never imports analytics.
class EnrollmentTimelineView(JourneyEnrollmentDetailView):
    """A customer's latest pass through the journey, with its history; DELETE removes them."""

    detail_serializer_class = EnrollmentDetailSerializer

    @extend_schema(
        parameters=[OpenApiParameter("customer_id", str, OpenApiParameter.PATH, description="external id")],
        responses=EnrollmentDetailSerializer,
    )
    def get(self, request, journey_id: int, customer_id: str):
        return super().get(request, journey_id, customer_id)
