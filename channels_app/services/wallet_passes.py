"""Wallet passes issued to customers. `{{ wallet.<template key>.apple_url }}` in a message becomes a
signed link to that customer's pass of that template (one pass, one serial number, per customer
and template); the link and the PassKit web service hand out the pass built at that moment
(Liquid over the customer as they are now), whose Last-Modified moves only when what it shows
changes."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

import templating
from audiences.models import Customer
from workspaces.models import Workspace

from .. import tracking
from ..crypto import credentials_decrypt
from ..models import ChannelConfig, WalletPass, WalletRegistration
from ..wallet import apple, google

DOWNLOAD_SALT = "waymark.wallet.apple"
AUTH_INFO = "waymark.wallet.authentication:"
MENTION_RE = re.compile(r"\bwallet\s*\.\s*([A-Za-z0-9_]+)\s*\.\s*(apple_url|google_url)\b")
PROVIDER_OF = {"apple_url": "apple_wallet", "google_url": "google_wallet"}
PREVIEW_URL = "/api/v1/hooks/wallet/apple?t=preview"
MAX_ID = 2**63 - 1


def web_service_url() -> str:
    """Wallet appends /v1/devices/… and /v1/passes/… to this (channels_app/wallet_views.py)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/wallet"


def _mentioned(content: Any) -> list[tuple[str, str]]:
    """(template key, apple_url|google_url) for each link a message's content names."""
    found: list[tuple[str, str]] = []
    if isinstance(content, str):
        found = MENTION_RE.findall(content)
    elif isinstance(content, dict):
        found = [k for v in content.values() for k in _mentioned(v)]
    elif isinstance(content, list):
        found = [k for v in content for k in _mentioned(v)]
    return list(dict.fromkeys(found))


def authentication_token(serial_number: str, workspace_secret: str, key: str | None = None) -> str:
    """The pass's authenticationToken: an HMAC of its serial number under the workspace's key, so
    it is never stored and a token of one workspace opens nothing of another."""
    key = key or tracking.workspace_keys(workspace_secret)[0]
    return hmac.new(key.encode(), (AUTH_INFO + serial_number).encode(), hashlib.sha256).hexdigest()


def authentication_valid(wallet_pass: WalletPass, workspace_secret: str, given: str) -> bool:
    key, fallbacks = tracking.workspace_keys(workspace_secret)
    return any(
        hmac.compare_digest(
            authentication_token(wallet_pass.serial_number, workspace_secret, k).encode(),
            given.encode(),
        )
        for k in (key, *fallbacks)
    )


def wallet_pass_issue(
    *, workspace: Workspace, customer: Customer, config: ChannelConfig, template_key: str
) -> WalletPass:
    """The customer's pass of this template, made on first use (its serial number is random)."""
    passes = WalletPass.objects.for_workspace(workspace)
    found = passes.filter(
        channel_config=config, customer=customer, template_key=template_key
    ).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return passes.create(
                workspace=workspace,
                customer=customer,
                channel_config=config,
                template_key=template_key,
                serial_number=uuid.uuid4().hex,
            )
    except IntegrityError:  # issued by a concurrent send a moment ago
        return passes.get(channel_config=config, customer=customer, template_key=template_key)


def download_url(wallet_pass: WalletPass, workspace_secret: str) -> str:
    key, _ = tracking.workspace_keys(workspace_secret)
    token = f"{wallet_pass.pk}~{signing.dumps(wallet_pass.pk, key=key, salt=DOWNLOAD_SALT)}"
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/api/v1/hooks/wallet/apple?{urlencode({'t': token}, safe=':~')}"


def download_token_read(token: str) -> WalletPass | None:
    """The pass a download link names, when its signature holds under that pass's workspace."""
    prefix, separator, signed = token.partition("~")
    if not separator or not prefix.isdigit() or len(prefix) > 19 or int(prefix) > MAX_ID:
        return None
    wallet_pass = (
        WalletPass.objects.unscoped()
        .select_related("workspace", "channel_config", "customer")
        .filter(pk=int(prefix))
        .first()
    )
    if wallet_pass is None:
        return None
    key, fallbacks = tracking.workspace_keys(wallet_pass.workspace.signing_secret)
    try:
        value = signing.loads(signed, key=key, salt=DOWNLOAD_SALT, fallback_keys=fallbacks)
    except signing.BadSignature:
        return None
    return wallet_pass if value == wallet_pass.pk else None


def _wallet_config(workspace: Workspace, provider: str) -> ChannelConfig | None:
    """The workspace's wallet channel of this provider, its default one first."""
    return (
        ChannelConfig.objects.for_workspace(workspace)
        .filter(channel="wallet", provider=provider)
        .order_by("-is_default", "pk")
        .first()
    )


def _link(
    kind: str, workspace: Workspace, customer: Customer, config: ChannelConfig, key: str
) -> str:
    issued = wallet_pass_issue(
        workspace=workspace, customer=customer, config=config, template_key=key
    )
    if kind == "apple_url":
        return download_url(issued, workspace.signing_secret)
    return google.save_url(
        credentials=credentials_decrypt(config.credentials_encrypted),
        organization_name=config.settings.get("organization_name", ""),
        template_key=key,
        template=config.settings["passes"][key],
        context=templating.liquid_context(customer=customer),
        serial_number=issued.serial_number,
    )


def wallet_variables(
    *, workspace: Workspace, customer: Customer | dict | None, content: Any, preview: bool
) -> dict:
    """`wallet` in a message's Liquid: `{template key: {"apple_url"|"google_url"}}` for each link
    the content names. A template the wallet channel of that provider lacks is a RenderError."""
    mentions = _mentioned(content)
    if not mentions:
        return {}
    real = not preview and isinstance(customer, Customer) and customer.pk is not None
    variables: dict[str, dict[str, str]] = {}
    for key, kind in mentions:
        config = _wallet_config(workspace, PROVIDER_OF[kind])
        if config is None:
            raise templating.RenderError(
                "content",
                f"No {PROVIDER_OF[kind]} wallet channel is set up for wallet.{key}.{kind}.",
            )
        if key not in (config.settings.get("passes") or {}):
            raise templating.RenderError(
                "content", f"No pass template {key!r} in the {PROVIDER_OF[kind]} wallet channel."
            )
        variables.setdefault(key, {})[kind] = (
            _link(kind, workspace, customer, config, key)  # type: ignore[arg-type]
            if real
            else settings.PUBLIC_BASE_URL.rstrip("/") + PREVIEW_URL
        )
    return {"wallet": variables}


@dataclass
class BuiltPass:
    wallet_pass: WalletPass
    files: dict[str, bytes]
    keys: apple.SigningKeys

    @property
    def last_modified(self) -> datetime:
        return self.wallet_pass.updated_at

    def pkpass(self) -> bytes:
        return apple.pkpass_zip(self.files, self.keys)


class PassUnavailable(Exception):
    """The pass cannot be built now (its template was removed, or it no longer renders)."""


def wallet_pass_refresh(*, wallet_pass: WalletPass) -> BuiltPass:
    """Builds the pass as it is now (unsigned) and moves `updated_at` when its files changed."""
    config = wallet_pass.channel_config
    template = (config.settings.get("passes") or {}).get(wallet_pass.template_key)
    if template is None:
        raise PassUnavailable(f"The pass template {wallet_pass.template_key!r} was removed.")
    credentials = credentials_decrypt(config.credentials_encrypted)
    secret = (
        Workspace.objects.filter(pk=wallet_pass.workspace_id)
        .values_list("signing_secret", flat=True)
        .get()
    )
    try:
        keys = apple.signing_keys(credentials)
        files = apple.pass_files(
            keys=keys,
            organization_name=config.settings.get("organization_name", ""),
            template=template,
            context=templating.liquid_context(customer=wallet_pass.customer),
            identity=apple.PassIdentity(
                serial_number=wallet_pass.serial_number,
                authentication_token=authentication_token(wallet_pass.serial_number, secret),
                web_service_url=web_service_url(),
            ),
        )
    except (templating.RenderError, apple.PassConfigError) as exc:
        raise PassUnavailable(str(exc)) from exc
    digest = hashlib.sha256(apple.manifest(files)).hexdigest()
    if digest != wallet_pass.content_hash:
        # HTTP dates have whole seconds: Last-Modified and If-Modified-Since compare equal.
        # A change always moves it forward, even twice within one second.
        wallet_pass.updated_at = max(
            timezone.now().replace(microsecond=0), wallet_pass.updated_at + timedelta(seconds=1)
        )
        wallet_pass.content_hash = digest
        wallet_pass.save(update_fields=["updated_at", "content_hash"])
    return BuiltPass(wallet_pass=wallet_pass, files=files, keys=keys)


# ---- the PassKit web service (Apple's "Adding a Web Service to Update Passes") -------------------

AUTHORIZATION_RE = re.compile(r"^ApplePass ([A-Za-z0-9]{16,128})$")
MAX_IDENTIFIER = 128


def wallet_pass_authorized(
    *, pass_type_identifier: str, serial_number: str, authorization: str
) -> WalletPass | None:
    """The pass a Wallet request names, when its `Authorization: ApplePass <token>` is that
    pass's token and the pass type is its channel's; else None (answered 401)."""
    match = AUTHORIZATION_RE.match(authorization or "")
    if match is None or len(serial_number) > 64 or len(pass_type_identifier) > MAX_IDENTIFIER:
        return None
    wallet_pass = (
        WalletPass.objects.unscoped()
        .select_related("workspace", "channel_config", "customer")
        .filter(serial_number=serial_number)
        .first()
    )
    if wallet_pass is None:
        return None
    if not authentication_valid(wallet_pass, wallet_pass.workspace.signing_secret, match.group(1)):
        return None
    credentials = credentials_decrypt(wallet_pass.channel_config.credentials_encrypted)
    if credentials.get("pass_type_identifier") != pass_type_identifier:
        return None
    return wallet_pass


def device_register(
    *, wallet_pass: WalletPass, device_library_identifier: str, push_token: str
) -> bool:
    """Records (or refreshes) the device's push token for the pass; True when it is new."""
    credentials = credentials_decrypt(wallet_pass.channel_config.credentials_encrypted)
    _, created = WalletRegistration.objects.for_workspace(
        wallet_pass.workspace_id
    ).update_or_create(
        workspace_id=wallet_pass.workspace_id,
        wallet_pass=wallet_pass,
        device_library_identifier=device_library_identifier,
        defaults={
            "push_token": push_token,
            "pass_type_identifier": credentials.get("pass_type_identifier", ""),
        },
    )
    return created


def device_unregister(*, wallet_pass: WalletPass, device_library_identifier: str) -> None:
    WalletRegistration.objects.for_workspace(wallet_pass.workspace_id).filter(
        wallet_pass=wallet_pass, device_library_identifier=device_library_identifier
    ).delete()


def _tag(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def device_passes_updated(
    *, device_library_identifier: str, pass_type_identifier: str, since: str | None
) -> tuple[list[str], str]:
    """The serial numbers of the device's passes of this type that changed after the `since`
    tag (all of them without one), and the tag to send next time. Each pass is rebuilt to see
    whether it changed (its customer's attributes may have)."""
    registrations = (
        WalletRegistration.objects.unscoped()
        .filter(
            device_library_identifier=device_library_identifier,
            pass_type_identifier=pass_type_identifier,
        )
        .select_related("wallet_pass__channel_config", "wallet_pass__customer")
        .order_by("pk")
    )
    after = int(since) if since and since.isdigit() and len(since) < 19 else None
    serials: list[str] = []
    newest: datetime | None = None
    for registration in registrations:
        try:
            built = wallet_pass_refresh(wallet_pass=registration.wallet_pass)
        except PassUnavailable:
            continue
        moment = built.last_modified
        newest = moment if newest is None or moment > newest else newest
        if after is None or int(moment.timestamp()) > after:
            serials.append(built.wallet_pass.serial_number)
    return serials, _tag(newest) if newest is not None else (since or "")
