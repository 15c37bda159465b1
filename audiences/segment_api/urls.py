"""The Segment-compatible tracking routes, mounted at /v1/ (where the SDKs post) by config/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("identify", views.IdentifyView.as_view(), name="tracking-identify"),
    path("track", views.TrackView.as_view(), name="tracking-track"),
    path("page", views.PageView.as_view(), name="tracking-page"),
    path("screen", views.ScreenView.as_view(), name="tracking-screen"),
    path("group", views.GroupView.as_view(), name="tracking-group"),
    path("alias", views.AliasView.as_view(), name="tracking-alias"),
    path("batch", views.BatchView.as_view(), name="tracking-batch"),
]
