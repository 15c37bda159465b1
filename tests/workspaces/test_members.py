import pytest

from workspaces.models import Membership, Role, User
from workspaces.services import membership_set

pytestmark = pytest.mark.django_db


def test_owner_changes_and_removes_a_member(api, workspace):
    # Members join by invitation (tests/workspaces/test_invitations.py); here one already has.
    ann = User.objects.create_user("ann@example.com", "pw-ann-12345")
    member_id = membership_set(workspace=workspace, user=ann, role=Role.VIEWER).pk
    assert api.patch(f"/api/v1/members/{member_id}", {"role": "editor"}, format="json").json()["role"] == "editor"
    emails = [m["email"] for m in api.get("/api/v1/members").json()["results"]]
    assert emails == ["owner@example.com", "ann@example.com"]
    assert api.delete(f"/api/v1/members/{member_id}").status_code == 204
    assert not Membership.objects.filter(pk=member_id).exists()


def test_the_last_owner_cannot_leave_or_be_demoted(api, workspace):
    owner = Membership.objects.get(workspace=workspace, role="owner")
    demote = api.patch(f"/api/v1/members/{owner.id}", {"role": "viewer"}, format="json")
    assert demote.status_code == 409 and "owner" in demote.json()["error"]["message"]
    assert api.delete(f"/api/v1/members/{owner.id}").status_code == 409
    assert Membership.objects.get(pk=owner.pk).role == "owner"


def test_editors_read_members_but_cannot_change_them(editor_api, workspace):
    assert editor_api.get("/api/v1/members").status_code == 200
    response = editor_api.post("/api/v1/members", {"email": "x@example.com"}, format="json")
    assert response.status_code == 403


def test_bad_member_input_names_the_field(api):
    response = api.post("/api/v1/members", {"email": "not-an-email", "role": "boss"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"email", "role"}


def test_workspace_settings_round_trip(api, viewer_api, workspace):
    assert viewer_api.get("/api/v1/workspace").json()["slug"] == "acme"
    response = api.patch(
        "/api/v1/workspace",
        {"timezone": "Europe/Paris", "settings": {"push_title_max": 30, "push_body_max": 30}},
        format="json",
    )
    assert response.status_code == 200
    workspace.refresh_from_db()
    assert workspace.timezone == "Europe/Paris"
    assert workspace.settings == {"push_title_max": 30, "push_body_max": 30}
    assert viewer_api.patch("/api/v1/workspace", {"name": "Hacked"}, format="json").status_code == 403


def test_unknown_timezone_is_refused_and_nothing_changes(api, workspace):
    response = api.patch("/api/v1/workspace", {"timezone": "Mars/Olympus", "name": "New"}, format="json")
    assert response.status_code == 400 and "timezone" in response.json()["error"]["details"]
    workspace.refresh_from_db()
    assert (workspace.timezone, workspace.name) == ("UTC", "Acme")
