"""Web Push for sites' pages under /v1/: the VAPID public key a browser subscribes with, and the
subscription registered as the signed-in user's `web` push token (userId + userHash, as for the
web inbox, so nobody can point another user's notifications at their own browser).
/sdk/waymark-push.js subscribes; /sdk/waymark-sw.js is the service worker's code a site loads
with importScripts from its own /waymark-sw.js."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from audiences.services import customers_upsert
from workspaces.viewsets import WorkspaceAPIView

from . import selectors
from .web_inbox import _ERRORS, InboxIdentitySerializer, WebInboxMixin

SDK_DIR = Path(__file__).resolve().parent / "sdk"
MAX_ENDPOINT = 2000  # push services' endpoints are a few hundred characters


class _Keys(serializers.Serializer):
    p256dh = serializers.RegexField(  # a 65-byte P-256 point
        r"^[A-Za-z0-9_-]{80,100}={0,2}$",
        error_messages={"invalid": "Must be the browser's base64url P-256 public key."},
    )
    auth = serializers.RegexField(  # a 16-byte secret
        r"^[A-Za-z0-9_-]{16,32}={0,2}$",
        error_messages={"invalid": "Must be the browser's base64url auth secret."},
    )


class _Subscription(serializers.Serializer):
    """PushSubscription.toJSON() as the browser gives it."""

    endpoint = serializers.URLField(max_length=MAX_ENDPOINT)
    expirationTime = serializers.IntegerField(required=False, allow_null=True)
    keys = _Keys()

    def validate_endpoint(self, value: str) -> str:
        if urlsplit(value).scheme not in ("https", "http"):
            raise serializers.ValidationError("Must be the push service's URL.")
        return value


class PushSubscribeSerializer(InboxIdentitySerializer):
    subscription = _Subscription()


class WebPushSettingsView(WebInboxMixin, WorkspaceAPIView):
    @extend_schema(
        operation_id="web_push_settings",
        tags=["tracking"],
        responses={
            200: inline_serializer("WebPushSettings", {"vapid_public_key": serializers.CharField()}),
            **_ERRORS,
        },
        description="The VAPID public key a page passes to pushManager.subscribe as "
        "applicationServerKey (publishable key). 404 while no Web Push channel is set up.",
    )
    def get(self, request):
        config = selectors.web_push_config(workspace=self.workspace)
        if config is None:
            raise exceptions.NotFound("No Web Push channel is set up in this workspace.")
        return Response({"vapid_public_key": config.settings.get("vapid_public_key", "")})


class WebPushSubscribeView(WebInboxMixin, WorkspaceAPIView):
    @extend_schema(
        operation_id="web_push_subscribe",
        tags=["tracking"],
        request=PushSubscribeSerializer,
        responses={200: OpenApiResponse(description="{\"success\": true}"), **_ERRORS},
        description="Registers the browser's push subscription as the user's `web` push token "
        "(the customer is made when new). userHash as for the web inbox.",
    )
    def post(self, request):
        body = PushSubscribeSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        self.identified_customer(body.validated_data)  # refuses a wrong userHash (403)
        subscription = body.validated_data["subscription"]
        token = json.dumps(
            {
                "endpoint": subscription["endpoint"],
                "expirationTime": subscription.get("expirationTime"),
                "keys": dict(subscription["keys"]),
            },
            separators=(",", ":"),
        )
        result = customers_upsert(
            workspace=self.workspace,
            customers=[
                {
                    "external_id": body.validated_data["userId"],
                    "push_tokens": [{"platform": "web", "token": token}],
                }
            ],
        )
        if result.errors:
            raise exceptions.ValidationError({"subscription": [result.errors[0]["error"]]})
        return Response({"success": True})


def _script(name: str):
    body = (SDK_DIR / name).read_bytes()

    def view(request):
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
        response["Cache-Control"] = "public, max-age=300"
        return response

    return view


push_sdk_script = _script("waymark-push.js")
service_worker_script = _script("waymark-sw.js")

urlpatterns = [
    path("push/settings", WebPushSettingsView.as_view(), name="web-push-settings"),
    path("push/subscriptions", WebPushSubscribeView.as_view(), name="web-push-subscribe"),
]
