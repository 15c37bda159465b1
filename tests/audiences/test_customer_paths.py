"""Every external id is reachable at /customers/{id}: a slash the client percent-encodes (%2F) is
part of the id, so ids ending in /events, /enrollments or /inbox (or equal to "import") are
read, patched and erased like any other, and the sub-routes keep working."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from audiences.models import Customer
from audiences.services import events_ingest
from channels_app.models import Message
from tests.analytics.test_live import live_server_url  # noqa: F401  (fixture: uvicorn on a free port)
from tests.conftest import make_client

from .factories import CustomerFactory

# Ids a sub-route (or the import upload) used to capture, plus ordinary ones.
TRICKY = ["a/events", "x/inbox", "y/enrollments", "x/inbox/7/read", "import", "100%25 off/%2F", "a/b", "plain"]


def customer_url(external_id: str, suffix: str = "") -> str:
    """What a client sends: the id percent-encoded as one path segment (encodeURIComponent)."""
    return f"/api/v1/customers/{quote(external_id, safe='')}{suffix}"


def call(client, method: str, url: str, **kwargs):
    """A request through the test client with the raw request URI a WSGI server such as uWSGI or
    mod_wsgi passes on (REQUEST_URI): the test client itself only gives the decoded path."""
    return getattr(client, method)(url, REQUEST_URI=url, format="json", **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("external_id", TRICKY)
def test_read_patch_and_delete_any_external_id(api, workspace, external_id):
    CustomerFactory(workspace=workspace, external_id=external_id, attributes={"plan": "free"})
    CustomerFactory(workspace=workspace, external_id=external_id.split("/")[0] + "-other")
    url = customer_url(external_id)

    got = call(api, "get", url)
    assert got.status_code == 200, got.content
    assert got.json()["external_id"] == external_id

    patched = call(api, "patch", url, data={"attributes": {"plan": "pro"}})
    assert patched.status_code == 200, patched.content
    assert patched.json()["external_id"] == external_id and patched.json()["attributes"]["plan"] == "pro"
    assert Customer.objects.for_workspace(workspace).get(external_id=external_id).attributes["plan"] == "pro"

    assert call(api, "delete", url).status_code == 204
    assert call(api, "get", url).status_code == 404
    assert not Customer.objects.for_workspace(workspace).filter(external_id=external_id).exists()
    assert Customer.objects.for_workspace(workspace).count() == 1  # only that one was erased


@pytest.mark.django_db
def test_sub_routes_work_for_plain_and_slashed_ids(api, workspace):
    plain = CustomerFactory(workspace=workspace, external_id="plain")
    tricky = CustomerFactory(workspace=workspace, external_id="a/events")
    owner_of_a = CustomerFactory(workspace=workspace, external_id="a")
    events_ingest(workspace=workspace, events=[
        {"customer_id": "plain", "name": "plain_event"},
        {"customer_id": "a/events", "name": "tricky_event"},
        {"customer_id": "a", "name": "a_event"},
    ])
    Message.objects.unscoped().create(workspace=workspace, customer=tricky, channel="in_app", status="sent",
                                      content={"title": "Hello"})
    for customer, event in ((plain, "plain_event"), (tricky, "tricky_event"), (owner_of_a, "a_event")):
        urls = [customer_url(customer.external_id, "/events")]
        if customer is not tricky:  # the literal form stays fine for ids without a sub-route's name
            urls.append(f"/api/v1/customers/{customer.external_id}/events")
        for url in urls:
            response = call(api, "get", url)
            assert response.status_code == 200, (url, response.content)
            assert [e["name"] for e in response.json()["results"]] == [event], url
        enrollments = call(api, "get", customer_url(customer.external_id, "/enrollments"))
        assert enrollments.status_code == 200 and enrollments.json()["results"] == []
    # A literal /events after a literal slash is still the sub-route of "a" ("a/events" needs %2F).
    assert call(api, "get", "/api/v1/customers/a/events").json()["results"][0]["name"] == "a_event"

    inbox = call(api, "get", customer_url("a/events", "/inbox"))
    assert inbox.status_code == 200, inbox.content
    [message] = inbox.json()["results"]
    read = call(api, "post", customer_url("a/events", f"/inbox/{message['id']}/read"))
    assert read.status_code == 200, read.content
    assert Message.objects.for_workspace(workspace).get(pk=message["id"]).read_at is not None
    assert call(api, "get", customer_url("plain", "/inbox")).status_code == 200
    assert call(api, "get", customer_url("nobody", "/inbox")).status_code == 404


@pytest.mark.django_db
def test_the_csv_upload_keeps_put_customers_import(api):
    response = api.put("/api/v1/customers/import", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_another_workspace_cannot_reach_a_slashed_id(api, other_api, workspace):
    CustomerFactory(workspace=workspace, external_id="secret/events", email="secret@example.com")
    for method in ("get", "patch", "delete"):
        response = call(other_api, method, customer_url("secret/events"), data={"attributes": {"x": 1}})
        assert response.status_code == 404 and "secret" not in response.content.decode()
    assert call(api, "get", customer_url("secret/events")).json()["email"] == "secret@example.com"


def test_over_a_real_asgi_server_encoded_slashes_round_trip(workspace, live_server_url):  # noqa: F811
    """uvicorn hands Django the decoded path and the raw one (scope raw_path): no test-client help."""
    headers = {"Authorization": f"Bearer {make_client(workspace).raw_key}"}
    with httpx.Client(base_url=f"http://{live_server_url}", headers=headers, timeout=10) as http:
        created = http.post("/api/v1/customers", json={"customers": [{"external_id": "a/events"}, {"external_id": "a"}]})
        assert created.json()["created"] == 2, created.text
        url = customer_url("a/events")
        assert http.get(url).json()["external_id"] == "a/events"
        assert http.patch(url, json={"attributes": {"plan": "pro"}}).json()["attributes"] == {"plan": "pro"}
        assert http.get(customer_url("a/events", "/events")).json()["results"] == []
        assert http.get("/api/v1/customers/a/events").status_code == 200  # the events of "a"
        assert http.delete(url).status_code == 204
        assert http.get(url).status_code == 404
        assert http.get(customer_url("a")).json()["external_id"] == "a"
