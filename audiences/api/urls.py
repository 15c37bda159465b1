"""Routes of the audiences API (mounted under /api/v1 by config/urls.py)."""

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

from . import customer_views, views


class ExternalIdConverter:
    """A customer's external_id may hold any character, '/', '.' and '@' included. The paths that
    cannot be an id are the customer's sub-resources: …/inbox (channels_app), …/enrollments
    (journeys) and …/events (below)."""

    regex = r"(?:(?!/(?:inbox|enrollments|events)(?:/|$)).)+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExternalIdConverter, "external_id")

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("segments", views.SegmentViewSet, basename="segment")
router.register("lists", views.CustomerListViewSet, basename="list")
router.register("imports", views.ImportViewSet, basename="import")

urlpatterns = [
    # Before the router: "import" would otherwise read as a customer's external_id.
    path("customers/import", views.CustomerImportView.as_view(), name="customer-import"),
    path("events", views.EventIngestView.as_view(), name="event-ingest"),
    path(
        "customers/<external_id:external_id>/events",
        customer_views.CustomerEventsView.as_view(),
        name="customer-events",
    ),
    *router.urls,
]
