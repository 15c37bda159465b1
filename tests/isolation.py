"""The isolation sweep's registry: how to make an object behind every parameterized API route.

Every route under /api/v1 with a path parameter must have an entry here, or the sweep fails
and names the route. An entry takes the owning workspace and returns
(url kwargs, values that must never appear in another workspace's response).
Apps add entries with `@isolation_case("route-name", ...)` in tests/<app>/isolation_cases.py.
"""

from __future__ import annotations

from collections.abc import Callable

IsolationFactory = Callable[..., tuple[dict, list[str]]]
CASES: dict[str, IsolationFactory] = {}
# Routes without path parameters that list or search tenant rows: the sweep checks that the
# other workspace's list does not show the first workspace's values.
LIST_ROUTES: dict[str, IsolationFactory] = {}


def isolation_case(*route_names: str):
    def register(factory: IsolationFactory) -> IsolationFactory:
        for name in route_names:
            CASES[name] = factory
        return factory

    return register


def isolation_list(*route_names: str):
    def register(factory: IsolationFactory) -> IsolationFactory:
        for name in route_names:
            LIST_ROUTES[name] = factory
        return factory

    return register
