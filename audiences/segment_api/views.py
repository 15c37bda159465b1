"""Segment's HTTP Tracking API under /v1/: write-key auth, gzip bodies, Segment's size limits and
Segment's answers ({"success": true}; errors as {"success": false, "code", "message"}). Views
parse and call services.tracking_apply; rate limits and workspace scoping are the API's own."""

from __future__ import annotations

import base64
import json
import zlib

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from workspaces.auth import ApiKeyPrincipal, api_key_lookup
from workspaces.errors import api_exception_handler
from workspaces.origins import key_allows_origin
from workspaces.viewsets import WorkspaceAPIView

from . import serializers as s
from . import services


class TrackingRefused(exceptions.APIException):
    """Segment answers 400 for a call it cannot take (bad JSON, too large, a malformed message)."""

    status_code = 400
    default_code = "invalid_request"
    default_detail = "The call cannot be accepted."


def _too_large(limit: int) -> TrackingRefused:
    return TrackingRefused(
        f"The request body must be at most {limit // 1024} KB.", code="request_too_large"
    )


class TrackingBodyParser(BaseParser):
    """JSON, plain or gzip-compressed (Content-Encoding: gzip), read no further than the view's
    size limit: an oversized body is refused without being held in memory, and a small gzip body
    cannot inflate past the limit."""

    media_type = "*/*"  # browsers' sendBeacon posts text/plain; the SDKs send application/json

    def parse(self, stream, media_type=None, parser_context=None):
        limit = parser_context["view"].max_body_bytes
        encoding = parser_context["request"].META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        raw = stream.read(limit + 1)
        if encoding == "gzip":
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                raw = inflater.decompress(raw, limit + 1)
            except zlib.error:
                raise TrackingRefused("The body is not valid gzip.", code="invalid_gzip") from None
            if len(raw) <= limit and not inflater.eof:
                raise TrackingRefused("The gzip body is truncated.", code="invalid_gzip")
        elif encoding not in ("", "identity"):
            raise TrackingRefused(
                f"Content-Encoding {encoding!r} is not supported; use gzip.", code="invalid_request"
            )
        if len(raw) > limit:
            raise _too_large(limit)
        try:
            # NaN, Infinity and 1e400 parse (to floats) so the one message holding them is refused
            # by services.message_parse, naming it, like NUL and lone surrogates.
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise TrackingRefused("The body is not valid JSON.", code="invalid_json") from None


class WriteKeyAuthentication(BaseAuthentication):
    """Segment's write key: the user name of HTTP Basic auth (what the SDKs send), or `writeKey`
    in the body. It is a Waymark API key, so it names the workspace and a revoked one fails."""

    def authenticate(self, request):
        raw = None
        header = get_authorization_header(request).decode("latin-1")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "basic":
                try:
                    raw = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
                except (ValueError, UnicodeDecodeError):
                    raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from None
            elif scheme.lower() == "bearer":
                raw = value.strip()
            else:
                raise exceptions.AuthenticationFailed(
                    "Use Basic auth with the write key as user name."
                )
        if not raw and isinstance(request.data, dict):
            raw = request.data.get("writeKey")
        if not raw:
            return None
        key = api_key_lookup(str(raw))
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked write key.")
        if not key_allows_origin(key, request.headers.get("Origin")):
            raise exceptions.PermissionDenied(
                "This write key is not allowed from this page's origin."
            )
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return 'Basic realm="tracking"'


class WriteKeyScheme(OpenApiAuthenticationExtension):
    target_class = WriteKeyAuthentication
    name = "writeKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Segment-style: a Waymark API key (wm_…) as the user name, empty password.",
        }


def tracking_exception_handler(exc, context):
    """The API's own handling (status codes, Retry-After, 503 on outages) in Segment's words."""
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    error = response.data.get("error", {}) if isinstance(response.data, dict) else {}
    response.data = {
        "success": False,
        "code": error.get("code", "error"),
        "message": error.get("message", ""),
    }
    return response


_ERRORS = {
    400: OpenApiResponse(
        s.TrackingErrorSerializer,
        description="Malformed or too large (500 KB per call, 32 KB per message).",
    ),
    401: OpenApiResponse(s.TrackingErrorSerializer, description="Unknown or revoked write key."),
    429: OpenApiResponse(s.TrackingErrorSerializer, description="Rate limited; see Retry-After."),
}


def _schema(summary: str, request, description: str = ""):
    return extend_schema(
        operation_id=f"tracking_{summary.split()[0].lower()}",
        summary=summary,
        description=description,
        tags=["tracking"],
        request={"application/json": request},
        responses={200: s.TrackingSuccessSerializer, **_ERRORS},
    )


class TrackingView(WorkspaceAPIView):
    """One endpoint of the tracking API; `kind` is the message type it takes, or "batch"."""

    authentication_classes = [WriteKeyAuthentication]
    parser_classes = [TrackingBodyParser]
    renderer_classes = [JSONRenderer]
    kind = ""
    max_body_bytes = services.MAX_MESSAGE_BYTES

    def get_exception_handler(self):
        return tracking_exception_handler

    def post(self, request):
        received_at = timezone.now()
        try:
            messages, errors = services.tracking_parse(
                body=request.data, kind=self.kind, received_at=received_at
            )
        except services.TrackingError as exc:
            raise TrackingRefused(str(exc), code=exc.code) from exc
        services.tracking_apply(workspace=self.workspace, messages=messages)
        return Response({"success": True, "errors": errors} if errors else {"success": True})


class IdentifyView(TrackingView):
    kind = "identify"

    @_schema(
        "Identify a customer",
        s.TrackingIdentifySerializer,
        "Creates or updates the customer (traits, context).",
    )
    def post(self, request):
        return super().post(request)


class TrackView(TrackingView):
    kind = "track"

    @_schema(
        "Track an event",
        s.TrackingTrackSerializer,
        "Stored and processed exactly like POST /api/v1/events.",
    )
    def post(self, request):
        return super().post(request)


class PageView(TrackingView):
    kind = "page"

    @_schema(
        "Page view",
        s.TrackingPageSerializer,
        "Stored as the event page_viewed with properties, name and url.",
    )
    def post(self, request):
        return super().post(request)


class ScreenView(TrackingView):
    kind = "screen"

    @_schema(
        "Screen view",
        s.TrackingPageSerializer,
        "Stored as the event screen_viewed with properties and name.",
    )
    def post(self, request):
        return super().post(request)


class GroupView(TrackingView):
    kind = "group"

    @_schema(
        "Group a customer",
        s.TrackingGroupSerializer,
        "Sets the attributes group_id and group (the traits).",
    )
    def post(self, request):
        return super().post(request)


class AliasView(TrackingView):
    kind = "alias"

    @_schema(
        "Alias an id",
        s.TrackingAliasSerializer,
        "Merges the customer known as previousId into userId.",
    )
    def post(self, request):
        return super().post(request)


class BatchView(TrackingView):
    kind = "batch"
    max_body_bytes = services.MAX_CALL_BYTES

    @_schema(
        "Batch of messages",
        s.TrackingBatchSerializer,
        "What the SDKs send: up to 500 KB, 32 KB per message, one transaction. A malformed message "
        "is left out and reported in `errors`; the others are stored.",
    )
    def post(self, request):
        return super().post(request)
