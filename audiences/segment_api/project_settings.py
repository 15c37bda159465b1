"""What the browser SDKs load before they send anything: `GET /v1/projects/{writeKey}/settings` for
@segment/analytics-next (its cdnURL), pointing its Segment.io destination at this server's /v1/,
and `GET /v1/sourceConfig/?writeKey=` for @rudderstack/analytics-js (its configUrl)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.auth import api_key_lookup

from .views import tracking_exception_handler

# analytics-next reads these keys; anything it does not find it takes from Segment's own CDN
# defaults, which would send metrics to api.segment.io (sampleRate 0 keeps them off).
_ALL_EVENTS_ON = {"__default": {"enabled": True, "integrations": {}}}


def project_settings(*, write_key: str, api_host: str, protocol: str) -> dict:
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "protocol": protocol,
                "unbundledIntegrations": [],
                "addBundledMetadata": False,
                "maybeBundledConfigIds": {},
                "versionSettings": {"version": "4.4.7", "componentTypes": ["browser"]},
            }
        },
        "plan": {"track": _ALL_EVENTS_ON, "identify": _ALL_EVENTS_ON, "group": _ALL_EVENTS_ON},
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


class ProjectSettingsView(APIView):
    """Public like Segment's CDN: the write key in the path is the only credential, and the
    answer holds nothing but that key and where to send calls."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return tracking_exception_handler

    @extend_schema(
        operation_id="tracking_project_settings",
        summary="analytics.js settings for a write key",
        tags=["tracking"],
        responses={200: dict, 404: OpenApiResponse(description="Unknown or revoked write key.")},
    )
    def get(self, request, write_key: str):
        if api_key_lookup(write_key) is None:
            raise exceptions.NotFound("Unknown or revoked write key.")
        api_host = f"{request.get_host()}/v1"
        return Response(
            project_settings(write_key=write_key, api_host=api_host, protocol=request.scheme)
        )


def source_config(*, write_key: str) -> dict:
    """A RudderStack source with no device-mode destinations: the SDK sends every call to its
    dataPlaneUrl (this server) and loads nothing else."""
    return {
        "isHosted": False,
        "source": {
            "id": "waymark",
            "name": "Waymark",
            "writeKey": write_key,
            "enabled": True,
            "config": {},
            "destinations": [],
        },
    }


class SourceConfigView(ProjectSettingsView):
    """Public like RudderStack's control plane: the write key is the only credential, and the
    answer holds nothing but that key."""

    @extend_schema(
        operation_id="tracking_source_config",
        summary="RudderStack JS SDK source configuration for a write key",
        tags=["tracking"],
        parameters=[OpenApiParameter("writeKey", str, required=True)],
        responses={
            200: dict,
            400: OpenApiResponse(description="No writeKey given."),
            404: OpenApiResponse(description="Unknown or revoked write key."),
        },
    )
    def get(self, request):
        write_key = request.query_params.get("writeKey", "")
        if not write_key:
            raise serializers.ValidationError({"writeKey": ["Give the write key as ?writeKey=."]})
        if api_key_lookup(write_key) is None:
            raise exceptions.NotFound("Unknown or revoked write key.")
        return Response(source_config(write_key=write_key))
