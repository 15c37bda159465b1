"""Web Push (RFC 8030) to browsers: the payload encrypted for the subscription (RFC 8291,
aes128gcm) by pywebpush, authorised by the workspace's VAPID key (RFC 8292), and POSTed to the
subscription's endpoint through the outbound guard. A customer's `web` push token holds the
browser's PushSubscription JSON; 404/410 from the push service means it is gone."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode
from pywebpush import WebPusher

from .base import (
    Outbound,
    Provider,
    ProviderConfigError,
    SendResult,
    http_failure,
    push_outcome,
)

DEFAULT_TTL_SECONDS = 24 * 3600  # how long the push service keeps an undelivered message
# RFC 8292 §2: exp no more than 24 hours ahead; push services refuse tokens near that bound.
VAPID_LIFETIME_SECONDS = 12 * 3600
MAX_PAYLOAD_BYTES = 3000  # 4096 on the wire minus the aes128gcm header, padding and tag
URGENCIES = ("very-low", "low", "normal", "high")


def vapid_keys_generate() -> tuple[str, str]:
    """(private, public) as a site's JavaScript wants them: the raw 32-byte private scalar and
    the uncompressed P-256 point (applicationServerKey), both base64url without padding."""
    vapid = Vapid02()
    vapid.generate_keys()
    return _raw_private(vapid), _raw_public(vapid)


def _raw_private(vapid: Vapid02) -> str:
    return b64urlencode(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))


def _raw_public(vapid: Vapid02) -> str:
    return b64urlencode(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _vapid(private_key: str) -> Vapid02:
    try:
        return Vapid02.from_string(private_key)
    except Exception as exc:  # py_vapid raises several kinds for a malformed key
        raise ProviderConfigError(
            "vapid_private_key", "Not a base64url P-256 private key (raw or DER)."
        ) from exc


def subscription_parse(token: str) -> dict:
    """The browser's PushSubscription.toJSON() as stored in a `web` push token."""
    try:
        data = json.loads(token)
    except (TypeError, ValueError) as exc:
        raise ValueError("the web push token is not a PushSubscription JSON") from exc
    keys = data.get("keys") if isinstance(data, dict) else None
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not (
        isinstance(endpoint, str)
        and endpoint.startswith(("https://", "http://"))
        and isinstance(keys, dict)
        and isinstance(keys.get("p256dh"), str)
        and isinstance(keys.get("auth"), str)
    ):
        raise ValueError("the web push token needs endpoint, keys.p256dh and keys.auth")
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


class WebPushProvider(Provider):
    key = "webpush"
    channels = ("push",)
    # vapid_private_key is generated when the channel is created without one; the public half is
    # kept in settings.vapid_public_key, where a site reads it to subscribe.
    credential_fields = {"vapid_private_key": False, "vapid_subject": True}

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if not isinstance(credentials, dict):
            return errors
        subject = credentials.get("vapid_subject")
        if subject and not (
            isinstance(subject, str) and subject.startswith(("mailto:", "https://"))
        ):
            errors["credentials.vapid_subject"] = [
                "A mailto: address or an https: URL the push service can contact (RFC 8292)."
            ]
        if credentials.get("vapid_private_key"):
            try:
                _vapid(str(credentials["vapid_private_key"]))
            except ProviderConfigError as exc:
                errors["credentials.vapid_private_key"] = [exc.message]
        return errors

    @classmethod
    def config_complete(cls, credentials: dict, settings: dict) -> tuple[dict, dict]:
        if credentials.get("vapid_private_key"):
            public = _raw_public(_vapid(credentials["vapid_private_key"]))
        else:
            private, public = vapid_keys_generate()
            credentials = {**credentials, "vapid_private_key": private}
        return credentials, {**settings, "vapid_public_key": public}

    def _payload(self, content: dict) -> bytes:
        notification = {"title": content.get("title") or "", "body": content.get("body") or ""}
        for ours, theirs in (("url", "url"), ("image_url", "image")):
            if content.get(ours):
                notification[theirs] = content[ours]
        if content.get("data"):
            notification["data"] = content["data"]
        return json.dumps(notification, separators=(",", ":")).encode()

    def _headers(self, endpoint: str, vapid: Vapid02) -> dict:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + VAPID_LIFETIME_SECONDS,
            "sub": self.credentials["vapid_subject"],
        }
        urgency = self.settings.get("urgency", "normal")
        return {
            **vapid.sign(claims),
            "TTL": str(int(self.settings.get("ttl_seconds", DEFAULT_TTL_SECONDS))),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": urgency if urgency in URGENCIES else "normal",
        }

    def send(self, out: Outbound) -> SendResult:
        vapid = _vapid(self.credentials["vapid_private_key"])
        payload = self._payload(out.content)
        if len(payload) > MAX_PAYLOAD_BYTES:
            return SendResult(
                ok=False,
                error="content_invalid",
                detail=f"The push payload is {len(payload)} bytes; Web Push carries {MAX_PAYLOAD_BYTES}.",
            )
        ids, expired, last_failure = [], [], None
        for target in out.targets:
            if not isinstance(target, dict) or target.get("platform") != "web":
                continue  # device tokens belong to FCM/APNs
            try:
                subscription = subscription_parse(target.get("token"))
            except ValueError as exc:
                expired.append(target)
                last_failure = SendResult(ok=False, error="push_token_invalid", detail=str(exc))
                continue
            body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
            response = self.request(
                "POST",
                subscription["endpoint"],
                content=body,
                headers=self._headers(subscription["endpoint"], vapid),
            )
            if isinstance(response, SendResult):
                last_failure = response
            elif response.status_code in (404, 410):
                expired.append(target)
            elif response.is_success:
                ids.append(response.headers.get("Location") or subscription["endpoint"])
            else:
                last_failure = http_failure(response)
        return push_outcome(
            ids,
            expired,
            last_failure,
            expired_detail="the push service no longer knows this browser subscription (404/410)",
            none_detail="no web push subscription",
        )
