"""The web inbox under /v1/: a site's page reads its signed-in user's in-app messages with a
publishable key and userHash, and /sdk/waymark-inbox.js is the script that shows them."""

from __future__ import annotations

from pathlib import Path

from django.http import Http404, HttpResponse
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from audiences.segment_api.serializers import TrackingErrorSerializer
from audiences.segment_api.views import WriteKeyAuthentication, tracking_exception_handler
from workspaces.identity import identity_hash_valid
from workspaces.pagination import CursorPagination
from workspaces.viewsets import WorkspaceAPIView

from . import selectors, services
from .api.serializers import InboxMessageSerializer
from .models import Message

SDK_SCRIPT = Path(__file__).resolve().parent / "sdk" / "waymark-inbox.js"


class InboxIdentitySerializer(serializers.Serializer):
    userId = serializers.CharField(max_length=255, trim_whitespace=False)
    # Optional here so that a missing hash is refused like a wrong one (403), not as a 400.
    userHash = serializers.CharField(max_length=128, required=False, allow_blank=True)


class WebInboxMixin:
    """Authenticated like the tracking API beside it (the key as Basic user name) and answering
    errors in its shape, {"success": false, "code", "message"}."""

    authentication_classes = [WriteKeyAuthentication]

    def get_exception_handler(self):
        return tracking_exception_handler

    def identified_customer(self, params):
        """The customer the page shows, or None for a user id with no customer yet. A wrong or
        missing userHash is refused before anything is looked up."""
        identity = InboxIdentitySerializer(data=params)
        identity.is_valid(raise_exception=True)
        user_id = identity.validated_data["userId"]
        user_hash = identity.validated_data.get("userHash", "")
        if not user_hash or not identity_hash_valid(
            workspace=self.workspace, user_id=user_id, user_hash=user_hash
        ):
            raise exceptions.PermissionDenied(
                "userHash does not match userId: compute it on your server as hex "
                "HMAC-SHA256(the workspace's identity secret, userId).",
                code="invalid_user_hash",
            )
        return selectors.customer_by_external_id(workspace=self.workspace, external_id=user_id)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(TrackingErrorSerializer, description=description)


_ERRORS = {
    400: _error("userId missing or too long, or a bad limit or cursor."),
    401: _error("Unknown or revoked key."),
    403: _error("Wrong or missing userHash, or a page origin the key does not allow."),
    404: _error("No such message in this user's inbox."),
    429: _error("Rate limited; see Retry-After."),
}

_IDENTITY_PARAMS = [
    OpenApiParameter("userId", str, required=True, description="Your id of the signed-in user."),
    OpenApiParameter(
        "userHash", str, required=True, description="hex HMAC-SHA256(identity secret, userId)."
    ),
]


class WebInboxView(WebInboxMixin, WorkspaceAPIView):
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="web_inbox_list",
        tags=["tracking"],
        parameters=_IDENTITY_PARAMS,
        responses={200: InboxMessageSerializer(many=True), **_ERRORS},
        description="The user's in-app messages, newest first, for a web page (publishable key).",
    )
    def get(self, request):
        customer = self.identified_customer(request.query_params)
        paginator = CursorPagination()
        if customer is None:
            messages = Message.objects.for_workspace(self.workspace).none()
        else:
            messages = selectors.inbox(workspace=self.workspace, customer=customer)
        rows = paginator.paginate_queryset(messages, request, self)
        return paginator.get_paginated_response(InboxMessageSerializer(rows, many=True).data)


class WebInboxReadView(WebInboxMixin, WorkspaceAPIView):
    @extend_schema(
        operation_id="web_inbox_read",
        tags=["tracking"],
        request=InboxIdentitySerializer,
        responses={200: InboxMessageSerializer, **_ERRORS},
        description="Marks one of the user's in-app messages read; userId and userHash in the "
        "JSON body (or the query).",
    )
    def post(self, request, pk: int):
        params = (
            request.data
            if isinstance(request.data, dict) and request.data
            else request.query_params
        )
        customer = self.identified_customer(params)
        if customer is None:
            raise Http404
        message = selectors.inbox(workspace=self.workspace, customer=customer).filter(pk=pk).first()
        if message is None:
            raise Http404
        return Response(InboxMessageSerializer(services.inbox_read(message=message)).data)


def sdk_script(request):
    """The inbox widget, loaded by any site with a <script> tag (no CORS needed for that)."""
    response = HttpResponse(SDK_SCRIPT.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


urlpatterns = [
    path("inbox", WebInboxView.as_view(), name="web-inbox"),
    path("inbox/<int:pk>/read", WebInboxReadView.as_view(), name="web-inbox-read"),
]
