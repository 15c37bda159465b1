from tests.isolation import isolation_case, isolation_list
from workspaces.models import Role
from workspaces.services import api_key_create


@isolation_case("api-key-detail")
@isolation_list("api-key-list")
def api_key(workspace):
    key, raw = api_key_create(workspace=workspace, name="secret-key-name", role=Role.EDITOR)
    return {"pk": key.pk}, ["secret-key-name", key.prefix]


@isolation_case("member-detail")
@isolation_list("member-list")
def member(workspace):
    from workspaces.services import member_add

    membership = member_add(workspace=workspace, email="hidden-member@example.com", role=Role.VIEWER)
    return {"pk": membership.pk}, ["hidden-member@example.com"]
