"""Web origins of publishable keys: their shape, which key a page may use, and CORS on /v1/."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

from .errors import path_error
from .models import ApiKey, ApiKeyKind

TRACKING_PREFIX = "/v1/"
MAX_ALLOWED_ORIGINS = 50
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer
ALLOWED_METHODS = "GET, POST, OPTIONS"
# What analytics.js and the SDKs send on a cross-origin call: RudderStack's JS SDK adds AnonymousId
# and SentAt to every call, and its retry queue the Rsa-* headers (@rudderstack/analytics-js 3.x).
ALLOWED_HEADERS = (
    "Authorization, Content-Type, Content-Encoding, AnonymousId, SentAt, Rsa-Recovered, "
    "Rsa-Retry-Attempt, Rsa-Since-Last-Attempt, Rsa-Since-First-Attempt, Rsa-Retry-Reason"
)


def origin_normalize(text: str) -> str | None:
    """`text` as a browser writes it in `Origin` (lower-case scheme and host, no default port,
    no path), or None when it is not an http(s) origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if (
        parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        return None
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def key_allows_origin(key: ApiKey, origin: str | None) -> bool:
    """Whether a call made with `key` from a page of `origin` may go on. Calls without an
    Origin (servers, apps) and secret keys are not browser calls this check is about."""
    if origin is None or key.kind != ApiKeyKind.PUBLISHABLE:
        return True
    return origin_normalize(origin) in (key.allowed_origins or [])


def origin_allowed_by_some_key(origin: str) -> bool:
    """A preflight carries no key, so it is answered for origins some active publishable key
    allows; the actual call is then checked against its own key (key_allows_origin)."""
    normalized = origin_normalize(origin)
    if normalized is None:
        return False
    return (
        ApiKey.objects.unscoped()
        .filter(
            kind=ApiKeyKind.PUBLISHABLE,
            revoked_at__isnull=True,
            allowed_origins__contains=[normalized],
        )
        .exists()
    )


class TrackingCorsMiddleware:
    """CORS for the tracking API under /v1/: preflights answered and Access-Control-Allow-Origin
    given only for origins of publishable keys. Nothing is changed for other paths."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith(TRACKING_PREFIX):
            return self.get_response(request)
        allowed = origin_allowed_by_some_key(origin)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed:
                return path_error(
                    request.path,
                    403,
                    "origin_not_allowed",
                    f"No publishable key of this server allows the origin {origin!r}.",
                )
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        else:
            response = self.get_response(request)
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ["Origin"])
        return response
