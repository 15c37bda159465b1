"""Google Wallet: the `wallet` channel's issuer (issuer_id and the service account that signs
"Save to Google Wallet" links) and pass templates, the same templates as Apple's (settings.passes).
Nothing is sent through it: `{{ wallet.<template key>.google_url }}` in another channel's message
is the link (channels_app/wallet/google.py); a saved pass whose content changed is updated
through the Wallet REST API (object_patch)."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from .apple_wallet import WalletChannel
from .base import SendResult, http_failure, json_or_empty
from .google import GoogleServiceAccountProvider

ISSUER_RE = re.compile(r"^[0-9]{10,25}$")


class GoogleWalletProvider(WalletChannel, GoogleServiceAccountProvider):
    key = "google_wallet"
    credential_fields = {"service_account_json": True, "issuer_id": True}
    oauth_scope = "https://www.googleapis.com/auth/wallet_object.issuer"
    default_base_url = "https://walletobjects.googleapis.com"

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        issuer = credentials.get("issuer_id") if isinstance(credentials, dict) else None
        if issuer and not ISSUER_RE.match(str(issuer)):
            errors["credentials.issuer_id"] = [
                "The numeric issuer ID from the Google Pay & Wallet Console."
            ]
        return errors


    def object_patch(self, obj: dict) -> SendResult:
        """PATCH walletobjects/v1/genericObject/{id} with the object as it is now (patch
        semantics: the fields given replace Google's). `not_saved` (404): nobody saved the pass
        yet, so Google has nothing to update and the next Save link carries the new content."""
        url = f"{self.base_url}/walletobjects/v1/genericObject/{quote(obj['id'], safe='')}"
        response: httpx.Response | SendResult | None = None
        for attempt in range(2):
            token = self.access_token()
            if isinstance(token, SendResult):
                return token
            response = self.request(
                "PATCH", url, json=obj, headers={"Authorization": f"Bearer {token}"}
            )
            if isinstance(response, SendResult):
                return response
            if response.status_code != 401 or attempt:
                break
            self.access_token_forget()  # revoked or expired early: one new token, then give up
        assert isinstance(response, httpx.Response)
        status = response.status_code
        error = json_or_empty(response).get("error")
        message = str(error.get("message") or "") if isinstance(error, dict) else ""
        detail = f"Google Wallet {status}: {message or response.text[:300]}"
        if response.is_success:
            return SendResult(ok=True, provider_message_id=obj["id"])
        if status == 404:
            return SendResult(ok=False, error="not_saved", detail=detail)
        if status in (401, 403):
            return SendResult(ok=False, error="provider_auth_failed", detail=detail)
        if status == 400:
            return SendResult(ok=False, error="content_invalid", detail=detail)
        return http_failure(response, detail)
