"""Wallet passes over HTTP: the signed download link a message carries (/api/v1/hooks/wallet/apple),
and the PassKit web service Wallet calls at the pass's webServiceURL, /wallet (register and
unregister a device, the serial numbers updated since a tag, the latest pass, the device's log).
The web service speaks Apple's protocol, not our API: `Authorization: ApplePass <token>`, 401 for
a token that is not the pass's."""

from __future__ import annotations

import json
import logging

import httpx
from django.http import HttpResponse
from django.urls import path
from django.utils.http import http_date, parse_http_date_safe
from drf_spectacular.utils import OpenApiParameter, extend_schema

from workspaces.errors import json_error

from .callbacks import HookView, _config_from, _forbidden
from .crypto import credentials_decrypt
from .guard import OutboundBlocked, ResponseTooLarge
from .services import wallet_passes
from .wallet import google_callbacks
from .wallet.apple import MEDIA_TYPE

logger = logging.getLogger(__name__)
MAX_LOG_LINES = 50
MAX_PUSH_TOKEN = 256


def _pkpass(built: wallet_passes.BuiltPass, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(built.pkpass(), content_type=MEDIA_TYPE)
    response["Last-Modified"] = http_date(built.last_modified.timestamp())
    response["Cache-Control"] = "no-store"
    if attachment:
        name = built.wallet_pass.template_key
        response["Content-Disposition"] = f'attachment; filename="{name}.pkpass"'
    return response


def _unauthorized() -> HttpResponse:
    return json_error(401, "unauthorized", "Not authorized for this pass.")


class WalletPassDownload(HookView):
    """The link `{{ wallet.<template>.apple_url }}` renders to: the customer's pass, signed now."""

    @extend_schema(
        responses={(200, MEDIA_TYPE): bytes, 404: None}, parameters=[OpenApiParameter("t", str)]
    )
    def get(self, request):
        wallet_pass = wallet_passes.download_token_read(request.query_params.get("t", ""))
        if wallet_pass is None:
            return json_error(404, "not_found", "Not found.")
        try:
            built = wallet_passes.wallet_pass_refresh(wallet_pass=wallet_pass)
        except wallet_passes.PassUnavailable:
            return json_error(404, "not_found", "This pass is no longer offered.")
        return _pkpass(built, attachment=True)


class WalletRegistrationHook(HookView):
    """POST|DELETE /v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}"""

    def _pass(self, request, pass_type, serial):
        return wallet_passes.wallet_pass_authorized(
            pass_type_identifier=pass_type,
            serial_number=serial,
            authorization=request.headers.get("Authorization", ""),
        )

    @extend_schema(exclude=True)  # Apple's protocol, not our API
    def post(self, request, device, pass_type, serial):
        wallet_pass = self._pass(request, pass_type, serial)
        if wallet_pass is None:
            return _unauthorized()
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        token = body.get("pushToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or len(token) > MAX_PUSH_TOKEN:
            return json_error(400, "invalid", "pushToken: a string of at most 256 characters.")
        if len(device) > wallet_passes.MAX_IDENTIFIER:
            return json_error(400, "invalid", "deviceLibraryIdentifier: at most 128 characters.")
        created = wallet_passes.device_register(
            wallet_pass=wallet_pass, device_library_identifier=device, push_token=token
        )
        return HttpResponse(status=201 if created else 200)

    @extend_schema(exclude=True)  # Apple's protocol, not our API
    def delete(self, request, device, pass_type, serial):
        wallet_pass = self._pass(request, pass_type, serial)
        if wallet_pass is None:
            return _unauthorized()
        wallet_passes.device_unregister(wallet_pass=wallet_pass, device_library_identifier=device)
        return HttpResponse(status=200)


class WalletUpdatedPassesHook(HookView):
    """GET /v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}?passesUpdatedSince="""

    @extend_schema(exclude=True)  # Apple's protocol, not our API
    def get(self, request, device, pass_type):
        serials, tag = wallet_passes.device_passes_updated(
            device_library_identifier=device,
            pass_type_identifier=pass_type,
            since=request.query_params.get("passesUpdatedSince"),
        )
        if not serials:
            return HttpResponse(status=204)
        return HttpResponse(
            json.dumps({"serialNumbers": serials, "lastUpdated": tag}),
            content_type="application/json",
        )


class WalletLatestPassHook(HookView):
    """GET /v1/passes/{passTypeIdentifier}/{serialNumber}, with If-Modified-Since."""

    @extend_schema(exclude=True)  # Apple's protocol, not our API
    def get(self, request, pass_type, serial):
        wallet_pass = wallet_passes.wallet_pass_authorized(
            pass_type_identifier=pass_type,
            serial_number=serial,
            authorization=request.headers.get("Authorization", ""),
        )
        if wallet_pass is None:
            return _unauthorized()
        try:
            built = wallet_passes.wallet_pass_refresh(wallet_pass=wallet_pass)
        except wallet_passes.PassUnavailable:
            return json_error(404, "not_found", "This pass is no longer offered.")
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        if since is not None and int(built.last_modified.timestamp()) <= since:
            response = HttpResponse(status=304)
            response["Last-Modified"] = http_date(built.last_modified.timestamp())
            return response
        return _pkpass(built, attachment=False)


class WalletGoogleCallbackHook(HookView):
    """Google Wallet's save/delete callbacks (the class's callbackOptions.url), signed with
    ECv2SigningOnly for the issuer. A message that does not verify is a 403."""

    @extend_schema(request=None, responses={200: None}, parameters=[OpenApiParameter("c", str)])
    def post(self, request):
        config = _config_from(request, "google_wallet")
        if config is None or len(request.body) > google_callbacks.MAX_BODY:
            return _forbidden()
        issuer = str(credentials_decrypt(config.credentials_encrypted).get("issuer_id", ""))
        try:
            message = google_callbacks.callback_verify(
                request.body, recipient_id=issuer, keys=google_callbacks.root_keys()
            )
        except google_callbacks.CallbackInvalid as exc:
            logger.warning("Google Wallet callback refused: %s", exc)
            return _forbidden()
        except (httpx.HTTPError, OutboundBlocked, ResponseTooLarge, ValueError):
            # Google's keys could not be had: Google retries a callback that is not answered 200.
            return json_error(503, "keys_unavailable", "Google's signing keys are unavailable.")
        wallet_passes.google_wallet_callback_record(config=config, message=message)
        return HttpResponse(status=200)


class WalletLogHook(HookView):
    """POST /v1/log {"logs": [...]}: Wallet reports problems with our web service here."""

    @extend_schema(exclude=True)  # Apple's protocol, not our API
    def post(self, request):
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        logs = body.get("logs") if isinstance(body, dict) else None
        for line in (logs if isinstance(logs, list) else [])[:MAX_LOG_LINES]:
            logger.warning("wallet device log: %s", str(line)[:1000])
        return HttpResponse(status=200)


# Mounted at /wallet/ (config/urls.py): webServiceURL is PUBLIC_BASE_URL + "/wallet".
urlpatterns = [
    path(
        "v1/devices/<str:device>/registrations/<str:pass_type>/<str:serial>",
        WalletRegistrationHook.as_view(),
        name="wallet-registration",
    ),
    path(
        "v1/devices/<str:device>/registrations/<str:pass_type>",
        WalletUpdatedPassesHook.as_view(),
        name="wallet-updated",
    ),
    path(
        "v1/passes/<str:pass_type>/<str:serial>", WalletLatestPassHook.as_view(), name="wallet-pass"
    ),
    path("v1/log", WalletLogHook.as_view(), name="wallet-log"),
]
