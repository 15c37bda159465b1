from django.contrib.auth import authenticate, get_user, login, logout
from django.core.exceptions import ValidationError as DjangoValidationError
from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..auth import SessionAuthentication, csrf_check
from ..errors import Conflict, ServiceUnavailable
from ..login_limits import login_retry_after
from ..models import ApiKey, Invitation, Membership, Role, User
from ..permissions import AuthenticatedUser
from ..selectors import workspaces_for_user
from ..services import (
    InvitationError,
    InvitationNotSentError,
    InvitationUnusableError,
    LastOwnerError,
    SignInRequiredError,
    TooManyInvitationsError,
    WrongAccountError,
    api_key_create,
    api_key_revoke,
    invitation_accept,
    invitation_by_token,
    invitation_revoke,
    invitation_send,
    member_change_role,
    member_remove,
    workspace_update,
)
from ..viewsets import WorkspaceAPIView, WorkspaceViewSet
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    InvitationAcceptSerializer,
    InvitationPreviewSerializer,
    InvitationSerializer,
    LoginSerializer,
    MemberCreateSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    MeSerializer,
    WorkspaceSerializer,
)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """API keys of the workspace. Owners only: a key is the power to act as the workspace."""

    model = ApiKey
    serializer_class = ApiKeySerializer
    read_role = Role.OWNER
    write_role = Role.OWNER

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        params = ApiKeyCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        created_by = request.user if getattr(request.user, "pk", None) else None
        key, raw = api_key_create(workspace=self.workspace, created_by=created_by, **params.validated_data)
        key.key = raw
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        api_key_revoke(key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _me(user):
    memberships = workspaces_for_user(user=user)
    return MeSerializer({"id": user.pk, "email": user.email, "name": user.name, "workspaces": memberships}).data


class CsrfView(APIView):
    """Sets the CSRF cookie the SPA sends back on session writes."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: None})
    def get(self, request):
        # `signed_in` lets the SPA skip asking /auth/me (a 401 in every console) when signed out.
        # (This view authenticates nothing, so the session's user is read here.)
        signed_in = get_user(request._request).is_authenticated
        return Response({"csrf_token": get_token(request), "signed_in": signed_in})


class LoginView(APIView):
    permission_classes = [AllowAny]
    throttle_scope = "login"
    throttle_rate = "10/min"  # per client address (TRUSTED_PROXIES decides which): slows guessing

    @extend_schema(request=LoginSerializer, responses={200: MeSerializer})
    def post(self, request):
        csrf_check(request)
        params = LoginSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        email = params.validated_data["email"].lower()
        wait = login_retry_after(request, email)
        if wait is not None:
            raise exceptions.Throttled(wait, "Too many failed sign-ins for this account or from this address.")
        user = authenticate(request, email=email, password=params.validated_data["password"])
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong email or password.")
        login(request._request, user)
        return Response(_me(user))


class LogoutView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [AuthenticatedUser]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        if getattr(request.user, "pk", None) is None:
            raise exceptions.NotFound("API keys have no user; use a browser session.")
        return Response(_me(request.user))


class WorkspaceView(WorkspaceAPIView):
    """The current workspace: name, timezone and settings (push title/body limits)."""

    write_role = Role.OWNER

    @extend_schema(responses={200: WorkspaceSerializer})
    def get(self, request):
        return Response(WorkspaceSerializer(self.workspace).data)

    @extend_schema(request=WorkspaceSerializer, responses={200: WorkspaceSerializer})
    def patch(self, request):
        params = WorkspaceSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        workspace = workspace_update(workspace=self.workspace, data=params.validated_data)
        return Response(WorkspaceSerializer(workspace).data)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """People in the workspace and their roles; owners manage them."""

    model = Membership
    serializer_class = MemberSerializer
    write_role = Role.OWNER
    cursor_field = "id"

    def scope_queryset(self, queryset):
        return queryset.select_related("user")

    @extend_schema(
        request=MemberCreateSerializer,
        responses={201: InvitationSerializer},
        description="Invites a person by email: they receive a single-use link (valid for a week) and "
        "choose their own password, or sign in, to join. The answer is the pending invitation.",
    )
    def create(self, request):
        params = MemberCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        invited_by = request.user if getattr(request.user, "pk", None) else None
        try:
            invitation = invitation_send(workspace=self.workspace, invited_by=invited_by, **params.validated_data)
        except InvitationNotSentError as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except TooManyInvitationsError as exc:
            raise exceptions.Throttled(60 * 60, str(exc)) from exc
        except InvitationError as exc:
            raise Conflict(str(exc)) from exc
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberSerializer})
    def partial_update(self, request, pk=None):
        membership = self.get_object()  # 404 for another workspace's id, before judging the body
        params = MemberUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            membership = member_change_role(membership=membership, role=params.validated_data["role"])
        except LastOwnerError as exc:
            raise Conflict(str(exc)) from exc
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        try:
            member_remove(membership=self.get_object())
        except LastOwnerError as exc:
            raise Conflict(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Open invitations of the workspace (sent with POST /members); owners list and withdraw them."""

    model = Invitation
    serializer_class = InvitationSerializer
    read_role = Role.OWNER
    write_role = Role.OWNER
    cursor_field = "id"

    def scope_queryset(self, queryset):
        return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("invited_by")

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        invitation_revoke(invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _session_user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class InvitationAcceptView(APIView):
    """The emailed link's endpoint: the token is the credential, so no key and no role is needed.
    GET says what the invitation is for; POST joins: a new address chooses its password here, an
    existing account must be signed in as the invited address."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_scope = "invitation-accept"
    throttle_rate = "30/min"  # per client address; the 256-bit token cannot be guessed anyway

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.headers.get("Authorization"):
            raise exceptions.PermissionDenied("Invitations are accepted by a person in the web app, not with an API key.")

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True, description="The token from the emailed link.")],
        responses={200: InvitationPreviewSerializer},
    )
    def get(self, request):
        try:
            invitation = invitation_by_token(request.query_params.get("token", ""))
        except InvitationUnusableError as exc:
            raise exceptions.NotFound(str(exc)) from exc
        user = _session_user(request)
        invitation.has_account = User.objects.filter(email=invitation.email).exists()
        invitation.signed_in_as = user.email if user is not None else None
        return Response(InvitationPreviewSerializer(invitation).data)

    @extend_schema(request=InvitationAcceptSerializer, responses={200: MeSerializer})
    def post(self, request):
        csrf_check(request)  # a forged accept would sign the victim in to an account the attacker made
        params = InvitationAcceptSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = _session_user(request)
        try:
            membership = invitation_accept(
                raw_token=data["token"], user=user, password=data.get("password") or None, name=data.get("name", "")
            )
        except InvitationUnusableError as exc:
            raise exceptions.NotFound(str(exc)) from exc
        except (SignInRequiredError, WrongAccountError) as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        if user is None:
            login(request._request, membership.user)
        return Response(_me(membership.user))
