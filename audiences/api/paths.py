"""Customer paths: every external id, whatever it holds, reachable at /api/v1/customers/{id}.

An external id may hold any character, '/' included, while …/events, …/enrollments and …/inbox
name a customer's sub-resources. Servers hand Django the path already percent-decoded, so
"a%2Fevents" and "a/events" would look the same and the sub-route would win. The rule (as
GitLab's API does for project paths): a slash the client percent-encodes (%2F) is part of the
id; a literal slash separates path segments. A literal slash still works inside ids that do not
end in a sub-resource's name ("a/b"), so existing clients keep working.

CustomerPathMiddleware re-reads the raw path the server received and writes the customer part of
`path_info` in an escaped form ('%' as %25, an encoded slash as %2F); the `external_id` path
converter unescapes it. The two belong together: every route carrying an external id uses the
converter, and the middleware runs for every request under CUSTOMERS_PREFIX.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from django.urls import register_converter
from django.utils.deprecation import MiddlewareMixin

CUSTOMERS_PREFIX = "/api/v1/customers/"
# PUT /customers/import is the CSV upload; every other method there addresses the customer
# whose id is "import" (written with an escaped first letter so the upload route cannot match).
IMPORT_PATH, IMPORT_AS_ID = CUSTOMERS_PREFIX + "import", CUSTOMERS_PREFIX + "%69mport"
ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


class ExternalIdConverter:
    """A customer's external_id in a path (escaped by CustomerPathMiddleware): one or more
    segments, up to a literal /inbox, /enrollments or /events segment (the sub-resources)."""

    regex = r"(?:(?!/(?:inbox|enrollments|events)(?:/|$)).)+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        # reverse() percent-encodes what this returns, so an escaped form would be encoded twice;
        # the literal id is right for every id that does not end in a sub-resource's name.
        return value


register_converter(ExternalIdConverter, "external_id")


def _raw_path(request) -> str | None:
    """The path as the client sent it, still percent-encoded: ASGI's raw_path (uvicorn, daphne),
    or the request line's URI under WSGI servers that keep it (gunicorn RAW_URI, uWSGI and
    mod_wsgi REQUEST_URI). None when the server kept no raw form (Django's test client)."""
    scope = getattr(request, "scope", None)
    if scope is not None:
        raw = scope.get("raw_path")
        return raw.decode("utf-8", "replace") if raw else None
    uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not uri:
        return None
    uri = uri.encode("latin-1", "replace").decode("utf-8", "replace")  # WSGI strings carry bytes (PEP 3333)
    return urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0]


def customer_path_escaped(request) -> str:
    """`request.path_info` with the customer part escaped for ExternalIdConverter: '%' as %25 and
    each slash the client percent-encoded as %2F. Without a trustworthy raw path every slash
    counts as literal."""
    path_info, full = request.path_info, request.path
    escaped = None
    raw = _raw_path(request)
    if raw is not None and ENCODED_SLASH.search(raw):
        pieces = [unquote(piece, errors="replace").replace("%", "%25") for piece in ENCODED_SLASH.split(raw)]
        candidate = "%2F".join(pieces)
        script = full[: len(full) - len(path_info)]
        # Only when the raw path is this very request's path (no proxy rewrote it) and the encoded
        # slashes sit in the customer part: a structural slash sent encoded stays a slash.
        if unquote(candidate) == full and candidate.startswith(script + CUSTOMERS_PREFIX):
            escaped = candidate[len(script):]
    if escaped is None:
        escaped = CUSTOMERS_PREFIX + path_info[len(CUSTOMERS_PREFIX):].replace("%", "%25")
    if escaped == IMPORT_PATH and request.method != "PUT":
        escaped = IMPORT_AS_ID
    return escaped


class CustomerPathMiddleware(MiddlewareMixin):
    """Escapes the customer part of /api/v1/customers/… paths before URL resolution."""

    def process_request(self, request):
        if request.path_info.startswith(CUSTOMERS_PREFIX):
            request.path_info = customer_path_escaped(request)
