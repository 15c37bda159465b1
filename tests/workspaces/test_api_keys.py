import pytest
from django.core.management import call_command

from tests.conftest import make_client
from workspaces.models import ApiKey, Role, WorkspaceScopeError
from workspaces.services import api_key_authenticate

pytestmark = pytest.mark.django_db


def test_created_key_is_shown_once_and_stored_hashed(api, workspace):
    response = api.post("/api/v1/api-keys", {"name": "ci", "role": "editor"}, format="json")
    assert response.status_code == 201
    raw = response.json()["key"]
    assert raw.startswith("wm_")
    stored = ApiKey.objects.for_workspace(workspace).get(pk=response.json()["id"])
    assert raw not in (stored.key_hash, stored.prefix) and stored.role == "editor"
    listed = api.get("/api/v1/api-keys").json()["results"]
    assert all("key" not in row for row in listed)
    assert response.json()["id"] in [row["id"] for row in listed]


def test_new_key_authenticates_and_records_last_use(api, workspace):
    raw = api.post("/api/v1/api-keys", {"name": "x"}, format="json").json()["key"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/api-keys").status_code == 200
    assert ApiKey.objects.for_workspace(workspace).get(prefix=raw[3:11]).last_used_at is not None


def test_revoked_key_is_refused_at_once(api, workspace):
    victim = make_client(workspace)
    key_id = ApiKey.objects.for_workspace(workspace).get(prefix=victim.raw_key[3:11]).id
    assert victim.get("/api/v1/api-keys").status_code == 200
    assert api.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    response = victim.get("/api/v1/api-keys")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_key_loads_its_workspace_as_the_orm_would(workspace, other_workspace):
    """api_key_authenticate reads key and workspace in one raw query: the workspace must come
    back with its own values (JSON settings parsed), another workspace's key with its own."""
    workspace.settings = {"push_title_max": 30, "nested": {"a": [1, "b"]}}
    workspace.timezone = "Europe/Paris"
    workspace.save(update_fields=["settings", "timezone"])
    ours, theirs = make_client(workspace, Role.EDITOR), make_client(other_workspace, Role.VIEWER)
    key = api_key_authenticate(ours.raw_key)
    assert (key.role, key.workspace_id, key.revoked_at) == ("editor", workspace.id, None)
    assert key.workspace == workspace and key.workspace.settings == workspace.settings
    assert (key.workspace.timezone, key.workspace.slug, key.workspace.created_at) == (
        "Europe/Paris", workspace.slug, workspace.created_at,
    )
    other = api_key_authenticate(theirs.raw_key)
    assert (other.workspace.id, other.role) == (other_workspace.id, "viewer")
    assert api_key_authenticate(ours.raw_key[:-1] + ("A" if ours.raw_key[-1] != "A" else "B")) is None


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wm_nothing", "Token abc", "Bearer wm_0000000000000000000000000000000000000"],
)
def test_missing_or_malformed_key_is_401_with_error_body(client, workspace, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/api-keys", **kwargs)
    assert response.status_code == 401
    body = response.json()["error"]
    assert set(body) == {"code", "message", "details"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_secret_with_a_real_prefix_is_refused(api):
    good = api.raw_key
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {good[:-2]}xx")
    assert api.get("/api/v1/api-keys").status_code == 401


def test_editor_and_viewer_cannot_manage_keys(editor_api, viewer_api):
    for client in (editor_api, viewer_api):
        assert client.get("/api/v1/api-keys").status_code == 403
        response = client.post("/api/v1/api-keys", {"name": "escalate"}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_bad_role_names_the_field(api):
    response = api.post("/api/v1/api-keys", {"role": "god"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


def test_unknown_api_path_and_wrong_method_answer_json(api):
    missing = api.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = api.put("/api/v1/api-keys", {}, format="json")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_scoped_manager_fails_closed(workspace):
    with pytest.raises(WorkspaceScopeError):
        list(ApiKey.objects.all())
    assert ApiKey.objects.for_workspace(workspace).count() == 0
    assert ApiKey.objects.none().count() == 0


def test_create_workspace_command_prints_a_working_key(capsys, client):
    call_command("create_workspace", "Globex", "--owner", "hank@globex.test")
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1
    raw = line.split("api key: ")[1]
    assert raw.startswith("wm_")
    response = client.get("/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert [k["role"] for k in response.json()["results"]] == [Role.OWNER]


def test_pagination_walks_every_key_once(api, workspace):
    for _ in range(5):
        make_client(workspace, Role.VIEWER)
    seen, cursor = [], None
    while True:
        response = api.get("/api/v1/api-keys", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        page = response.json()
        seen += [row["id"] for row in page["results"]]
        cursor = page["next"]
        if not cursor:
            break
    assert len(seen) == 6 == len(set(seen))
    assert api.get("/api/v1/api-keys", {"limit": 0}).status_code == 400
    assert api.get("/api/v1/api-keys", {"cursor": "garbage"}).status_code == 400
