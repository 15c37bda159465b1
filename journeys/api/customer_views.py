"""GET /customers/{external_id}/enrollments: every journey a customer is or was in, in one call
for the customer page (the node-by-node history stays at /journeys/{id}/enrollments/{customer})."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers

from audiences.api import paths  # noqa: F401  (registers the external_id path converter)
from audiences.models import Customer
from workspaces.pagination import CursorPagination
from workspaces.viewsets import WorkspaceAPIView

from ..models import Enrollment
from ..selectors import customer_enrollments, handoff_links, version_goal_names, version_node_names


class HandOffSerializer(serializers.Serializer):
    enrollment_id = serializers.IntegerField()
    journey_id = serializers.IntegerField()
    journey_name = serializers.CharField()
    node_id = serializers.CharField(help_text="The `journey` node that handed off (on handed_off_from).")


class CustomerEnrollmentSerializer(serializers.ModelSerializer):
    journey_name = serializers.CharField(source="journey.name")
    version = serializers.IntegerField(source="version.number")
    node_name = serializers.SerializerMethodField(help_text="The current (or last) node's name.")
    node_names = serializers.SerializerMethodField(help_text="Node id → name in this pass's version.")
    goal_names = serializers.SerializerMethodField(help_text="Goal id → name in this pass's version.")
    handed_off_from = serializers.SerializerMethodField(
        help_text="The run whose `journey` node enrolled this one: {enrollment_id, journey_id, journey_name, node_id}."
    )
    handed_off_to = serializers.SerializerMethodField(
        help_text="The runs this one's `journey` nodes enrolled: [{enrollment_id, journey_id, journey_name}]."
    )

    class Meta:
        model = Enrollment
        fields = [
            "id", "journey_id", "journey_name", "version", "state", "node_id", "node_name",
            "entered_at", "finished_at", "exit_reason", "goals", "holdout", "wake_at", "node_names",
            "goal_names", "handed_off_from", "handed_off_to",
        ]
        read_only_fields = fields

    def _names(self, enrollment) -> dict[str, str]:
        return self.context["node_names"].get(enrollment.version_id, {})

    def get_node_name(self, enrollment) -> str:
        return self._names(enrollment).get(enrollment.node_id, enrollment.node_id)

    def get_node_names(self, enrollment) -> dict[str, str]:
        return self._names(enrollment)

    def get_goal_names(self, enrollment) -> dict[str, str]:
        return self.context["goal_names"].get(enrollment.version_id, {})

    @extend_schema_field(HandOffSerializer(allow_null=True))
    def get_handed_off_from(self, enrollment) -> dict | None:
        source = enrollment.handed_off_from
        if not isinstance(source, dict):
            return None
        names = self.context["handoffs"]["names"]
        return {
            "enrollment_id": source.get("enrollment_id"),
            "journey_id": source.get("journey_id"),
            "journey_name": names.get(source.get("journey_id"), ""),
            "node_id": source.get("node_id", ""),
        }

    @extend_schema_field(HandOffSerializer(many=True))
    def get_handed_off_to(self, enrollment) -> list[dict]:
        names = self.context["handoffs"]["names"]
        return [
            {**run, "journey_name": names.get(run["journey_id"], ""), "node_id": ""}
            for run in self.context["handoffs"]["to"].get(enrollment.id, [])
        ]


class CustomerEnrollmentsView(WorkspaceAPIView):
    """A customer's passes through every journey, newest first (any role may read); another
    workspace's customer is a 404."""

    cursor_field = "-id"

    @extend_schema(
        operation_id="customers_enrollments_list",
        parameters=[
            OpenApiParameter("limit", int, description="1–1000, default 50."),
            OpenApiParameter("cursor", str, description="`next` of the previous page."),
        ],
        responses=inline_serializer(
            name="CustomerEnrollmentPage",
            fields={
                "results": CustomerEnrollmentSerializer(many=True),
                "next": serializers.CharField(allow_null=True),
            },
        ),
    )
    def get(self, request, external_id: str):
        customer = self.scoped_get(Customer, external_id=external_id)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(
            customer_enrollments(workspace=self.workspace, customer=customer), request, view=self
        )
        versions = {e.version_id for e in page}
        context = {
            "node_names": version_node_names(workspace=self.workspace, version_ids=versions),
            "goal_names": version_goal_names(workspace=self.workspace, version_ids=versions),
            "handoffs": handoff_links(workspace=self.workspace, customer=customer, enrollments=page),
        }
        data = CustomerEnrollmentSerializer(page, many=True, context=context).data
        return paginator.get_paginated_response(data)


urls = [
    # audiences' external_id converter: an id may hold '/' (or %2F, audiences.api.paths).
    path(
        "customers/<external_id:external_id>/enrollments",
        CustomerEnrollmentsView.as_view(),
        name="customer-enrollments",
    ),
]
