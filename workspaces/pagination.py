"""Keyset pagination: `?limit=&cursor=` → {"results": [...], "next": cursor|null}."""

from __future__ import annotations

import base64
import json

from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

MAX_LIMIT = 1000


class CursorPagination(BasePagination):
    """Orders by a unique column (`view.cursor_field`, default "-id"); the cursor is opaque."""

    default_limit = 50

    def _decode(self, cursor: str):
        try:
            return json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())["v"]
        except Exception as exc:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from exc

    @staticmethod
    def _encode(value) -> str:
        return base64.urlsafe_b64encode(json.dumps({"v": value}).encode()).decode()

    def paginate_queryset(self, queryset, request, view=None):
        raw_limit = request.query_params.get("limit")
        try:
            limit = int(raw_limit) if raw_limit else self.default_limit
        except ValueError as exc:
            raise exceptions.ValidationError({"limit": ["Must be an integer."]}) from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise exceptions.ValidationError({"limit": [f"Must be between 1 and {MAX_LIMIT}."]})
        field = getattr(view, "cursor_field", "-id")
        name = field.lstrip("-")
        descending = field.startswith("-")
        queryset = queryset.order_by(field)
        cursor = request.query_params.get("cursor")
        if cursor:
            value = self._decode(cursor)
            queryset = queryset.filter(**{f"{name}__{'lt' if descending else 'gt'}": value})
        rows = list(queryset[: limit + 1])
        self._next = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = getattr(rows[-1], name)
            self._next = self._encode(last if isinstance(last, (int, str)) else str(last))
        return rows

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self._next})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {"results": schema, "next": {"type": "string", "nullable": True}},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
        ]
