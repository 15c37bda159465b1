import pytest
from rest_framework.test import APIClient

from workspaces.models import Role, User
from workspaces.services import membership_set, workspace_create

pytestmark = pytest.mark.django_db


def login(email, password) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/v1/auth/csrf")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/auth/login", {"email": email, "password": password}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    client.csrf = client.cookies["csrftoken"].value
    return client


def test_login_lists_workspaces_and_session_reads_its_workspace(workspace):
    client = login("owner@example.com", "pw-owner-123")
    me = client.get("/api/v1/auth/me").json()
    assert [w["slug"] for w in me["workspaces"]] == ["acme"]
    # One membership: the workspace is implied; naming it works too.
    assert client.get("/api/v1/api-keys").status_code == 200
    assert client.get("/api/v1/api-keys", HTTP_X_WORKSPACE="acme").status_code == 200


def test_wrong_password_is_401():
    User.objects.create_user("x@example.com", "right-password-1")
    client = APIClient()
    response = client.post("/api/v1/auth/login", {"email": "x@example.com", "password": "wrong"}, format="json")
    assert response.status_code == 401


def test_session_cannot_reach_a_workspace_it_is_not_member_of(workspace, other_workspace):
    client = login("owner@example.com", "pw-owner-123")
    response = client.get("/api/v1/api-keys", HTTP_X_WORKSPACE=other_workspace.slug)
    assert response.status_code == 404
    response = client.get("/api/v1/api-keys", HTTP_X_WORKSPACE=str(other_workspace.id))
    assert response.status_code == 404


def test_session_write_needs_csrf_and_role(workspace):
    viewer = User.objects.create_user("viewer@example.com", "pw-viewer-123")
    membership_set(workspace=workspace, user=viewer, role=Role.VIEWER)
    client = login("viewer@example.com", "pw-viewer-123")
    assert client.post("/api/v1/api-keys", {}, format="json").status_code == 403  # no CSRF token
    response = client.post("/api/v1/api-keys", {}, format="json", HTTP_X_CSRFTOKEN=client.csrf)
    assert response.status_code == 403
    assert "owner" in response.json()["error"]["message"]


def test_two_workspaces_need_a_choice(workspace):
    user = User.objects.get(email="owner@example.com")
    second = workspace_create(name="Second", owner=user)
    client = login("owner@example.com", "pw-owner-123")
    assert client.get("/api/v1/api-keys").status_code == 404
    assert client.get("/api/v1/api-keys", HTTP_X_WORKSPACE=second.slug).status_code == 200


def test_logout_ends_the_session(workspace):
    client = login("owner@example.com", "pw-owner-123")
    assert client.post("/api/v1/auth/logout", HTTP_X_CSRFTOKEN=client.csrf).status_code == 204
    assert client.get("/api/v1/auth/me").status_code in (401, 403)


def test_the_csrf_call_says_whether_a_session_is_signed_in_so_the_app_asks_me_only_then(workspace):
    # Signed out, the app learns it here and never asks /auth/me (a 401 in the console).
    assert APIClient().get("/api/v1/auth/csrf").json()["signed_in"] is False
    client = login("owner@example.com", "pw-owner-123")
    assert client.get("/api/v1/auth/csrf").json()["signed_in"] is True
