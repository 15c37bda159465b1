"""The workspace's identity secret (web inbox userHash): shown and rotated by owners only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from ..identity import identity_secret_rotate
from ..models import Role
from ..viewsets import WorkspaceAPIView


class IdentitySecretSerializer(serializers.Serializer):
    identity_secret = serializers.CharField(
        read_only=True,
        help_text="Key of userHash = hex HMAC-SHA256(identity_secret, userId); keep it on your server.",
    )


class IdentitySecretView(WorkspaceAPIView):
    # It lets anyone who holds it read any customer's inbox: owners only, even to look at it.
    read_role = Role.OWNER
    write_role = Role.OWNER

    @extend_schema(responses={200: IdentitySecretSerializer})
    def get(self, request):
        return Response({"identity_secret": self.workspace.identity_secret})

    @extend_schema(
        request=None,
        responses={200: IdentitySecretSerializer},
        description="Rotates the secret: hashes made with the old one are refused from now on.",
    )
    def post(self, request):
        workspace = identity_secret_rotate(workspace=self.workspace)
        return Response({"identity_secret": workspace.identity_secret})
