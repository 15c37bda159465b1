from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import ApiKey, Role
from ..permissions import AuthenticatedUser
from ..selectors import workspaces_for_user
from ..services import api_key_create, api_key_revoke
from ..viewsets import WorkspaceViewSet
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    LoginSerializer,
    MeSerializer,
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
