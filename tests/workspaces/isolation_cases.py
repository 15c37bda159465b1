from tests.isolation import isolation_case, isolation_list
from workspaces.models import Role, User
from workspaces.services import api_key_create, invitation_create, membership_set


@isolation_case("api-key-detail")
@isolation_list("api-key-list")
def api_key(workspace):
    key, raw = api_key_create(workspace=workspace, name="secret-key-name", role=Role.EDITOR)
    return {"pk": key.pk}, ["secret-key-name", key.prefix]


@isolation_case("member-detail")
@isolation_list("member-list")
def member(workspace):
    user = User.objects.create_user("hidden-member@example.com", "pw-hidden-123")
    membership = membership_set(workspace=workspace, user=user, role=Role.VIEWER)
    return {"pk": membership.pk}, ["hidden-member@example.com"]


@isolation_case("invitation-detail")
@isolation_list("invitation-list")
def invitation(workspace):
    invitation, _ = invitation_create(workspace=workspace, email="hidden-invitee@example.com", role=Role.EDITOR)
    return {"pk": invitation.pk}, ["hidden-invitee@example.com"]
