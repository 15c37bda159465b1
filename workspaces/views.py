"""Plain Django views: health, the SPA shell, and JSON error pages for /api."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error

from .errors import json_error
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


def api_not_found(request, *args, **kwargs):
    return json_error(404, "not_found", "Not found.")


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(404, "not_found", "Not found.")
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_error(500, "server_error", "Internal server error.")
    return server_error(request)
