from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
# journey-analytics, journey-analytics-csv
router.register("journeys", views.JourneyAnalyticsViewSet, basename="journey")
# analytics-journeys, analytics-journeys-csv
router.register("analytics", views.AnalyticsViewSet, basename="analytics")

urlpatterns = [
    *router.urls,
    path(
        "journeys/<int:journey_id>/enrollments/<str:customer_id>",
        views.EnrollmentTimelineView.as_view(),
        name="journey-enrollment-detail",
    ),
]
