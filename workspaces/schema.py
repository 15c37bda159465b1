"""OpenAPI descriptions of our two authentication schemes (drf-spectacular extensions)."""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "workspaces.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "wm_… API key"}


class WorkspaceSessionScheme(SessionScheme):
    target_class = "workspaces.auth.SessionAuthentication"
    name = "session"


# Every API answer that is not a success has the one error body (workspaces/errors.py); each
# operation documents the statuses any endpoint may answer, so clients and fuzzers know them.
ERROR_STATUSES = {
    "400": "Validation error: `details` maps each field to its messages.",
    "401": "Missing, invalid or revoked credentials.",
    "403": "Your role may not do this.",
    "404": "Not found (also another workspace's object).",
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
    "429": "Rate limited; retry after `Retry-After` seconds.",
    "503": "PostgreSQL or Redis is unavailable; retry after `Retry-After` seconds.",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}


# The tracking API (/v1/) answers in Segment's shape (audiences/segment_api) and documents its
# own 400/401/429; these are the others any of its calls may get from the shared layers: a viewer
# key (403), the body limit in front of every view (413) and an outage (503).
TRACKING_ERROR_STATUSES = {
    "403": "Your role may not do this.",
    "413": "The request body is larger than the server accepts at all.",
    "503": "PostgreSQL or Redis is unavailable; retry after `Retry-After` seconds.",
}
TRACKING_ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "code", "message"],
    "properties": {"success": {"type": "boolean"}, "code": {"type": "string"}, "message": {"type": "string"}},
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error responses of every /api/v1 and /v1 operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas.setdefault("TrackingError", TRACKING_ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    tracking_ref = {"$ref": "#/components/schemas/TrackingError"}
    for path, operations in result.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in TRACKING_ERROR_STATUSES.items():
                    responses.setdefault(
                        status, {"content": {"application/json": {"schema": tracking_ref}}, "description": description}
                    )
            continue
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            statuses = dict(ERROR_STATUSES)
            if method in ("post", "put", "patch", "delete"):
                statuses["409"] = "The object's state does not allow this."
            for status, description in statuses.items():
                responses.setdefault(status, {"content": {"application/json": {"schema": ref}}, "description": description})
    return result
