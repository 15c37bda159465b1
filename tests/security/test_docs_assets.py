"""/api/docs runs no third-party code: Swagger UI's scripts, styles and icon come from our own
static files (drf-spectacular-sidecar), so a CDN cannot change what runs on our origin."""

from __future__ import annotations

import re

from django.test import Client

URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
URL_LITERAL = re.compile(r"""["'`]((?:https?:)?//[^"'`\s]+)""")


def test_the_docs_page_references_no_external_host(db):
    response = Client().get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    external = [u for u in URL_ATTRIBUTE.findall(page) + URL_LITERAL.findall(page) if "//" in u.split("?")[0][:8]]
    assert external == [], external
    assets = [u for u in URL_ATTRIBUTE.findall(page) if u.startswith("/static/")]
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:  # and every one of them is actually served
        assert Client().get(asset).status_code == 200, asset
