from django.urls import path
from rest_framework.routers import SimpleRouter

from . import customer_views, engine_views, views

router = SimpleRouter(trailing_slash=False)
router.register("journeys", views.JourneyViewSet, basename="journey")

urlpatterns = [
    path("node-types", views.NodeTypesView.as_view(), name="node-types"),
    path("journey-templates", views.JourneyTemplatesView.as_view(), name="journey-templates"),
    *router.urls,
    *engine_views.urls,  # enrollments and simulate (the engine's endpoints)
    *customer_views.urls,  # a customer's passes through every journey (the customer page)
]
