"""The isolation sweep: every API route, called with another workspace's key, answers 404 and
leaks nothing; list routes never show another workspace's rows."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from tests.isolation import CASES, LIST_ROUTES

METHODS = ("get", "post", "put", "patch", "delete")

# Load every app's isolation_cases module so its routes register.
for module in pkgutil.walk_packages(tests.__path__, "tests."):
    if module.name.endswith(".isolation_cases"):
        importlib.import_module(module.name)


def _api_routes():
    """(name, pattern, callback) for every named route under /api/v1."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                found.append((p.name, prefix + str(p.pattern), p.callback))

    walk(get_resolver().url_patterns, "")
    return [r for r in found if r[1].startswith("api/v1/") and r[0] != "schema"]


def _methods(callback):
    actions = getattr(callback, "actions", None)
    if actions:
        return [m for m in METHODS if m in actions]
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    return [m for m in METHODS if view_class is not None and hasattr(view_class, m)]


ROUTES = _api_routes()
PARAM_ROUTES = [r for r in ROUTES if "<" in r[1] or "(?P" in r[1]]


def test_every_parameterized_route_is_in_the_sweep():
    missing = sorted({name for name, _, _ in PARAM_ROUTES} - set(CASES))
    assert not missing, f"add isolation cases for: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("name,pattern,callback", PARAM_ROUTES, ids=[r[0] for r in PARAM_ROUTES])
def test_another_workspace_gets_404_and_no_data(name, pattern, callback, workspace, other_api):
    kwargs, secrets = CASES[name](workspace)
    url = reverse(name, kwargs=kwargs)
    for method in _methods(callback):
        response = getattr(other_api, method)(url, {}, format="json")
        assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}"
        body = response.content.decode()
        assert response.json()["error"]["code"] == "not_found"
        for value in secrets:
            assert str(value) not in body, f"{method.upper()} {url} leaked {value!r}"


LIST_NAMES = sorted(LIST_ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("name", LIST_NAMES)
def test_lists_never_show_another_workspace(name, workspace, other_api):
    kwargs, secrets = LIST_ROUTES[name](workspace)
    response = other_api.get(reverse(name))
    assert response.status_code == 200
    for value in secrets:
        assert str(value) not in response.content.decode()
