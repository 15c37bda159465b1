"""Routes of the audiences API (mounted under /api/v1 by config/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import customer_views, paths, topic_views, views  # noqa: F401  (paths registers the external_id converter)

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("segments", views.SegmentViewSet, basename="segment")
router.register("lists", views.CustomerListViewSet, basename="list")
router.register("imports", views.ImportViewSet, basename="import")
router.register("topics", topic_views.TopicViewSet, basename="topic")

urlpatterns = [
    # Before the router: "import" would otherwise read as a customer's external_id (for methods
    # other than PUT, paths.CustomerPathMiddleware sends /customers/import to the customer "import").
    path("customers/import", views.CustomerImportView.as_view(), name="customer-import"),
    path("events", views.EventIngestView.as_view(), name="event-ingest"),
    path("events/properties", views.EventPropertiesView.as_view(), name="event-properties"),
    path("events/names", views.EventNamesView.as_view(), name="event-names"),
    path(
        "customers/<external_id:external_id>/events",
        customer_views.CustomerEventsView.as_view(),
        name="customer-events",
    ),
    *router.urls,
]
