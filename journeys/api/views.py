"""Journey definition endpoints: CRUD, validate, the status machine, versions, publish impact,
audit, export/import, duplicate, templates and the node-type registry."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from workspaces.models import Role
from workspaces.viewsets import WorkspaceAPIView, WorkspaceViewSet

from .. import experiments, selectors, services
from ..models import Journey
from ..templates import templates_list
from .serializers import (
    AuditEntrySerializer,
    DuplicateSerializer,
    JourneyCreateSerializer,
    JourneyExportSerializer,
    JourneyListQuerySerializer,
    JourneySerializer,
    JourneyTagSerializer,
    JourneyTemplateSerializer,
    JourneyVersionDetailSerializer,
    JourneyVersionSerializer,
    JourneyWriteSerializer,
    NodeTypeSerializer,
    PublishImpactListSerializer,
    StartSerializer,
    ValidationResultSerializer,
)


def _list_of(serializer):
    return inline_serializer(
        name=f"{serializer.__name__.removesuffix('Serializer')}List",
        fields={"results": serializer(many=True), "next": serializers.CharField(allow_null=True)},
    )


class JourneyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Journeys of the workspace. Viewers read; writes need the editor role."""

    model = Journey
    serializer_class = JourneySerializer
    lookup_value_regex = r"[0-9]+"
    write_role = Role.EDITOR  # declared so an action may lower it (see `validate`)

    def scope_queryset(self, queryset):
        return queryset.select_related("live_version", "workspace")

    def _detail(self, journey: Journey, code: int = status.HTTP_200_OK) -> Response:
        journey = self.scope_queryset(Journey.objects.for_workspace(self.workspace)).get(
            pk=journey.pk
        )
        return Response(JourneySerializer(journey).data, status=code)

    @extend_schema(parameters=[JourneyListQuerySerializer])
    def list(self, request):
        params = JourneyListQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = selectors.journeys_list(workspace=self.workspace, **params.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(JourneySerializer(page, many=True).data)

    @extend_schema(responses={200: _list_of(JourneyTagSerializer)})
    @action(detail=False, methods=["get"])
    def tags(self, request):
        """Every tag of the workspace's journeys, by name, with how many journeys carry it: the
        list's tag filter offers them all, not only the tags of the journeys on its first page."""
        tags = selectors.journey_tags_list(workspace=self.workspace)
        return Response({"results": JourneyTagSerializer(tags, many=True).data, "next": None})

    @extend_schema(request=JourneyCreateSerializer, responses={201: JourneySerializer})
    def create(self, request):
        params = JourneyCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        journey = services.journey_create(
            workspace=self.workspace, actor=request.user, **params.validated_data
        )
        return self._detail(journey, status.HTTP_201_CREATED)

    def _update(self, request, partial: bool) -> Response:
        journey = self.get_object()  # a foreign id is a 404 before its body is looked at
        params = JourneyWriteSerializer(data=request.data, partial=partial)
        params.is_valid(raise_exception=True)
        journey = services.journey_update(
            journey=journey, actor=request.user, **params.validated_data
        )
        return self._detail(journey)

    @extend_schema(request=JourneyWriteSerializer, responses={200: JourneySerializer})
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(request=JourneyWriteSerializer, responses={200: JourneySerializer})
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.journey_delete(journey=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ValidationResultSerializer})
    # A POST only because it computes; it writes nothing, so viewers may ask too.
    @action(detail=True, methods=["post"], write_role=Role.VIEWER)
    def validate(self, request, pk=None):
        journey = self.get_object()
        problems = selectors.journey_problems(journey=journey)
        warnings = selectors.journey_warnings(journey=journey)
        return Response(
            {
                "valid": not problems,
                "errors": [p.as_dict() for p in problems],
                "warnings": [w.as_dict() for w in warnings],
            }
        )

    @extend_schema(request=StartSerializer, responses={200: JourneySerializer})
    @action(detail=True, methods=["put"])
    def start(self, request, pk=None):
        journey = self.get_object()
        params = StartSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        journey = services.journey_start(
            journey=journey, actor=request.user, **params.validated_data
        )
        return self._detail(journey)

    @extend_schema(
        request=inline_serializer("WinnerRequest", {"path_id": serializers.CharField()}),
        responses={200: inline_serializer("SplitExperimentState", {
            "status": serializers.CharField(), "winner": serializers.CharField(allow_null=True),
            "decided_at": serializers.DateTimeField(allow_null=True),
            "decided_by": serializers.CharField(allow_null=True), "p_value": serializers.FloatField(allow_null=True),
        })},
    )
    @action(detail=True, methods=["put"], url_path=r"nodes/(?P<node_id>[^/]+)/winner", url_name="node-winner")
    def node_winner(self, request, pk=None, node_id=None):
        """Decides a split's experiment by hand: every later arrival takes `path_id`."""
        journey = self.get_object()
        path_id = request.data.get("path_id") if isinstance(request.data, dict) else None
        return Response(experiments.experiment_winner_set(journey=journey, node_id=node_id, path_id=path_id,
                                                          actor=request.user))

    @extend_schema(request=None, responses={200: JourneySerializer})
    @action(detail=True, methods=["put"])
    def stop(self, request, pk=None):
        return self._detail(services.journey_stop(journey=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: JourneySerializer})
    @action(detail=True, methods=["put"])
    def pause(self, request, pk=None):
        return self._detail(services.journey_pause(journey=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: JourneySerializer})
    @action(detail=True, methods=["put"])
    def resume(self, request, pk=None):
        return self._detail(services.journey_resume(journey=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: JourneySerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._detail(services.journey_archive(journey=self.get_object(), actor=request.user))

    @extend_schema(request=DuplicateSerializer, responses={201: JourneySerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        journey = self.get_object()
        params = DuplicateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        copy_ = services.journey_duplicate(
            journey=journey, actor=request.user, **params.validated_data
        )
        return self._detail(copy_, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="journeys_versions_list", responses={200: _list_of(JourneyVersionSerializer)}
    )
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        page = self.paginate_queryset(selectors.journey_versions_list(journey=self.get_object()))
        return self.get_paginated_response(JourneyVersionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="journeys_version_retrieve",
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH)],
        responses={200: JourneyVersionDetailSerializer},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"versions/(?P<number>[0-9]+)",
        url_name="version-detail",
    )
    def version_detail(self, request, pk=None, number=None):
        version = selectors.journey_version_get(journey=self.get_object(), number=int(number))
        if version is None:
            raise NotFound()
        return Response(JourneyVersionDetailSerializer(version).data)

    @extend_schema(responses={200: PublishImpactListSerializer})
    @action(detail=True, methods=["get"], url_path="publish-impact", url_name="publish-impact")
    def publish_impact(self, request, pk=None):
        journey = self.get_object()
        return Response(
            {
                "live_version": journey.live_version.number if journey.live_version_id else None,
                **selectors.journey_publish_impact(journey=journey),
            }
        )

    @extend_schema(responses={200: _list_of(AuditEntrySerializer)})
    @action(detail=True, methods=["get"])
    def audit(self, request, pk=None):
        page = self.paginate_queryset(selectors.journey_audit_list(journey=self.get_object()))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)

    @extend_schema(responses={200: JourneyExportSerializer})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        return Response(services.journey_export(journey=self.get_object()))

    @extend_schema(request=JourneyExportSerializer, responses={201: JourneySerializer})
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError(
                {"non_field_errors": ["Send the JSON of GET /journeys/{id}/export."]}
            )
        journey = services.journey_import(
            workspace=self.workspace, actor=request.user, data=request.data
        )
        return self._detail(journey, status.HTTP_201_CREATED)


class NodeTypesView(WorkspaceAPIView):
    """The node-type registry for the canvas palette."""

    @extend_schema(responses={200: _list_of(NodeTypeSerializer)})
    def get(self, request):
        return Response(
            {
                "results": NodeTypeSerializer(selectors.node_types_list(), many=True).data,
                "next": None,
            }
        )


class JourneyTemplatesView(WorkspaceAPIView):
    """The built-in journey templates; `POST /journeys {"template": key, "name"}` copies one."""

    @extend_schema(responses={200: _list_of(JourneyTemplateSerializer)})
    def get(self, request):
        return Response(
            {"results": JourneyTemplateSerializer(templates_list(), many=True).data, "next": None}
        )
