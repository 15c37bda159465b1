"""Channel providers, one small class each behind providers.base.Provider; PROVIDERS maps the
`provider` key of a ChannelConfig to its class."""

from __future__ import annotations

from .apns import ApnsProvider
from .apple_wallet import AppleWalletProvider
from .base import Outbound, Provider, ProviderConfigError, SendResult
from .fcm import FcmProvider
from .google_wallet import GoogleWalletProvider
from .http import HttpProvider
from .ncloud_sens import NcloudSensProvider
from .nhn_bizmessage import NhnBizmessageProvider
from .rbm import RbmProvider
from .sendgrid import SendgridProvider
from .simple import InboxProvider, SandboxProvider
from .smtp import SmtpProvider
from .telegram import TelegramProvider
from .twilio import TwilioProvider
from .webpush import WebPushProvider
from .whatsapp import WhatsAppCloudProvider

PROVIDERS: dict[str, type[Provider]] = {
    cls.key: cls
    for cls in (
        SandboxProvider,
        SmtpProvider,
        TwilioProvider,
        FcmProvider,
        WhatsAppCloudProvider,
        TelegramProvider,
        HttpProvider,
        InboxProvider,
        NcloudSensProvider,
        NhnBizmessageProvider,
        WebPushProvider,
        RbmProvider,
        ApnsProvider,
        SendgridProvider,
        AppleWalletProvider,
        GoogleWalletProvider,
    )
}

__all__ = ["PROVIDERS", "Outbound", "Provider", "ProviderConfigError", "SendResult"]
