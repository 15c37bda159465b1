"""The web inbox under /v1/: a publishable key plus userHash reads one user's in-app messages,
and the workspace's identity secret (owners only) rotates."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client

from audiences.models import Customer
from channels_app.models import Message

from .conftest import basic
from .test_browser_tracking import SHOP, publishable

pytestmark = pytest.mark.django_db


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def secret_of(api) -> str:
    response = api.get("/api/v1/workspace/identity-secret")
    assert response.status_code == 200
    return response.json()["identity_secret"]


def in_app(workspace, external_id: str, title: str, **fields) -> Message:
    customer, _ = Customer.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, external_id=external_id
    )
    return Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="in_app",
        content={"title": title, "body": f"{title} body", "link": "https://shop.example/sale"},
        status=fields.pop("status", "delivered"),
        **fields,
    )


def inbox(key: str, user_id: str, hash_: str | None, **query):
    params = {"userId": user_id, **query}
    if hash_ is not None:
        params["userHash"] = hash_
    return Client().get("/v1/inbox", params, HTTP_AUTHORIZATION=basic(key), HTTP_ORIGIN=SHOP)


def read(key: str, message_id: int, user_id: str, hash_: str):
    return Client().post(
        f"/v1/inbox/{message_id}/read",
        data=json.dumps({"userId": user_id, "userHash": hash_}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(key),
        HTTP_ORIGIN=SHOP,
    )


def test_the_right_hash_reads_the_users_messages_newest_first(api, workspace):
    key = publishable(api)
    older = in_app(workspace, "ann", "Welcome")
    newer = in_app(workspace, "ann", "Sale")
    in_app(workspace, "bob", "Not Ann's")
    Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=older.customer, channel="email", content={}, status="sent"
    )
    response = inbox(key, "ann", user_hash(secret_of(api), "ann"))
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == SHOP
    body = response.json()
    assert [m["id"] for m in body["results"]] == [newer.pk, older.pk]
    assert body["results"][0]["content"]["title"] == "Sale"
    assert body["next"] is None


def test_a_wrong_or_missing_hash_gets_no_data(api, workspace):
    key = publishable(api)
    in_app(workspace, "ann", "Secret offer")
    bob_hash = user_hash(secret_of(api), "bob")
    for hash_ in (None, "", bob_hash, "0" * 64, user_hash("not-the-secret", "ann")):
        response = inbox(key, "ann", hash_)
        assert response.status_code == 403, (hash_, response.status_code)
        assert b"Secret offer" not in response.content
        assert response.json()["code"] == "invalid_user_hash"
        assert "userHash" in response.json()["message"]
    assert inbox(key, "", bob_hash).status_code == 400
    # The API's own secret key is no way around the hash either.
    assert inbox(api.raw_key, "ann", bob_hash).status_code == 403


def test_no_key_or_a_page_of_another_origin_is_refused(api, workspace):
    key = publishable(api)
    in_app(workspace, "ann", "Hi")
    right = user_hash(secret_of(api), "ann")
    assert Client().get("/v1/inbox", {"userId": "ann", "userHash": right}).status_code in (401, 403)
    elsewhere = Client().get(
        "/v1/inbox",
        {"userId": "ann", "userHash": right},
        HTTP_AUTHORIZATION=basic(key),
        HTTP_ORIGIN="https://evil.example",
    )
    assert elsewhere.status_code == 403


def test_an_unknown_user_with_a_right_hash_has_an_empty_inbox(api, workspace):
    key = publishable(api)
    response = inbox(key, "nobody-yet", user_hash(secret_of(api), "nobody-yet"))
    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None}


def test_the_inbox_is_paginated(api, workspace):
    key = publishable(api)
    made = [in_app(workspace, "ann", f"m{i}").pk for i in range(5)]
    right = user_hash(secret_of(api), "ann")
    seen, cursor = [], None
    while True:
        page = inbox(key, "ann", right, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [m["id"] for m in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)


def test_reading_marks_only_the_users_own_message_of_this_workspace(
    api, workspace, other_workspace
):
    key = publishable(api)
    mine = in_app(workspace, "ann", "Mine")
    bobs = in_app(workspace, "bob", "Bob's")
    theirs = in_app(other_workspace, "ann", "Other tenant")
    right = user_hash(secret_of(api), "ann")

    response = read(key, mine.pk, "ann", right)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "read" and response.json()["read_at"]
    mine.refresh_from_db()
    assert mine.read_at is not None

    assert read(key, bobs.pk, "ann", right).status_code == 404
    assert read(key, theirs.pk, "ann", right).status_code == 404
    assert read(key, mine.pk, "ann", user_hash(secret_of(api), "bob")).status_code == 403
    for untouched in (bobs, theirs):
        untouched.refresh_from_db()
        assert untouched.read_at is None
    listed = inbox(key, "ann", right).json()["results"]
    assert [(m["id"], bool(m["read_at"])) for m in listed] == [(mine.pk, True)]


def test_rotating_the_identity_secret_stops_the_old_hashes(api, workspace):
    key = publishable(api)
    in_app(workspace, "ann", "Hi")
    old_secret = secret_of(api)
    assert inbox(key, "ann", user_hash(old_secret, "ann")).status_code == 200

    rotated = api.post("/api/v1/workspace/identity-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["identity_secret"]
    assert new_secret != old_secret and secret_of(api) == new_secret
    assert inbox(key, "ann", user_hash(old_secret, "ann")).status_code == 403
    assert inbox(key, "ann", user_hash(new_secret, "ann")).status_code == 200


def test_only_owners_see_or_rotate_the_identity_secret(api, editor_api, viewer_api, workspace):
    secret = secret_of(api)
    for client in (editor_api, viewer_api):
        for method in ("get", "post"):
            response = getattr(client, method)("/api/v1/workspace/identity-secret")
            assert response.status_code == 403
            assert secret not in response.content.decode()
    assert secret_of(api) == secret
    key = publishable(api)
    assert (
        Client()
        .get("/api/v1/workspace/identity-secret", HTTP_AUTHORIZATION=f"Bearer {key}")
        .status_code
        == 403
    )


def test_each_workspace_has_its_own_identity_secret(api, other_api):
    assert secret_of(api) != secret_of(other_api)
