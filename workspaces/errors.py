"""The one error body of the API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A service refusing what it was asked, by its rules. Services raise this family (never
    DRF's exceptions); api_exception_handler turns it into the error body, here only."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "error"
    default_message = "The request was refused."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict | None = None):
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = details or {}
        super().__init__(self.message)


class ServiceValidationError(ServiceError, ValueError):
    """400: input the service refuses; `details` maps each field to its messages (the message is
    the first of them, as for a serializer's errors)."""

    default_code = "validation_error"

    def __init__(self, details: dict[str, list[str]]):
        super().__init__(_first_message(details), details=details)


class Conflict(ServiceError):
    """409: the object's state does not allow this (e.g. stopping a draft journey)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_message = "The object's state does not allow this."


class ObjectNotFound(ServiceError):
    """404, with the body of any missing object (another workspace's included)."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_message = "Not found."


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "A backing service is unavailable; retry shortly."


class JSONErrorResponse(Response):
    """An error answer is JSON whatever renderer the request negotiated: `?format=csv` or
    `Accept: text/csv` on a CSV export must not turn a 404 into a "CSV" holding the error."""

    @property
    def rendered_content(self):
        self.accepted_renderer = JSONRenderer()
        self.accepted_media_type = self.accepted_renderer.media_type
        return super().rendered_content


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def json_error(status_code: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status_code)


# The Segment-compatible tracking API (/v1/, audiences/segment_api) speaks Segment's error shape.
TRACKING_PREFIX = "/v1/"


def path_error(path: str, status_code: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    """An error answered outside DRF, in the body the path's clients expect: Segment's
    {"success": false, "code", "message"} under /v1/, the API's error body elsewhere."""
    if path.startswith(TRACKING_PREFIX):
        return JsonResponse({"success": False, "code": code, "message": message}, status=status_code)
    return json_error(status_code, code, message, details)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        set_rollback()  # as DRF does for its own exceptions: nothing of a refused request is kept
        return JSONErrorResponse(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)):
        # The database or Redis is down: tell the client to retry, never a 500.
        logger.warning("backing service unavailable: %s", exc)
        exc = ServiceUnavailable()
        response = Response(status=exc.status_code, headers={"Retry-After": "5"})
    elif isinstance(exc, DatabaseError):
        return None  # a real bug: let Django's 500 handler answer
    else:
        if isinstance(exc, Http404):
            exc = exceptions.NotFound()
        elif isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied()
        response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = error_body("validation_error", _first_message(detail), detail)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        details = getattr(exc, "details", None) or {}
        body = error_body(code, _first_message(exc.detail), details)
    else:
        body = error_body("error", str(exc))
    error = JSONErrorResponse(body, status=response.status_code)
    for header, value in response.items():  # Retry-After, WWW-Authenticate, Allow
        if header.lower() != "content-type":
            error[header] = value
    return error
