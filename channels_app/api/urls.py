from django.urls import path
from rest_framework.routers import SimpleRouter

from audiences.api import paths  # noqa: F401  (registers the external_id path converter)

from .. import callbacks, preference_views, wallet_views
from . import views

router = SimpleRouter(trailing_slash=False)
router.register("channels", views.ChannelConfigViewSet, basename="channel")
router.register("messages", views.MessageViewSet, basename="message")

urlpatterns = [
    # Any external id, '/' included (audiences.api.paths).
    path("customers/<external_id:external_id>/inbox", views.InboxView.as_view(), name="customer-inbox"),
    path(
        "customers/<external_id:external_id>/inbox/<int:pk>/read",
        views.InboxReadView.as_view(),
        name="customer-inbox-read",
    ),
    path("hooks/twilio", callbacks.TwilioStatusHook.as_view(), name="hook-twilio"),
    path("hooks/whatsapp", callbacks.WhatsAppHook.as_view(), name="hook-whatsapp"),
    path("hooks/rbm", callbacks.RbmHook.as_view(), name="hook-rbm"),
    path("hooks/sendgrid", callbacks.SendgridEventsHook.as_view(), name="hook-sendgrid"),
    path("hooks/open", callbacks.OpenPixelHook.as_view(), name="hook-open"),
    path("hooks/click", callbacks.ClickHook.as_view(), name="hook-click"),
    path("hooks/unsubscribe", preference_views.UnsubscribeHook.as_view(), name="hook-unsubscribe"),
    path("hooks/preferences", preference_views.PreferencesHook.as_view(), name="hook-preferences"),
    # The link a message carries to a customer's wallet pass (the PassKit web service Wallet
    # calls is not our API: it lives under /wallet, channels_app/wallet_views.py).
    path("hooks/wallet/apple", wallet_views.WalletPassDownload.as_view(), name="hook-wallet-apple"),
    path(
        "hooks/wallet/google", wallet_views.WalletGoogleCallbackHook.as_view(), name="hook-wallet-google"
    ),
    *router.urls,
]
