from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from workspaces.models import Role
from workspaces.pagination import CursorPagination
from workspaces.viewsets import WorkspaceAPIView, WorkspaceViewSet

from .. import selectors, services
from ..models import ChannelConfig, Message
from .serializers import (
    ChannelConfigSerializer,
    ChannelConfigUpdateSerializer,
    ChannelConfigWriteSerializer,
    ChannelTestSerializer,
    InboxMessageSerializer,
    KakaoTemplateListSerializer,
    KakaoTemplateSerializer,
    KakaoTemplateWriteSerializer,
    MessageListQuerySerializer,
    MessagePreviewResultSerializer,
    MessagePreviewSerializer,
    MessageSerializer,
    MessageStatusSerializer,
)


class ChannelConfigViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Channel configs; only owners change them (they hold provider credentials)."""

    model = ChannelConfig
    serializer_class = ChannelConfigSerializer
    write_role = Role.OWNER

    @extend_schema(request=ChannelConfigWriteSerializer, responses={201: ChannelConfigSerializer})
    def create(self, request):
        params = ChannelConfigWriteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        config = services.channel_create(workspace=self.workspace, **params.validated_data)
        return Response(ChannelConfigSerializer(config).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChannelConfigUpdateSerializer, responses={200: ChannelConfigSerializer})
    def update(self, request, pk=None):
        config = self.get_object()
        params = ChannelConfigUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if data.pop("channel", config.channel) != config.channel:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"channel": ["A channel config's channel cannot change."]})
        config = services.channel_update(config=config, **data)
        return Response(ChannelConfigSerializer(config).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.channel_delete(config=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ChannelTestSerializer, responses={200: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def test(self, request, pk=None):
        config = self.get_object()
        params = ChannelTestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        message = services.channel_test_send(config=config, **params.validated_data)
        return Response(MessageSerializer(message).data)

    @extend_schema(methods=["GET"], request=None, responses={200: KakaoTemplateListSerializer})
    @extend_schema(
        methods=["POST"],
        request=KakaoTemplateWriteSerializer,
        responses={201: KakaoTemplateSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="templates", url_name="templates")
    def templates(self, request, pk=None):
        """AlimTalk templates at the channel's Kakao dealer; POST submits one for review."""
        config = self.get_object()
        if request.method == "POST":
            template = services.channel_template_register(config=config, data=request.data)
            return Response(template, status=status.HTTP_201_CREATED)
        return Response({"results": services.channel_templates(config=config)})


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    model = Message
    serializer_class = MessageSerializer

    def scope_queryset(self, queryset):
        if self.action != "list":
            return selectors.messages_filter(queryset=queryset, params={})
        params = MessageListQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.messages_filter(queryset=queryset, params=params.validated_data)

    @extend_schema(parameters=[MessageListQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=MessageStatusSerializer, responses={200: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def status(self, request, pk=None):
        message = self.get_object()
        params = MessageStatusSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        message = services.message_receipt(message=message, source="api", **params.validated_data)
        return Response(MessageSerializer(message).data)

    @extend_schema(
        request=MessagePreviewSerializer, responses={200: MessagePreviewResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="preview", url_name="preview")
    def preview(self, request):
        params = MessagePreviewSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        customer = None
        if data.get("customer_id"):
            customer = selectors.customer_by_external_id(
                workspace=self.workspace, external_id=data["customer_id"]
            )
            if customer is None:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"customer_id": ["No such customer."]})
        rendered = services.message_preview(
            workspace=self.workspace,
            channel=data["channel"],
            content=data["content"],
            customer=customer,
            attributes=data.get("attributes"),
            event=data.get("event"),
            locale=data.get("locale"),
        )
        return Response({"channel": data["channel"], "content": rendered})


class _InboxMixin:
    def _customer(self, external_id: str):
        customer = selectors.customer_by_external_id(
            workspace=self.workspace, external_id=external_id
        )
        if customer is None:
            raise Http404
        return customer


class InboxView(_InboxMixin, WorkspaceAPIView):
    # Declared so the schema says what the answer is: a page, {"results", "next"}, with limit/cursor.
    pagination_class = CursorPagination

    @extend_schema(responses={200: InboxMessageSerializer(many=True)})
    def get(self, request, external_id: str):
        customer = self._customer(external_id)
        paginator = CursorPagination()
        rows = paginator.paginate_queryset(
            selectors.inbox(workspace=self.workspace, customer=customer), request, self
        )
        return paginator.get_paginated_response(InboxMessageSerializer(rows, many=True).data)


class InboxReadView(_InboxMixin, WorkspaceAPIView):
    @extend_schema(request=None, responses={200: InboxMessageSerializer})
    def post(self, request, external_id: str, pk: int):
        customer = self._customer(external_id)
        message = selectors.inbox(workspace=self.workspace, customer=customer).filter(pk=pk).first()
        if message is None:
            raise Http404
        return Response(InboxMessageSerializer(services.inbox_read(message=message)).data)
