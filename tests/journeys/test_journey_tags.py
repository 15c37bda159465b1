"""Journey tags: stored and validated by field, and `GET /journeys?tag=&search=&status=`."""

from __future__ import annotations

import pytest

from .builders import make_journey, valid_graph, valid_settings

pytestmark = pytest.mark.django_db
URL = "/api/v1/journeys"


def create(api, name: str, **body):
    response = api.post(
        URL,
        {"name": name, "graph": valid_graph(), "settings": valid_settings(), **body},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_tags_are_stored_read_and_replaced(api):
    body = create(api, "Cart recovery", tags=["ecommerce", " carts ", "ecommerce"])
    assert body["tags"] == ["ecommerce", "carts"]
    assert api.get(f"{URL}/{body['id']}").json()["tags"] == ["ecommerce", "carts"]
    patched = api.patch(f"{URL}/{body['id']}", {"tags": ["q4"]}, format="json")
    assert patched.status_code == 200 and patched.json()["tags"] == ["q4"]
    assert api.patch(f"{URL}/{body['id']}", {"name": "Carts"}, format="json").json()["tags"] == ["q4"]
    duplicate = api.post(f"{URL}/{body['id']}/duplicate", {}, format="json").json()
    assert duplicate["tags"] == ["q4"]


@pytest.mark.parametrize(
    "tags",
    ["ecommerce", ["ok", 3], ["ok", ""], [f"t{i}" for i in range(21)], ["x" * 51], [None]],
)
def test_bad_tags_are_a_400_naming_tags_and_change_nothing(api, tags):
    journey = create(api, "Welcome", tags=["kept"])
    response = api.patch(f"{URL}/{journey['id']}", {"tags": tags}, format="json")
    assert response.status_code == 400
    assert "tags" in response.json()["error"]["details"]
    assert api.get(f"{URL}/{journey['id']}").json()["tags"] == ["kept"]
    created = api.post(URL, {"name": "New", "tags": tags}, format="json")
    assert created.status_code == 400 and "tags" in created.json()["error"]["details"]


def test_twenty_tags_of_fifty_characters_are_accepted(api):
    tags = [f"{i:02d}" + "x" * 48 for i in range(20)]
    assert create(api, "Many", tags=tags)["tags"] == tags


def test_list_filters_by_tag_search_and_status_within_the_workspace(api, other_api, workspace):
    create(api, "Cart reminder", tags=["ecommerce", "carts"])
    create(api, "Birthday", tags=["lifecycle"])
    started = create(api, "Cart recovery", tags=["ecommerce"])
    create(api, "Cart upsell", tags=["Ecommerce"])  # tags match exactly
    api.put(f"{URL}/{started['id']}/start", {}, format="json")
    create(other_api, "Cart elsewhere", tags=["ecommerce"])
    make_journey(workspace, name="Untagged cart")

    def names(query):
        response = api.get(f"{URL}{query}")
        assert response.status_code == 200, response.json()
        return sorted(j["name"] for j in response.json()["results"])

    assert names("?tag=ecommerce") == ["Cart recovery", "Cart reminder"]
    assert names("?tag=carts") == ["Cart reminder"]
    assert names("?tag=ecommerce&status=draft") == ["Cart reminder"]
    assert names("?tag=ecommerce&search=RECOV") == ["Cart recovery"]
    assert names("?search=cart&status=draft") == ["Cart reminder", "Cart upsell", "Untagged cart"]
    assert names("?tag=nothing") == []
    first = api.get(f"{URL}?tag=ecommerce&limit=1").json()
    assert len(first["results"]) == 1 and first["next"]
    rest = api.get(f"{URL}?tag=ecommerce&limit=1&cursor={first['next']}").json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    assert {first["results"][0]["name"], rest["results"][0]["name"]} == {"Cart recovery", "Cart reminder"}


def test_every_tag_of_the_workspace_is_listed_with_its_count(
    api, viewer_api, other_api, django_assert_num_queries
):
    for i in range(60):  # more journeys than one page of the list (50)
        create(api, f"Journey {i:02d}", tags=["bulk"] + (["rare"] if i == 59 else []))
    create(api, "Cart reminder", tags=["ecommerce", "carts"])
    create(api, "Cart upsell", tags=["Ecommerce", "ecommerce"])
    create(api, "Untagged")
    create(other_api, "Elsewhere", tags=["ecommerce", "elsewhere"])

    with django_assert_num_queries(3):  # authentication (two) and one read of the tags
        response = viewer_api.get(f"{URL}/tags")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "results": [
            {"tag": "Ecommerce", "journeys": 1},
            {"tag": "bulk", "journeys": 60},
            {"tag": "carts", "journeys": 1},
            {"tag": "ecommerce", "journeys": 2},
            {"tag": "rare", "journeys": 1},
        ],
        "next": None,
    }
    assert other_api.get(f"{URL}/tags").json()["results"] == [
        {"tag": "ecommerce", "journeys": 1},
        {"tag": "elsewhere", "journeys": 1},
    ]
