"""Topics (GET|POST /topics, GET|PUT|DELETE /topics/{key}) and customers' `subscriptions`, read and
written through the customer endpoints."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

NEWS = {"key": "news", "name": "Newsletter", "description": "Monthly", "default": "subscribed"}


def test_topic_crud(api):
    created = api.post("/api/v1/topics", NEWS, format="json")
    assert created.status_code == 201, created.content
    assert {k: created.json()[k] for k in NEWS} == NEWS
    api.post("/api/v1/topics", {"key": "deals", "name": "Deals", "default": "unsubscribed"}, format="json")
    listed = api.get("/api/v1/topics").json()
    assert [t["key"] for t in listed["results"]] == ["deals", "news"] and listed["next"] is None
    assert api.get("/api/v1/topics/deals").json()["default"] == "unsubscribed"
    changed = api.put("/api/v1/topics/news", {"name": "News", "default": "unsubscribed"}, format="json")
    assert changed.status_code == 200 and changed.json()["name"] == "News"
    assert changed.json()["default"] == "unsubscribed" and changed.json()["description"] == "Monthly"
    assert api.delete("/api/v1/topics/news").status_code == 204
    assert api.get("/api/v1/topics/news").status_code == 404


def test_bad_topics_name_the_field(api):
    api.post("/api/v1/topics", NEWS, format="json")
    again = api.post("/api/v1/topics", NEWS, format="json")
    assert again.status_code == 400 and "key" in again.json()["error"]["details"]
    bad = api.post("/api/v1/topics", {"key": "Has Space", "name": "", "default": "maybe"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {"key", "name", "default"}
    renamed = api.put("/api/v1/topics/news", {"key": "other"}, format="json")
    assert renamed.status_code == 400 and "key" in renamed.json()["error"]["details"]


def test_another_workspaces_topic_is_a_404(api, other_api):
    other_api.post("/api/v1/topics", NEWS, format="json")
    assert api.get("/api/v1/topics/news").status_code == 404
    assert api.put("/api/v1/topics/news", {"name": "x"}, format="json").status_code == 404
    assert api.delete("/api/v1/topics/news").status_code == 404
    assert api.get("/api/v1/topics").json()["results"] == []


def test_a_viewer_reads_topics_but_cannot_write_them(api, viewer_api):
    api.post("/api/v1/topics", NEWS, format="json")
    assert viewer_api.get("/api/v1/topics/news").status_code == 200
    assert viewer_api.post("/api/v1/topics", {**NEWS, "key": "x"}, format="json").status_code == 403
    assert viewer_api.delete("/api/v1/topics/news").status_code == 403


def test_customers_read_and_write_subscriptions(api):
    api.post("/api/v1/topics", NEWS, format="json")
    api.post("/api/v1/topics", {"key": "deals", "name": "Deals"}, format="json")
    upserted = api.post(
        "/api/v1/customers",
        {"customers": [
            {"external_id": "ada", "subscriptions": {"news": False}},
            {"external_id": "bob", "subscriptions": {"nope": True}},
            {"external_id": "cy", "subscriptions": {"news": "yes"}},
        ]},
        format="json",
    ).json()
    assert upserted["created"] == 1
    assert [(e["index"], "subscriptions" in e["error"]) for e in upserted["errors"]] == [(1, True), (2, True)]
    assert api.get("/api/v1/customers/ada").json()["subscriptions"] == {"news": False}
    patched = api.patch("/api/v1/customers/ada", {"subscriptions": {"deals": True}}, format="json")
    assert patched.status_code == 200 and patched.json()["subscriptions"] == {"news": False, "deals": True}
    # null forgets the choice: the topic's default holds again.
    cleared = api.patch("/api/v1/customers/ada", {"subscriptions": {"news": None}}, format="json")
    assert cleared.json()["subscriptions"] == {"deals": True}
    unknown = api.patch("/api/v1/customers/ada", {"subscriptions": {"gone": True}}, format="json")
    assert unknown.status_code == 400 and "subscriptions" in unknown.json()["error"]["details"]
    listed = api.get("/api/v1/customers").json()["results"]
    assert listed[0]["subscriptions"] == {"deals": True}
