"""Wallet passes issued to customers. `{{ wallet.<template key>.apple_url }}` in a message becomes a
signed link to that customer's pass of that template (one pass, one serial number, per customer
and template); the link and the PassKit web service hand out the pass built at that moment
(Liquid over the customer as they are now), whose Last-Modified moves only when what it shows
changes."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

import templating
from audiences.models import Customer
from workspaces.models import Workspace

from .. import tracking
from ..callback_urls import google_wallet_callback_url
from ..crypto import credentials_decrypt
from ..models import ChannelConfig, DeliveryEvent, Message, WalletPass, WalletRegistration
from ..wallet import apple, google, push
from . import enqueue

DOWNLOAD_SALT = "waymark.wallet.apple"
AUTH_INFO = "waymark.wallet.authentication:"
MENTION_RE = re.compile(r"\bwallet\s*\.\s*([A-Za-z0-9_]+)\s*\.\s*(apple_url|google_url)\b")
PROVIDER_OF = {"apple_url": "apple_wallet", "google_url": "google_wallet"}
PREVIEW_URL = "/api/v1/hooks/wallet/apple?t=preview"
MAX_ID = 2**63 - 1
logger = logging.getLogger(__name__)


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
        if WalletRegistration.objects.for_workspace(workspace).filter(wallet_pass=issued).exists():
            # Re-sent to a customer whose devices hold the pass: they hear of any change.
            _update_on_commit(workspace.pk, [customer.pk])
        return download_url(issued, workspace.signing_secret)
    credentials = credentials_decrypt(config.credentials_encrypted)
    _, obj = _google_object(issued, customer=customer, credentials=credentials)
    digest = _json_digest(obj)
    if not issued.notified_hash:
        # The first link gives Google this content (a save creates the object from it).
        issued.content_hash = issued.notified_hash = digest
        issued.save(update_fields=["content_hash", "notified_hash"])
    elif digest != issued.notified_hash:
        # A saved object keeps what it was saved with: Google is told through its REST API.
        _update_on_commit(workspace.pk, [customer.pk])
    return google.save_url(
        credentials=credentials,
        organization_name=config.settings.get("organization_name", ""),
        template_key=key,
        template=config.settings["passes"][key],
        context=templating.liquid_context(customer=customer),
        serial_number=issued.serial_number,
        callback_url=google_wallet_callback_url(config.pk),
    )


def wallet_passes_linked(*, message: Message, content: Any) -> None:
    """Remembers `message` as the one that last carried each pass its content (as written,
    before Liquid) links to, so a save of the pass is recorded on it."""
    mentions = {(key, PROVIDER_OF[kind]) for key, kind in _mentioned(content)}
    if not mentions or message.customer_id is None:
        return
    passes = WalletPass.objects.for_workspace(message.workspace_id).filter(
        customer_id=message.customer_id,
        template_key__in={key for key, _ in mentions},
        channel_config__provider__in={provider for _, provider in mentions},
    )
    passes.update(last_message=message)


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
    """Records (or refreshes) the device's push token for the pass; True when it is new. The
    pass's first device is a save, recorded on the message that carried it; the device holds
    the pass as it is now, so only later changes are pushed to it."""
    credentials = credentials_decrypt(wallet_pass.channel_config.credentials_encrypted)
    registrations = WalletRegistration.objects.for_workspace(wallet_pass.workspace_id)
    with transaction.atomic():
        # One registration at a time per pass: two devices at once still make one first save.
        locked = WalletPass.objects.for_workspace(wallet_pass.workspace_id).select_for_update()
        wallet_pass = locked.select_related("channel_config").get(pk=wallet_pass.pk)
        first = not registrations.filter(wallet_pass=wallet_pass).exists()
        _, created = registrations.update_or_create(
            workspace_id=wallet_pass.workspace_id,
            wallet_pass=wallet_pass,
            device_library_identifier=device_library_identifier,
            defaults={
                "push_token": push_token,
                "pass_type_identifier": credentials.get("pass_type_identifier", ""),
            },
        )
        if first:
            if wallet_pass.notified_hash != wallet_pass.content_hash:
                wallet_pass.notified_hash = wallet_pass.content_hash
                wallet_pass.save(update_fields=["notified_hash"])
            _device_saved(wallet_pass, "apple_wallet", {"device": device_library_identifier})
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


def _device_saved(wallet_pass: WalletPass, source: str, data: dict | None = None) -> bool:
    """Records `saved` on the message that last carried the pass (none: nothing to count)."""
    message = (
        Message.objects.for_workspace(wallet_pass.workspace_id)
        .filter(pk=wallet_pass.last_message_id)
        .first()
        if wallet_pass.last_message_id
        else None
    )
    if message is None:
        return False
    DeliveryEvent.objects.for_workspace(wallet_pass.workspace_id).create(
        workspace_id=wallet_pass.workspace_id,
        message=message,
        status=DeliveryEvent.SAVED,
        source=source,
        data={"serial_number": wallet_pass.serial_number, **(data or {})},
    )
    return True


# ---- telling wallets that hold a pass of its changes ------------------------------------------


def _json_digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _google_object(
    wallet_pass: WalletPass, *, customer: Customer, credentials: dict
) -> tuple[dict, dict]:
    config = wallet_pass.channel_config
    template = (config.settings.get("passes") or {}).get(wallet_pass.template_key)
    if template is None:
        raise PassUnavailable(f"The pass template {wallet_pass.template_key!r} was removed.")
    return google.generic_object(
        issuer_id=str(credentials["issuer_id"]),
        organization_name=config.settings.get("organization_name", ""),
        template_key=wallet_pass.template_key,
        template=template,
        context=templating.liquid_context(customer=customer),
        serial_number=wallet_pass.serial_number,
    )


@dataclass
class PassNotice:
    """What telling a pass's wallets of its content came to."""

    outcome: str  # unchanged, pushed, patched, not_saved, failed
    detail: str = ""
    retryable: bool = False
    unregistered: int = 0  # devices APNs said are gone


def _apple_notify(wallet_pass: WalletPass) -> PassNotice:
    """Pushes `{}` to every device that registered the pass, when it changed since they last
    heard; the devices APNs calls gone (410, BadDeviceToken) are unregistered."""
    built = wallet_pass_refresh(wallet_pass=wallet_pass)
    if wallet_pass.content_hash == wallet_pass.notified_hash:
        return PassNotice("unchanged")
    registrations = list(
        WalletRegistration.objects.for_workspace(wallet_pass.workspace_id).filter(
            wallet_pass=wallet_pass
        )
    )
    tokens = list(dict.fromkeys(r.push_token for r in registrations))
    if not tokens:  # on no device: whoever registers it next downloads it as it is now
        wallet_pass.notified_hash = wallet_pass.content_hash
        wallet_pass.save(update_fields=["notified_hash"])
        return PassNotice("unchanged")
    outcomes = push.pass_push(
        credentials=credentials_decrypt(wallet_pass.channel_config.credentials_encrypted),
        push_tokens=tokens,
    )
    dead = {o.push_token for o in outcomes if o.dead}
    if dead:
        WalletRegistration.objects.for_workspace(wallet_pass.workspace_id).filter(
            wallet_pass=wallet_pass, push_token__in=dead
        ).delete()
    failures = [o for o in outcomes if not o.ok and not o.dead]
    retryable = any(o.retryable for o in failures)
    if not retryable:  # told (or told all it can be): the next change is news again
        wallet_pass.notified_hash = built.wallet_pass.content_hash
        wallet_pass.save(update_fields=["notified_hash"])
    if failures:
        return PassNotice(
            "failed",
            detail="; ".join(dict.fromkeys(o.reason for o in failures)),
            retryable=retryable,
            unregistered=len(dead),
        )
    return PassNotice("pushed", unregistered=len(dead))


def _google_notify(wallet_pass: WalletPass) -> PassNotice:
    """PATCHes the saved Google Wallet object when what the pass shows changed since Google
    was last given it."""
    from ..providers.google_wallet import GoogleWalletProvider

    config = wallet_pass.channel_config
    credentials = credentials_decrypt(config.credentials_encrypted)
    try:
        _, obj = _google_object(wallet_pass, customer=wallet_pass.customer, credentials=credentials)
    except templating.RenderError as exc:
        raise PassUnavailable(str(exc)) from exc
    digest = _json_digest(obj)
    if digest != wallet_pass.content_hash:
        wallet_pass.content_hash = digest
        wallet_pass.updated_at = timezone.now()
        wallet_pass.save(update_fields=["content_hash", "updated_at"])
    if digest == wallet_pass.notified_hash:
        return PassNotice("unchanged")
    result = GoogleWalletProvider(credentials, config.settings).object_patch(obj)
    if result.ok:
        wallet_pass.notified_hash = digest
        wallet_pass.save(update_fields=["notified_hash"])
        return PassNotice("patched")
    if result.error == "not_saved":
        return PassNotice("not_saved", detail=result.detail)
    return PassNotice(
        "failed", detail=f"{result.error}: {result.detail}", retryable=result.retryable
    )


def wallet_pass_notify(*, wallet_pass: WalletPass) -> PassNotice:
    """Tells the wallets that hold the pass what changed in it, as each wallet wants it: an APNs
    push to Apple devices (they then fetch it), a REST update of Google's saved object."""
    try:
        if wallet_pass.channel_config.provider == "google_wallet":
            return _google_notify(wallet_pass)
        return _apple_notify(wallet_pass)
    except PassUnavailable as exc:
        return PassNotice("failed", detail=str(exc))


def wallet_passes_update(*, workspace_id: int, customer_ids: list[int]) -> dict:
    """Rebuilds the customers' passes and tells their wallets of every change. Returns the
    count of each outcome; `retry` when some wallet could not be reached (try again later)."""
    passes = (
        WalletPass.objects.for_workspace(workspace_id)
        .filter(customer_id__in=customer_ids)
        .select_related("channel_config", "customer")
        .order_by("pk")
    )
    counts: dict[str, int] = {}
    for wallet_pass in passes:
        notice = wallet_pass_notify(wallet_pass=wallet_pass)
        counts[notice.outcome] = counts.get(notice.outcome, 0) + 1
        if notice.retryable:
            counts["retry"] = counts.get("retry", 0) + 1
        if notice.outcome == "failed":
            logger.warning("wallet pass %s not updated: %s", wallet_pass.pk, notice.detail)
    return counts


def _update_on_commit(workspace_id: int, customer_ids: list[int]) -> None:
    transaction.on_commit(
        lambda: enqueue.wallet_passes_update_enqueue(
            workspace_id=workspace_id, customer_ids=customer_ids
        )
    )


def on_customers_changed(workspace_id: int, customer_ids: list[int]) -> None:
    """The profile-change hook (audiences.hooks): the passes of changed customers may show
    something new; their update is queued (only when any of them holds a pass)."""
    # Called after every import chunk (10k ids): most workspaces hold no pass, and one array
    # parameter costs ~5 ms where an IN list of 10k placeholders cost ~80 ms of worker CPU.
    passes = WalletPass.objects.for_workspace(workspace_id)
    if not passes.exists():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {WalletPass._meta.db_table} WHERE workspace_id = %s AND customer_id = ANY(%s))",
            [workspace_id, list(customer_ids)],
        )
        if cursor.fetchone()[0]:
            enqueue.wallet_passes_update_enqueue(workspace_id=workspace_id, customer_ids=customer_ids)


def google_wallet_callback_record(*, config: ChannelConfig, message: dict) -> str:
    """A verified Google Wallet callback: a `save` of one of this channel's passes records
    `saved` on the message that carried it (once per nonce: Google may deliver twice). Returns
    what came of it: saved, duplicate, ignored (a delete, another issuer's object) or unknown."""
    issuer = str(credentials_decrypt(config.credentials_encrypted).get("issuer_id", ""))
    object_id = str(message.get("objectId") or "")
    if not issuer or not object_id.startswith(f"{issuer}."):
        return "ignored"
    wallet_pass = (
        WalletPass.objects.for_workspace(config.workspace_id)
        .filter(channel_config=config, serial_number=object_id.removeprefix(f"{issuer}."))
        .first()
    )
    if wallet_pass is None:
        return "unknown"
    if message.get("eventType") != "save":
        return "ignored"
    nonce = str(message.get("nonce") or "")[:200]
    if (
        nonce
        and wallet_pass.last_message_id
        and DeliveryEvent.objects.for_workspace(config.workspace_id)
        .filter(message_id=wallet_pass.last_message_id, status=DeliveryEvent.SAVED)
        .filter(data__nonce=nonce)
        .exists()
    ):
        return "duplicate"
    recorded = _device_saved(
        wallet_pass, "google_wallet", {"nonce": nonce, "class_id": str(message.get("classId", ""))}
    )
    return "saved" if recorded else "unknown"
