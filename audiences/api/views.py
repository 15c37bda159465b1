"""Audiences endpoints: customers, events, segments, lists and CSV imports (API.md). Views parse,
call one service or selector, and render; the rules are in ../services.py and ../selectors.py."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import Count, OuterRef, Subquery
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from workspaces.errors import PayloadTooLarge
from workspaces.parsers import StrictMultiPartParser
from workspaces.viewsets import WorkspaceAPIView, WorkspaceViewSet

from .. import selectors, services
from ..models import Customer, CustomerList, ImportJob, Segment
from . import serializers as s


def _object_arg(workspace, model, raw, field: str):
    """An id given in the query or body: must name an object of this workspace (400 otherwise,
    the same answer for another workspace's id as for a missing one)."""
    if raw in (None, ""):
        return None
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise exceptions.ValidationError({field: ["Must be an integer id."]}) from None
    found = model.objects.for_workspace(workspace).filter(pk=pk).first()
    if found is None:
        raise exceptions.ValidationError({field: [f"{model._meta.verbose_name.capitalize()} {pk} does not exist."]})
    return found


def _body(request, key: str):
    if not isinstance(request.data, dict) or key not in request.data:
        raise exceptions.ValidationError({key: ["This field is required."]})
    return request.data[key]


def _batch_body(request, key: str):
    """The list under `key` of a bulk body (POST /events, POST /customers). A JSON body is read
    here, not by the API's strict parser: a value PostgreSQL cannot store (NUL, lone surrogate,
    NaN, 1e400, deep nesting) is then one item's error from the service, not the whole batch's
    400; orjson also keeps the hot path fast. Other content types go through the parsers (a 415
    for what none accepts)."""
    return _batch_body_finite(request, key)[0]


def _batch_body_finite(request, key: str):
    """_batch_body's list, and whether it holds no NaN or infinity (read by orjson)."""
    if request.content_type.split(";")[0].strip() != "application/json":
        return _body(request, key), False
    try:
        data, finite = services.json_loads_finite(request.body)
    except ValueError as exc:
        raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
    if not isinstance(data, dict) or key not in data:
        raise exceptions.ValidationError({key: ["This field is required."]})
    return data[key], finite


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is parsed, checked and stored. A batch of
    1,000 events is ~30,000 dicts and lists, none in a cycle (freed by their reference counts when
    the request ends), and allocating them set off ~40 collector passes, the older generations'
    walking every object of the batch parsed so far: ~1 µs of CPU an event (measured with the
    process's start-up objects frozen, config/asgi.py; POST /events' server 14.3 against 15.9 µs an
    event). It is on again when the block ends, an error included."""
    if not gc.isenabled():  # another request's thread has it paused: it turns it back on
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# ---- Customers ----------------------------------------------------------------------------
class CustomerViewSet(mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Customers, addressed by external_id (any characters, '/' included)."""

    model = Customer
    serializer_class = s.CustomerSerializer
    lookup_field = "external_id"
    lookup_value_converter = "external_id"

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Prefix of external_id or email."),
            OpenApiParameter("tag", str),
            OpenApiParameter("segment_id", int),
            OpenApiParameter("list_id", int),
        ],
        responses={200: s.CustomerSerializer(many=True)},
    )
    def list(self, request):
        params = request.query_params
        customers = selectors.customers_list(
            workspace=self.workspace,
            search=params.get("search", "").strip(),
            tag=params.get("tag", "").strip(),
            segment=_object_arg(self.workspace, Segment, params.get("segment_id"), "segment_id"),
            customer_list=_object_arg(self.workspace, CustomerList, params.get("list_id"), "list_id"),
        )
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(s.CustomerSerializer(page, many=True).data)

    @extend_schema(request=s.CustomersUpsertSerializer, responses={200: s.CustomersUpsertResultSerializer})
    def create(self, request):
        result = services.customers_upsert(workspace=self.workspace, customers=_batch_body(request, "customers"))
        return Response({"created": result.created, "updated": result.updated, "errors": result.errors})

    @extend_schema(request=s.CustomerPatchSerializer, responses={200: s.CustomerSerializer})
    def partial_update(self, request, external_id=None):
        customer = services.customer_update(workspace=self.workspace, customer=self.get_object(), data=request.data)
        return Response(s.CustomerSerializer(customer).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, external_id=None):
        services.customer_erase(workspace=self.workspace, customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerImportView(WorkspaceAPIView):
    """PUT /customers/import: a CSV upload, processed by a worker; poll GET /imports/{id}."""

    parser_classes = [StrictMultiPartParser]

    @extend_schema(
        request={"multipart/form-data": s.ImportUploadSerializer},
        parameters=[OpenApiParameter("list_id", int, description="Add every imported customer to this list.")],
        responses={202: s.ImportCreatedSerializer},
    )
    def put(self, request):
        limit = services.import_max_bytes()
        # Refuse before reading the body: the multipart envelope adds a few hundred bytes.
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise PayloadTooLarge(f"A CSV import may be at most {limit // (1024 * 1024)} MB.")
        customer_list = _object_arg(self.workspace, CustomerList, request.query_params.get("list_id"), "list_id")
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": ["Upload the CSV as multipart field 'file'."]})
        if upload.size > limit:
            raise PayloadTooLarge(f"A CSV import may be at most {limit // (1024 * 1024)} MB.")
        job = services.import_create(workspace=self.workspace, upload=upload, customer_list=customer_list)
        return Response({"import_id": job.pk}, status=status.HTTP_202_ACCEPTED)


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """CSV import jobs and their progress."""

    model = ImportJob
    serializer_class = s.ImportJobSerializer
    lookup_value_converter = "int"

    def scope_queryset(self, queryset):
        # The workspace's own numbering (#1, #2, …): ids count across every workspace. A count per
        # row (indexed by workspace and id), not a window, so every page of the list agrees.
        earlier = (
            ImportJob.objects.for_workspace(self.workspace).filter(pk__lte=OuterRef("pk"))
            .order_by().values("workspace_id").annotate(n=Count("id")).values("n")[:1]
        )
        return queryset.annotate(number=Subquery(earlier))


# ---- Events -------------------------------------------------------------------------------
class EventIngestView(WorkspaceAPIView):
    """POST /events: stores a batch and hands it to the journey engine after commit."""

    @extend_schema(request=s.EventsIngestSerializer, responses={202: s.EventsIngestResultSerializer})
    def post(self, request):
        with _collector_paused():
            result = self._ingest(request)
        return Response(
            {"accepted": result.accepted, "duplicates": result.duplicates, "errors": result.errors},
            status=status.HTTP_202_ACCEPTED,
        )

    def _ingest(self, request) -> services.IngestResult:
        # The batch is parsed here so that it is freed when this returns, still within
        # _collector_paused: alive when the collector came back on, its ~30,000 objects were
        # walked by the first collection then (~0.3 µs an event).
        events, finite = _batch_body_finite(request, "events")
        return services.events_ingest(workspace=self.workspace, events=events, finite=finite)


class EventPropertiesView(WorkspaceAPIView):
    """GET /events/properties?name=: property names seen on the latest events of those names."""

    @extend_schema(
        parameters=[OpenApiParameter("name", str, many=True, description="Event names (≤ 10).")],
        responses={200: s.EventPropertiesSerializer},
        description="GET /events/properties?name=cart_updated: the property names the latest events of these "
        "names carry (suggestions for a keyed journey's key property).",
    )
    def get(self, request):
        names = request.query_params.getlist("name")
        return Response({"properties": selectors.event_property_names(workspace=self.workspace, names=names)})


class EventNamesView(WorkspaceAPIView):
    """GET /events/names: the names received so far, with counts and their properties, for the
    canvas's event-name suggestions and personalization menu."""

    @extend_schema(responses={200: s.EventNameListSerializer})
    def get(self, request):
        return Response({"results": selectors.event_names(workspace=self.workspace)})


# ---- Segments -----------------------------------------------------------------------------
class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    model = Segment
    serializer_class = s.SegmentSerializer
    lookup_value_converter = "int"

    @extend_schema(request=s.SegmentInSerializer, responses={201: s.SegmentSerializer})
    def create(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        segment = services.segment_create(workspace=self.workspace, name=data.get("name"), condition=data.get("condition"))
        return Response(s.SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SegmentInSerializer, responses={200: s.SegmentSerializer})
    def update(self, request, pk=None):
        segment = self.get_object()
        data = request.data if isinstance(request.data, dict) else {}
        segment = services.segment_update(
            workspace=self.workspace, segment=segment, name=data.get("name"), condition=data.get("condition")
        )
        return Response(s.SegmentSerializer(segment).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.segment_delete(workspace=self.workspace, segment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: s.CountSerializer})
    @action(detail=True, methods=["get"], url_path="count", url_name="count")
    def count(self, request, pk=None):
        segment = self.get_object()
        return Response({"count": selectors.segment_count(workspace=self.workspace, condition=segment.condition)})

    @extend_schema(request=s.ConditionInSerializer, responses={200: s.PreviewSerializer})
    @action(detail=False, methods=["post"], url_path="preview", url_name="preview")
    def preview(self, request):
        condition = _body(request, "condition")
        services.condition_check(workspace=self.workspace, condition=condition)
        count, sample = selectors.segment_preview(workspace=self.workspace, condition=condition)
        return Response({"count": count, "sample": s.CustomerSerializer(sample, many=True).data})


# ---- Lists --------------------------------------------------------------------------------
class CustomerListViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    model = CustomerList
    serializer_class = s.CustomerListSerializer
    lookup_value_converter = "int"

    def scope_queryset(self, queryset):
        return queryset.annotate(member_count=Count("members"))

    @extend_schema(request=s.ListInSerializer, responses={201: s.CustomerListSerializer})
    def create(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        customer_list = services.list_create(workspace=self.workspace, name=data.get("name"))
        customer_list.member_count = 0
        return Response(s.CustomerListSerializer(customer_list).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.list_delete(workspace=self.workspace, customer_list=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["PUT"],
        request={"application/json": s.MembersInSerializer, "multipart/form-data": s.MembersUploadSerializer},
        responses={200: s.MembersAddedSerializer},
    )
    @extend_schema(methods=["DELETE"], request=s.MembersInSerializer, responses={200: s.MembersRemovedSerializer})
    @action(detail=True, methods=["put", "delete"], url_path="members", url_name="members")
    def members(self, request, pk=None):
        customer_list = self.get_object()
        if request.method == "DELETE":
            removed = services.list_members_remove(
                workspace=self.workspace, customer_list=customer_list, customer_ids=_body(request, "customer_ids")
            )
            return Response({"removed": removed})
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            result = services.list_members_add_csv(workspace=self.workspace, customer_list=customer_list, file=upload)
        else:
            result = services.list_members_add(
                workspace=self.workspace, customer_list=customer_list, customer_ids=_body(request, "customer_ids")
            )
        return Response({"added": result.added, "already": result.already, "not_found": result.not_found[:1000]})

