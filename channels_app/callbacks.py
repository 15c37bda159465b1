"""Provider callbacks under /api/v1/hooks/: Twilio status callbacks, the WhatsApp Cloud and RBM
webhooks (each verified by the provider's signature), plus the open pixel, click redirect and
signed tracking links (the unsubscribe and preference pages: preference_views.py). None of them
uses an API key."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from workspaces.errors import json_error

from . import selectors, services, tracking
from .callback_urls import (  # the URL builders are re-exported: this is where hooks live
    CHANNEL_SALT,
    twilio_callback_url,  # noqa: F401
    whatsapp_callback_url,  # noqa: F401
)
from .crypto import credentials_decrypt
from .models import ChannelConfig, Message
from .providers.rbm import RBM_STATUSES, rbm_signature_valid
from .providers.sendgrid import event_signature_valid
from .providers.twilio import TWILIO_STATUSES, twilio_signature
from .providers.whatsapp import WHATSAPP_STATUSES, hub_signature_valid

logger = logging.getLogger(__name__)


def _config_from(request, provider: str) -> ChannelConfig | None:
    try:
        config_id = signing.loads(request.query_params.get("c", ""), salt=CHANNEL_SALT)
    except signing.BadSignature:
        return None
    return ChannelConfig.objects.unscoped().filter(pk=config_id, provider=provider).first()


def _forbidden():
    return json_error(403, "invalid_signature", "The callback's signature does not verify.")


class HookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class TwilioStatusHook(HookView):
    """Twilio's StatusCallback (form-encoded MessageSid, MessageStatus, ErrorCode)."""

    @extend_schema(request=None, responses={204: None}, parameters=[OpenApiParameter("c", str)])
    def post(self, request):
        config = _config_from(request, "twilio")
        if config is None:
            return _forbidden()
        params = {k: request.POST.get(k) for k in request.POST}
        token = credentials_decrypt(config.credentials_encrypted).get("auth_token", "")
        signature = request.headers.get("X-Twilio-Signature", "")
        # Twilio signs the URL it was given, which carries a timestamped token: check against
        # the URL as requested (regenerating it would give a new timestamp in a later second).
        requested = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{request.get_full_path()}"
        if not signature or not hmac.compare_digest(
            signature, twilio_signature(token, requested, params)
        ):
            return _forbidden()
        status = TWILIO_STATUSES.get(params.get("MessageStatus", ""))
        message = selectors.message_by_provider_id(
            workspace_id=config.workspace_id, provider_message_id=params.get("MessageSid", "")
        )
        if status and message is not None:
            services.message_receipt(
                message=message,
                status=status,
                source="twilio",
                error=f"twilio_{params['ErrorCode']}" if params.get("ErrorCode") else "",
                data={"twilio_status": params.get("MessageStatus")},
            )
        return HttpResponse(status=204)


class WhatsAppHook(HookView):
    """WhatsApp Cloud webhook: GET is Meta's subscription handshake, POST carries statuses and
    inbound messages, signed with X-Hub-Signature-256."""

    @extend_schema(request=None, responses={200: str}, parameters=[OpenApiParameter("c", str)])
    def get(self, request):
        config = _config_from(request, "whatsapp_cloud")
        verify = (
            credentials_decrypt(config.credentials_encrypted).get("verify_token")
            if config
            else None
        )
        offered = request.query_params.get("hub.verify_token", "")
        # Constant time: a plain != would leak, by its timing, how much of a guess was right.
        if (
            not verify
            or request.query_params.get("hub.mode") != "subscribe"
            or not hmac.compare_digest(offered.encode(), str(verify).encode())
        ):
            return _forbidden()
        return HttpResponse(
            request.query_params.get("hub.challenge", ""), content_type="text/plain"
        )

    @extend_schema(request=None, responses={204: None}, parameters=[OpenApiParameter("c", str)])
    def post(self, request):
        config = _config_from(request, "whatsapp_cloud")
        if config is None:
            return _forbidden()
        secret = credentials_decrypt(config.credentials_encrypted).get("app_secret", "")
        raw = request.body
        if not secret or not hub_signature_valid(
            secret, raw, request.headers.get("X-Hub-Signature-256", "")
        ):
            return _forbidden()
        payload = request.data if isinstance(request.data, dict) else {}
        for entry in payload.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                for item in value.get("statuses") or []:
                    self._receipt(
                        config, item.get("id"), WHATSAPP_STATUSES.get(item.get("status")), item
                    )
                for inbound in value.get("messages") or []:
                    replied_to = ((inbound or {}).get("context") or {}).get("id")
                    self._receipt(config, replied_to, "replied", inbound)
        return HttpResponse(status=204)

    @staticmethod
    def _receipt(config: ChannelConfig, wamid: str | None, status: str | None, item: dict) -> None:
        message = selectors.message_by_provider_id(
            workspace_id=config.workspace_id, provider_message_id=wamid or ""
        )
        if message is None or status is None:
            return
        at = None
        if str(item.get("timestamp", "")).isdigit():
            at = datetime.fromtimestamp(int(item["timestamp"]), tz=UTC)
        errors = item.get("errors") or []
        error = (
            f"whatsapp_{errors[0].get('code')}" if errors and isinstance(errors[0], dict) else ""
        )
        services.message_receipt(
            message=message, status=status, source="whatsapp", at=at, error=error
        )


class RbmHook(HookView):
    """RCS Business Messaging webhook: a Pub/Sub-style push whose message.data (base64 JSON) is a
    DELIVERED/READ event for our messageId or the user's reply, signed with X-Goog-Signature."""

    @extend_schema(request=None, responses={200: None}, parameters=[OpenApiParameter("c", str)])
    def post(self, request):
        config = _config_from(request, "rbm")
        if config is None:
            return _forbidden()
        token = credentials_decrypt(config.credentials_encrypted).get("client_token", "")
        payload = request.data if isinstance(request.data, dict) else {}
        try:
            data = base64.b64decode(str((payload.get("message") or {}).get("data", "")))
            event = json.loads(data)
        except (binascii.Error, ValueError, AttributeError):
            data, event = b"", None
        if not token or not rbm_signature_valid(
            token, data, request.headers.get("X-Goog-Signature", "")
        ):
            return _forbidden()
        if not isinstance(event, dict):
            return HttpResponse(status=200)
        status = RBM_STATUSES.get(event.get("eventType", ""))
        if status:
            message = selectors.message_by_provider_id(
                workspace_id=config.workspace_id,
                provider_message_id=str(event.get("messageId") or ""),
            )
            data_out = {"event_id": event.get("eventId")}
        elif "text" in event or "suggestionResponse" in event:
            status = "replied"
            message = selectors.message_latest_sent_to(
                workspace_id=config.workspace_id,
                channel_config_id=config.pk,
                to=str(event.get("senderPhoneNumber") or ""),
            )
            response = event.get("suggestionResponse") or {}
            data_out = {
                "postback_data": response.get("postbackData"),
                "text": str(event.get("text") or response.get("text") or "")[:500],
            }
        else:
            message = None  # IS_TYPING and the like
        if message is not None:
            services.message_receipt(
                message=message,
                status=status,
                source="rbm",
                data={k: v for k, v in data_out.items() if v},
            )
        # RBM retries anything but 200 for up to 7 days.
        return HttpResponse(status=200)


class SendgridEventsHook(HookView):
    """SendGrid's signed Event Webhook: a JSON array of events, signed with ECDSA over the
    timestamp header + raw body. Unsigned or forged batches are refused (403), so nobody can
    bounce a workspace's customers by posting fake events."""

    @extend_schema(request=None, responses={200: None}, parameters=[OpenApiParameter("c", str)])
    def post(self, request):
        config = _config_from(request, "sendgrid")
        if config is None:
            return _forbidden()
        body = request.body
        key = credentials_decrypt(config.credentials_encrypted).get("webhook_verification_key", "")
        if not event_signature_valid(
            key,
            request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", ""),
            body,
            request.headers.get("X-Twilio-Email-Event-Webhook-Signature", ""),
        ):
            return _forbidden()
        try:
            events = json.loads(body)
        except ValueError:
            events = []
        if isinstance(events, list):
            services.esp_events_record(
                workspace_id=config.workspace_id, source="sendgrid", events=events[:10_000]
            )
        # Anything but 2xx makes SendGrid retry the whole batch for 24 hours.
        return HttpResponse(status=200)


def _message(message_id: int | None) -> Message | None:
    if message_id is None:
        return None
    return Message.objects.unscoped().filter(pk=message_id).first()


class OpenPixelHook(HookView):
    @extend_schema(responses={(200, "image/gif"): bytes}, parameters=[OpenApiParameter("t", str)])
    def get(self, request):
        message = _message(tracking.open_token_read(request.query_params.get("t", "")))
        if message is not None:
            services.message_receipt(message=message, status="opened", source="pixel")
        # Always the pixel: a broken image tells nobody anything either way.
        response = HttpResponse(tracking.PIXEL_GIF, content_type="image/gif")
        response["Cache-Control"] = "no-store"
        return response


class ClickHook(HookView):
    @extend_schema(responses={302: None, 404: None}, parameters=[OpenApiParameter("t", str)])
    def get(self, request):
        found = tracking.click_token_read(request.query_params.get("t", ""))
        if found is None:
            return json_error(404, "not_found", "Not found.")
        message = _message(found[0])
        if message is not None:
            services.message_receipt(
                message=message, status="clicked", source="click", data={"url": found[1]}
            )
        return HttpResponseRedirect(found[1])
