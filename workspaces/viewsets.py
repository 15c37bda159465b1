"""The base of every tenant API view: resolves the workspace and scopes every queryset to it."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.views import APIView

from .auth import require_workspace
from .errors import ObjectNotFound


class WorkspaceMixin:
    @property
    def workspace(self):
        return require_workspace(self.request)

    def scoped_get(self, model, **lookup):
        """The one row of this workspace matching `lookup` — how a nested endpoint resolves its
        parent (the journey of /journeys/{id}/enrollments). Another workspace's row is the
        same 404 as a missing one."""
        found = model.objects.for_workspace(self.workspace).filter(**lookup).first()
        if found is None:
            raise ObjectNotFound()
        return found


class WorkspaceAPIView(WorkspaceMixin, APIView):
    """A non-model endpoint of one workspace (ingest, previews, actions)."""


class WorkspaceViewSet(WorkspaceMixin, viewsets.GenericViewSet):
    """Subclasses set `model` and may refine `scope_queryset`; they never override get_queryset,
    so no subclass can forget the workspace filter. Another workspace's row is a plain 404."""

    model = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: override scope_queryset(), not get_queryset()")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request auth
            # _default_manager: WorkspaceModel's all_workspaces, or Membership's plain manager.
            return self.model._default_manager.none()
        return self.scope_queryset(self.model.objects.for_workspace(self.workspace))

    def scope_queryset(self, queryset):
        return queryset
