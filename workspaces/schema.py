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
