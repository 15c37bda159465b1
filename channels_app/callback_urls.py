"""The signed callback URLs handed to providers (Twilio status callbacks, the WhatsApp webhook):
built by the send path, read back by channels_app.callbacks."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

CHANNEL_SALT = "waymark.hooks.channel"


def _hook_url(route: str, config_id: int) -> str:
    token = signing.dumps(config_id, salt=CHANNEL_SALT)
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/hooks/{route}?{urlencode({'c': token})}"


def twilio_callback_url(config_id: int) -> str:
    return _hook_url("twilio", config_id)


def whatsapp_callback_url(config_id: int) -> str:
    return _hook_url("whatsapp", config_id)


def sendgrid_events_url(config_id: int) -> str:
    """Where SendGrid's Event Webhook posts (Settings → Mail Settings → Event Webhook)."""
    return _hook_url("sendgrid", config_id)


def rbm_callback_url(config_id: int) -> str:
    return _hook_url("rbm", config_id)


def google_wallet_callback_url(config_id: int) -> str:
    """Google Wallet's save/delete callbacks (the class's callbackOptions.url)."""
    return _hook_url("wallet/google", config_id)
