"""Enrollment endpoints (enroll, list, detail, remove) and the draft simulator. The detail path
is routed by analytics, whose timeline view adds the enrollment's messages to this one."""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from audiences.models import Customer
from workspaces.pagination import CursorPagination
from workspaces.viewsets import WorkspaceAPIView

from ..enrollments import (
    enrollment_history,
    enrollment_latest,
    enrollment_remove,
    enrollments_list,
    enrollments_request,
)
from ..models import Enrollment, Journey
from ..simulate import journey_simulate


class EnrollInputSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=100_000, allow_empty=False
    )
    list_id = serializers.IntegerField(required=False)
    segment_id = serializers.IntegerField(required=False)
    all = serializers.BooleanField(required=False)
    file = serializers.FileField(required=False, help_text="A CSV with an external_id (or customerId) column.")

    def validate(self, data):
        given = [k for k in ("customer_ids", "list_id", "segment_id", "file") if k in data]
        if data.get("all"):
            given.append("all")
        if len(given) != 1:
            raise serializers.ValidationError(
                {"customer_ids": ['Give exactly one of "customer_ids", "list_id", "segment_id", "all": true or a CSV file.']}
            )
        return data


class EnrollResultSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    skipped = serializers.IntegerField()


class EnrollmentSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.external_id")
    version = serializers.IntegerField(source="version.number")

    class Meta:
        model = Enrollment
        fields = [
            "id", "customer_id", "version", "state", "node_id", "entered_at", "finished_at",
            "exit_reason", "goals", "holdout", "wake_at", "key",
        ]


class HistoryItemSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    kind = serializers.CharField()
    handle = serializers.CharField()
    at = serializers.DateTimeField()
    step_seq = serializers.IntegerField()
    data = serializers.JSONField()


class EnrollmentHistorySerializer(EnrollmentSerializer):
    history = serializers.SerializerMethodField()

    class Meta(EnrollmentSerializer.Meta):
        fields = [*EnrollmentSerializer.Meta.fields, "history"]

    @extend_schema_field(HistoryItemSerializer(many=True))
    def get_history(self, enrollment) -> list[dict]:
        return HistoryItemSerializer(enrollment_history(enrollment=enrollment), many=True).data


class EnrollmentListQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Enrollment.State.choices, required=False)
    customer_id = serializers.CharField(required=False)
    key = serializers.CharField(required=False, max_length=200, help_text="A keyed journey's passes with this key.")


class SimulateInputSerializer(serializers.Serializer):
    customer_id = serializers.CharField(required=False)
    customer = serializers.DictField(required=False)
    events = serializers.ListField(child=serializers.DictField(), required=False, max_length=100)

    def validate_events(self, events):
        for i, event in enumerate(events):
            if not isinstance(event.get("name"), str) or not event["name"]:
                raise serializers.ValidationError({i: ["Each event needs a name."]})
            if "properties" in event and not isinstance(event["properties"], dict):
                raise serializers.ValidationError({i: ["properties must be an object."]})
        return events

    def validate(self, data):
        if ("customer_id" in data) == ("customer" in data):
            raise serializers.ValidationError({"customer_id": ['Give exactly one of "customer_id" or "customer".']})
        return data


class SimulateStepSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    kind = serializers.CharField()
    handle = serializers.CharField()
    at = serializers.DateTimeField()
    data = serializers.JSONField()


class SimulateResultSerializer(serializers.Serializer):
    steps = SimulateStepSerializer(many=True)
    state = serializers.CharField()
    exit_reason = serializers.CharField()
    customer = serializers.JSONField()


class JourneyEnrollmentsView(WorkspaceAPIView):
    """GET lists a journey's enrollments; POST enrolls customers (editor)."""

    cursor_field = "-id"

    @extend_schema(
        operation_id="journeys_enrollments_list",  # else it collides with the detail GET's id
        parameters=[EnrollmentListQuerySerializer],
        responses=inline_serializer(
            name="EnrollmentList",
            fields={"results": EnrollmentSerializer(many=True), "next": serializers.CharField(allow_null=True)},
        ),
    )
    def get(self, request, journey_id: int):
        journey = self.scoped_get(Journey, pk=journey_id)
        params = EnrollmentListQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = enrollments_list(
            journey=journey,
            state=params.validated_data.get("state"),
            customer_external_id=params.validated_data.get("customer_id"),
            key=params.validated_data.get("key"),
        )
        paginator = CursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(EnrollmentSerializer(page, many=True).data)

    @extend_schema(request=EnrollInputSerializer, responses={202: EnrollResultSerializer})
    def post(self, request, journey_id: int):
        journey = self.scoped_get(Journey, pk=journey_id)
        params = EnrollInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = enrollments_request(
            journey=journey,
            customer_ids=data.get("customer_ids"),
            list_id=data.get("list_id"),
            segment_id=data.get("segment_id"),
            all_customers=bool(data.get("all")),
            file=data.get("file"),
        )
        return Response(
            EnrollResultSerializer({"enrolled": result.enrolled, "skipped": result.skipped}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class JourneyEnrollmentDetailView(WorkspaceAPIView):
    """A customer's latest pass through the journey, with its history; DELETE removes them.
    Routed as analytics' EnrollmentTimelineView, which adds the messages it sent."""

    detail_serializer_class: type[EnrollmentHistorySerializer] = EnrollmentHistorySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("customer_id", str, OpenApiParameter.PATH, description="external id"),
            OpenApiParameter("key", str, description="A keyed journey's pass with this key (else the newest)."),
        ],
        responses=EnrollmentHistorySerializer,
    )
    def get(self, request, journey_id: int, customer_id: str):
        enrollment = enrollment_latest(
            journey=self.scoped_get(Journey, pk=journey_id),
            external_id=customer_id,
            key=request.query_params.get("key"),
        )
        if enrollment is None:
            raise Http404
        return Response(self.detail_serializer_class(enrollment).data)

    @extend_schema(
        parameters=[OpenApiParameter("customer_id", str, OpenApiParameter.PATH, description="external id")],
        responses={204: None},
    )
    def delete(self, request, journey_id: int, customer_id: str):
        journey = self.scoped_get(Journey, pk=journey_id)
        customer = self.scoped_get(Customer, external_id=customer_id)
        if not enrollment_remove(journey=journey, customer=customer):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)


class JourneySimulateView(WorkspaceAPIView):
    """The path a customer would take through the draft; sends and stores nothing."""

    write_role = "viewer"  # a dry run changes nothing

    @extend_schema(request=SimulateInputSerializer, responses=SimulateResultSerializer)
    def post(self, request, journey_id: int):
        journey = self.scoped_get(Journey, pk=journey_id)
        params = SimulateInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        customer = None
        if "customer_id" in data:
            customer = Customer.objects.for_workspace(self.workspace).filter(external_id=data["customer_id"]).first()
            if customer is None:
                raise serializers.ValidationError({"customer_id": [f"No customer {data['customer_id']!r}."]})
        result = journey_simulate(
            journey=journey, customer=customer, customer_data=data.get("customer"), events=data.get("events") or []
        )
        return Response(SimulateResultSerializer(result).data)


urls = [
    path("journeys/<int:journey_id>/enrollments", JourneyEnrollmentsView.as_view(), name="journey-enrollments"),
    # journeys/<id>/enrollments/<customer_id>: analytics.api.urls (the timeline)
    path("journeys/<int:journey_id>/simulate", JourneySimulateView.as_view(), name="journey-simulate"),
]
