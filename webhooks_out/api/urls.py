from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("event-webhooks", views.EventWebhookViewSet, basename="event-webhook")

urlpatterns = router.urls
