"""The Segment-compatible tracking routes, mounted at /v1/ (where the SDKs post) by config/urls.py."""

from django.urls import path
from drf_spectacular.utils import extend_schema

from . import views
from .project_settings import ProjectSettingsView, SourceConfigView

TRACKING_VIEWS = (
    views.IdentifyView,
    views.TrackView,
    views.PageView,
    views.ScreenView,
    views.GroupView,
    views.AliasView,
    views.BatchView,
)


def _short(view):
    """The same endpoint at analytics.js's one-letter path (/v1/t, /v1/p, /v1/b, …), left out
    of the OpenAPI document, which describes each operation once."""
    alias = extend_schema(exclude=True)(type(f"Short{view.__name__}", (view,), {}))
    return path(view.kind[0], alias.as_view())


urlpatterns = [
    *[path(view.kind, view.as_view(), name=f"tracking-{view.kind}") for view in TRACKING_VIEWS],
    *[_short(view) for view in TRACKING_VIEWS],
    # analytics.js loads these from its cdnURL before it sends anything.
    path(
        "projects/<str:write_key>/settings",
        ProjectSettingsView.as_view(),
        name="tracking-project-settings",
    ),
    # ...and RudderStack's JS SDK from its configUrl (`<configUrl>/sourceConfig/?writeKey=…`).
    path("sourceConfig/", SourceConfigView.as_view(), name="tracking-source-config"),
]
