"""Members join by invitation: an emailed, single-use, expiring link. Adding a member never sets
or reveals a person's password or another tenant's user id (the takeover of the security review:
an owner of one workspace chose the password of an address another workspace added later)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from workspaces.models import Invitation, Membership, Role, User
from workspaces.services import membership_set

pytestmark = pytest.mark.django_db
ACCEPT = "/api/v1/invitations/accept"


def _browser() -> APIClient:
    """A browser: a CSRF cookie, and the token sent back on every write (as the SPA does)."""
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/v1/auth/csrf")
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


def _login(email: str, password: str) -> APIClient:
    client = _browser()
    response = client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)  # rotated at login
    return client


def _link_token(to: str) -> str:
    """The token of the newest invitation link emailed to `to` (read from the outbox)."""
    sent = [m for m in mail.outbox if to in m.to]
    assert sent, f"no email to {to}; outbox: {[m.to for m in mail.outbox]}"
    match = re.search(r"https?://\S+/invite/([A-Za-z0-9_\-]+)", sent[-1].body)
    assert match, sent[-1].body
    return match.group(1)


def _can_log_in(email: str, password: str) -> bool:
    response = APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    return response.status_code == 200


# ---- The takeover --------------------------------------------------------------------------
def test_no_workspace_can_choose_the_password_of_an_address_another_workspace_adds_later(
    api, other_api, workspace, other_workspace
):
    # The rival's owner tries to pre-register victim@ with a password of their choosing.
    planted = other_api.post(
        "/api/v1/members", {"email": "victim@example.com", "role": "viewer", "password": "rival-chose-this-1"},
        format="json",
    )
    assert planted.status_code == 400 and "password" in planted.json()["error"]["details"], planted.content
    assert not User.objects.filter(email="victim@example.com").exists()
    # Without a password it is only an invitation: still no account anyone could log in to.
    assert other_api.post("/api/v1/members", {"email": "victim@example.com"}, format="json").status_code == 201
    assert not User.objects.filter(email="victim@example.com").exists()

    # Acme invites the same person; they accept Acme's link and choose their own password.
    assert api.post("/api/v1/members", {"email": "victim@example.com", "role": "editor"}, format="json").status_code == 201
    token = _link_token("victim@example.com")  # the newest email: Acme's
    joined = _browser().post(ACCEPT, {"token": token, "password": "victims-own-pass-9"}, format="json")
    assert joined.status_code == 200, joined.content
    assert [w["slug"] for w in joined.json()["workspaces"]] == ["acme"]

    assert not _can_log_in("victim@example.com", "rival-chose-this-1")
    assert _can_log_in("victim@example.com", "victims-own-pass-9")
    # The rival's invitation did not make them a member there either.
    assert not Membership.objects.filter(workspace=other_workspace, user__email="victim@example.com").exists()


def test_inviting_an_existing_user_reveals_nothing_and_adds_no_one_until_they_accept(api, other_workspace):
    rival_owner = User.objects.get(email="rival@example.com")
    response = api.post("/api/v1/members", {"email": "Rival@Example.com", "role": "owner"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "rival@example.com" and body["status"] == "pending" and body["role"] == "owner"
    assert "user_id" not in body and str(rival_owner.pk) not in {str(v) for v in body.values()}
    # Nothing changed for the existing account: no membership, same password.
    assert [m["email"] for m in api.get("/api/v1/members").json()["results"]] == ["owner@example.com"]
    assert _can_log_in("rival@example.com", "pw-rival-123")
    # The same answer as for an address nobody has: an invitation cannot probe for accounts.
    unknown = api.post("/api/v1/members", {"email": "nobody@example.com", "role": "owner"}, format="json").json()
    assert set(unknown) == set(body) and unknown["status"] == body["status"]


# ---- Accepting -----------------------------------------------------------------------------
def test_a_new_person_accepts_from_the_emailed_link_and_is_signed_in(api, workspace):
    created = api.post("/api/v1/members", {"email": "ana@example.com", "role": "viewer"}, format="json")
    assert created.status_code == 201
    assert mail.outbox[-1].to == ["ana@example.com"] and "Acme" in mail.outbox[-1].subject
    token = _link_token("ana@example.com")

    browser = _browser()
    preview = browser.get(ACCEPT, {"token": token})
    assert preview.status_code == 200, preview.content
    assert preview.json() | {"expires_at": None} == {
        "workspace": "Acme", "workspace_slug": "acme", "email": "ana@example.com", "role": "viewer", "invited_by": None,
        "expires_at": None, "has_account": False, "signed_in_as": None,
    }
    weak = browser.post(ACCEPT, {"token": token, "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["error"]["details"]
    joined = browser.post(ACCEPT, {"token": token, "password": "ana-chose-this-7", "name": "Ana"}, format="json")
    assert joined.status_code == 200, joined.content
    # Signed in by the same request: the session reads the workspace straight away.
    assert browser.get("/api/v1/workspace").json()["slug"] == "acme"
    assert Membership.objects.get(workspace=workspace, user__email="ana@example.com").role == Role.VIEWER
    assert User.objects.get(email="ana@example.com").name == "Ana"

    # Single use: the link is spent, for anyone.
    again = _browser().post(ACCEPT, {"token": token, "password": "another-pass-77"}, format="json")
    assert again.status_code == 404 and "already used" in again.json()["error"]["message"]
    assert _can_log_in("ana@example.com", "ana-chose-this-7")
    assert api.get("/api/v1/invitations").json()["results"] == []


def test_an_existing_account_accepts_only_signed_in_as_the_invited_address(api, workspace, other_workspace):
    api.post("/api/v1/members", {"email": "rival@example.com", "role": "editor"}, format="json")
    token = _link_token("rival@example.com")

    anonymous = _browser()
    assert anonymous.get(ACCEPT, {"token": token}).json()["has_account"] is True
    refused = anonymous.post(ACCEPT, {"token": token, "password": "takeover-pass-1"}, format="json")
    assert refused.status_code == 403 and "sign in" in refused.json()["error"]["message"]
    assert _can_log_in("rival@example.com", "pw-rival-123") and not _can_log_in("rival@example.com", "takeover-pass-1")

    someone_else = User.objects.create_user("mallory@example.com", "pw-mallory-1")
    membership_set(workspace=other_workspace, user=someone_else, role=Role.VIEWER)
    wrong = _login("mallory@example.com", "pw-mallory-1").post(ACCEPT, {"token": token}, format="json")
    assert wrong.status_code == 403 and "rival@example.com" in wrong.json()["error"]["message"]
    assert not Membership.objects.filter(workspace=workspace, user=someone_else).exists()

    joined = _login("rival@example.com", "pw-rival-123").post(ACCEPT, {"token": token}, format="json")
    assert joined.status_code == 200, joined.content
    assert {w["slug"] for w in joined.json()["workspaces"]} == {"acme", "rival"}
    assert Membership.objects.get(workspace=workspace, user__email="rival@example.com").role == Role.EDITOR


def test_expired_revoked_replaced_and_forged_links_fail_cleanly(api, workspace):
    api.post("/api/v1/members", {"email": "old@example.com"}, format="json")
    expired = _link_token("old@example.com")
    Invitation.objects.for_workspace(workspace).filter(email="old@example.com").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    api.post("/api/v1/members", {"email": "gone@example.com"}, format="json")
    revoked = _link_token("gone@example.com")
    invitation = api.get("/api/v1/invitations").json()["results"]
    gone = next(i for i in invitation if i["email"] == "gone@example.com")
    assert api.delete(f"/api/v1/invitations/{gone['id']}").status_code == 204
    api.post("/api/v1/members", {"email": "twice@example.com"}, format="json")
    replaced = _link_token("twice@example.com")
    api.post("/api/v1/members", {"email": "twice@example.com", "role": "viewer"}, format="json")  # re-sent

    for token, says in ((expired, "expired"), (revoked, "not valid"), (replaced, "not valid"),
                        ("forged-token", "not valid"), ("", "not valid")):
        for response in (_browser().get(ACCEPT, {"token": token}),
                         _browser().post(ACCEPT, {"token": token or "x", "password": "good-pass-123"}, format="json")):
            assert response.status_code == 404, (token, response.content)
            assert says in response.json()["error"]["message"]
    assert not User.objects.filter(email__in=["old@example.com", "gone@example.com", "twice@example.com"]).exists()
    # The newest link for a re-invited address works.
    latest = _browser().post(ACCEPT, {"token": _link_token("twice@example.com"), "password": "twice-pass-12"},
                             format="json")
    assert latest.status_code == 200
    assert Membership.objects.get(workspace=workspace, user__email="twice@example.com").role == Role.VIEWER


def test_accepting_needs_csrf_and_refuses_api_keys(api, workspace):
    api.post("/api/v1/members", {"email": "ana@example.com"}, format="json")
    token = _link_token("ana@example.com")
    no_csrf = APIClient(enforce_csrf_checks=True).post(ACCEPT, {"token": token, "password": "ana-pass-1234"},
                                                       format="json")
    assert no_csrf.status_code == 403
    with_key = api.post(ACCEPT, {"token": token, "password": "ana-pass-1234"}, format="json")
    assert with_key.status_code == 403 and "API key" in with_key.json()["error"]["message"]
    assert not User.objects.filter(email="ana@example.com").exists()


# ---- Managing invitations ------------------------------------------------------------------
def test_owners_list_and_withdraw_pending_invitations_others_cannot(api, editor_api, workspace):
    api.post("/api/v1/members", {"email": "ana@example.com", "role": "viewer"}, format="json")
    listed = api.get("/api/v1/invitations").json()["results"]
    assert [(i["email"], i["role"], i["status"]) for i in listed] == [("ana@example.com", "viewer", "pending")]
    expires = timezone.datetime.fromisoformat(listed[0]["expires_at"])
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)
    # The link's token is in the email only: no answer carries it or its hash.
    token, stored = _link_token("ana@example.com"), Invitation.objects.for_workspace(workspace).get()
    for response in (api.get("/api/v1/invitations"), api.get(f"/api/v1/invitations/{stored.pk}")):
        assert token not in response.content.decode() and stored.token_hash not in response.content.decode()
    assert editor_api.get("/api/v1/invitations").status_code == 403
    assert editor_api.delete(f"/api/v1/invitations/{listed[0]['id']}").status_code == 403
    assert api.delete(f"/api/v1/invitations/{listed[0]['id']}").status_code == 204
    assert api.get("/api/v1/invitations").json()["results"] == []


def test_inviting_a_member_again_is_a_conflict(api):
    response = api.post("/api/v1/members", {"email": "owner@example.com", "role": "viewer"}, format="json")
    assert response.status_code == 409 and "already a member" in response.json()["error"]["message"]
    assert mail.outbox == []


def test_a_workspace_cannot_use_invitations_to_send_mail_in_bulk(api, other_api, settings):
    settings.INVITATIONS_PER_HOUR = 3
    for i in range(3):
        assert api.post("/api/v1/members", {"email": f"p{i}@example.com"}, format="json").status_code == 201
    refused = api.post("/api/v1/members", {"email": "p3@example.com"}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "invitations in the last hour" in refused.json()["error"]["message"]
    assert len(mail.outbox) == 3
    # Counted per workspace: another one is not held up.
    assert other_api.post("/api/v1/members", {"email": "p3@example.com"}, format="json").status_code == 201
