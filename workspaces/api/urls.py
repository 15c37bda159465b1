from django.urls import path
from rest_framework.routers import SimpleRouter

from . import identity_views, views

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("members", views.MemberViewSet, basename="member")
router.register("invitations", views.InvitationViewSet, basename="invitation")

urlpatterns = [
    path("auth/csrf", views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("workspace", views.WorkspaceView.as_view(), name="workspace"),
    path(
        "workspace/identity-secret",
        identity_views.IdentitySecretView.as_view(),
        name="workspace-identity-secret",
    ),
    # Before the router: "accept" must not be read as an invitation id.
    path("invitations/accept", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    *router.urls,
]
