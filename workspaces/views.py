"""Plain Django views: health, the SPA shell, and JSON error pages for /api."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error

from .errors import path_error
from .redis import get_redis

logger = logging.getLogger(__name__)


def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means unhealthy; the reason is reported
        checks["postgres"] = f"error: {exc.__class__.__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)


def spa(request):
    index = settings.FRONTEND_DIST / "index.html"
    if index.exists():
        return FileResponse(index.open("rb"), content_type="text/html")
    return HttpResponse(
        "<h1>Waymark</h1><p>The front end is not built yet: run <code>make run</code> "
        "(or <code>npm run build</code> in <code>frontend/</code>).</p>",
        content_type="text/html",
    )


# Paths whose clients are programs: every error there is JSON, never Django's HTML page.
API_PREFIXES = ("/api/", "/v1/")


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def api_error(request, status_code: int, code: str, message: str) -> JsonResponse:
    return path_error(request.path, status_code, code, message)


# A path that matches no route is a 404 whatever the method: CSRF protects state changes, and an
# unknown path changes nothing, so it must not answer a DELETE with CSRF's 403 page instead.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return api_error(request, 404, "not_found", "Not found.")


# Django's own error handlers (config/urls.py): they answer what fails before or outside DRF —
# a bad Host header, an unreadable body, a SuspiciousOperation, a missing CSRF token.
def handler400(request, exception=None):
    if _is_api(request):
        return api_error(request, 400, "bad_request", "The request is malformed.")
    return bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return api_error(request, 403, "permission_denied", "You do not have permission to do this.")
    return permission_denied(request, exception)


def handler404(request, exception=None):
    if _is_api(request):
        return api_error(request, 404, "not_found", "Not found.")
    return page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return api_error(request, 500, "server_error", "Internal server error.")
    return server_error(request)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a session write without its CSRF token."""
    if _is_api(request):
        return api_error(request, 403, "csrf_failed", f"CSRF verification failed: {reason}")
    return html_csrf_failure(request, reason)
