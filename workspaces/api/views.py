from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..auth import csrf_check
from ..errors import Conflict
from ..models import ApiKey, Membership, Role
from ..permissions import AuthenticatedUser
from ..selectors import workspaces_for_user
from ..services import (
    LastOwnerError,
    api_key_create,
    api_key_revoke,
    member_add,
    member_change_role,
    member_remove,
    workspace_update,
)
from ..viewsets import WorkspaceAPIView, WorkspaceViewSet
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
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
        return Response({"csrf_token": get_token(request)})


class LoginView(APIView):
    permission_classes = [AllowAny]
    throttle_scope = "login"
    throttle_rate = "10/min"  # per client address: slows password guessing

    @extend_schema(request=LoginSerializer, responses={200: MeSerializer})
    def post(self, request):
        csrf_check(request)
        params = LoginSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        user = authenticate(
            request, email=params.validated_data["email"].lower(), password=params.validated_data["password"]
        )
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

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request):
        params = MemberCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        membership = member_add(workspace=self.workspace, **params.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

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
