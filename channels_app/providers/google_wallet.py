"""Google Wallet: the `wallet` channel's issuer (issuer_id and the service account that signs
"Save to Google Wallet" links) and pass templates, the same templates as Apple's (settings.passes).
Nothing is sent through it: `{{ wallet.<template key>.google_url }}` in another channel's message
is the link (channels_app/wallet/google.py)."""

from __future__ import annotations

import re

from .apple_wallet import WalletChannel
from .google import GoogleServiceAccountProvider

ISSUER_RE = re.compile(r"^[0-9]{10,25}$")


class GoogleWalletProvider(WalletChannel, GoogleServiceAccountProvider):
    key = "google_wallet"
    credential_fields = {"service_account_json": True, "issuer_id": True}
    oauth_scope = "https://www.googleapis.com/auth/wallet_object.issuer"

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        issuer = credentials.get("issuer_id") if isinstance(credentials, dict) else None
        if issuer and not ISSUER_RE.match(str(issuer)):
            errors["credentials.issuer_id"] = [
                "The numeric issuer ID from the Google Pay & Wallet Console."
            ]
        return errors

