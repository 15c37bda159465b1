"""`GET /v1/projects/{writeKey}/settings`: what @segment/analytics-next loads from its cdnURL before
it sends anything, pointing its Segment.io destination at this server's /v1/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
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
