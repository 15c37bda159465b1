"""Apple Wallet: the `wallet` channel's credentials (the pass type certificate and key, the WWDR
intermediate) and pass templates (settings.passes). Nothing is sent through it: a pass reaches a
customer as a signed download link inside another channel's message (`{{ wallet.<key>.apple_url }}`),
built by channels_app/wallet."""

from __future__ import annotations

import re

from ..wallet.apple import PassConfigError, signing_keys, template_errors
from .base import Outbound, Provider, SendResult

PASS_TYPE_RE = re.compile(r"^pass(\.[A-Za-z0-9-]+){2,}$")
TEAM_RE = re.compile(r"^[A-Z0-9]{10}$")
TEMPLATE_KEY_RE = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_TEMPLATES = 20


class WalletChannel:
    """What Apple's and Google's wallet providers share: the channel, its settings (pass
    templates), and that nothing is sent through it."""

    channels = ("wallet",)

    @classmethod
    def settings_errors(cls, settings: dict) -> dict[str, list[str]]:
        return wallet_settings_errors(settings)

    def send(self, out: Outbound) -> SendResult:
        return not_sendable()


class AppleWalletProvider(WalletChannel, Provider):
    key = "apple_wallet"
    credential_fields = {
        "pass_type_identifier": True,
        "team_identifier": True,
        "certificate": True,
        "private_key": True,
        "wwdr_certificate": True,
    }

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if errors or not isinstance(credentials, dict):
            return errors
        if not PASS_TYPE_RE.match(str(credentials["pass_type_identifier"])):
            errors["credentials.pass_type_identifier"] = [
                'A pass type ID such as "pass.com.example.loyalty".'
            ]
        if not TEAM_RE.match(str(credentials["team_identifier"])):
            errors["credentials.team_identifier"] = ["The 10-character Apple team ID."]
        if errors:
            return errors
        try:
            signing_keys(credentials)
        except PassConfigError as exc:
            errors[f"credentials.{exc.field}"] = [exc.message]
        return errors



def wallet_settings_errors(settings: dict) -> dict[str, list[str]]:
    """A wallet channel's settings (Apple's or Google's): organization_name and pass templates."""
    errors: dict[str, list[str]] = {}
    name = settings.get("organization_name")
    if not isinstance(name, str) or not name.strip():
        errors["settings.organization_name"] = ["Required: the name Wallet shows for your passes."]
    passes = settings.get("passes")
    if not isinstance(passes, dict) or not passes or len(passes) > MAX_TEMPLATES:
        errors["settings.passes"] = [
            f"An object of 1 to {MAX_TEMPLATES} pass templates keyed by a short name."
        ]
        return errors
    for key, template in passes.items():
        if not TEMPLATE_KEY_RE.match(key):
            errors[f"settings.passes.{key}"] = [
                "Template keys are lowercase letters, digits and _."
            ]
            continue
        errors.update(template_errors(template, f"settings.passes.{key}"))
    return errors


def not_sendable() -> SendResult:
    return SendResult(
        ok=False,
        error="not_sendable",
        detail="A wallet pass is delivered as a link inside an email, SMS or in-app message: "
        "put {{ wallet.<template key>.apple_url }} (or google_url) in that message.",
    )
