"""Apple Push Notification service: POST {base_url}/3/device/{token} over HTTP/2 for each `ios`
push token, authorised by a provider token (an ES256 JWT signed with the team's .p8 key, reused
for 50 minutes). BadDeviceToken (400) and Unregistered (410) mark the token invalid."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .base import (
    Outbound,
    Provider,
    ProviderConfigError,
    SendResult,
    http_failure,
    json_or_empty,
    push_outcome,
)

BASE_URLS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}
# Apple refuses a provider token older than an hour and throttles one renewed more often than
# every 20 minutes (TooManyProviderTokenUpdates): sign one and keep it for 50 minutes.
PROVIDER_TOKEN_REUSE_SECONDS = 50 * 60
MAX_PAYLOAD_BYTES = 4096  # an alert notification's limit
PUSH_TYPES = ("alert", "background")
DEAD_TOKEN_REASONS = {"BadDeviceToken", "Unregistered"}
AUTH_REASONS = {"InvalidProviderToken", "ExpiredProviderToken"}
DEVICE_TOKEN = re.compile(r"^[0-9a-fA-F]{32,200}$")
TEAM_OR_KEY_ID = re.compile(r"^[A-Z0-9]{10}$")

_jwt_cache: dict[tuple[str, str, str], tuple[str, float]] = {}
_jwt_lock = threading.Lock()


def _signing_key(pem: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ProviderConfigError("private_key", "Not a PEM private key (the .p8 file).") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ProviderConfigError("private_key", "APNs keys are P-256 (ES256) keys.")
    return key


def _reason(response) -> str:
    """APNs's error answer names its reason: {"reason": "BadDeviceToken"}."""
    if isinstance(response, SendResult):
        return ""
    return str(json_or_empty(response).get("reason") or "")


class ApnsProvider(Provider):
    key = "apns"
    channels = ("push",)
    credential_fields = {
        "team_id": True,
        "key_id": True,
        "private_key": True,
        "bundle_id": True,
        "environment": True,
    }

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if not isinstance(credentials, dict):
            return errors
        for name in ("team_id", "key_id"):
            value = credentials.get(name)
            if value and not (isinstance(value, str) and TEAM_OR_KEY_ID.match(value)):
                errors[f"credentials.{name}"] = [
                    "Ten capital letters or digits, as Apple shows it."
                ]
        environment = credentials.get("environment")
        if environment and environment not in BASE_URLS:
            errors["credentials.environment"] = ["One of: production, sandbox."]
        if credentials.get("private_key"):
            try:
                _signing_key(str(credentials["private_key"]))
            except ProviderConfigError as exc:
                errors["credentials.private_key"] = [exc.message]
        return errors

    @classmethod
    def settings_errors(cls, settings: dict) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if settings.get("push_type", "alert") not in PUSH_TYPES:
            errors["settings.push_type"] = ["One of: alert, background."]
        if settings.get("priority", 10) not in (5, 10):
            errors["settings.priority"] = ["5 (when the device saves power) or 10 (now)."]
        ttl = settings.get("ttl_seconds", 0)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            errors["settings.ttl_seconds"] = ["Whole seconds, 0 or more (0: deliver once or drop)."]
        collapse = settings.get("collapse_id", "")
        if not isinstance(collapse, str) or len(collapse.encode()) > 64:
            errors["settings.collapse_id"] = ["Text of at most 64 bytes."]
        badge = settings.get("badge")
        if badge is not None and (
            not isinstance(badge, int) or isinstance(badge, bool) or badge < 0
        ):
            errors["settings.badge"] = ["A whole number, 0 or more."]
        if not isinstance(settings.get("sound", ""), str):
            errors["settings.sound"] = ["A sound file name in the app bundle, or default."]
        return errors

    @property
    def base_url(self) -> str:
        default = BASE_URLS.get(self.credentials.get("environment"), BASE_URLS["production"])
        return (self.credentials.get("base_url") or default).rstrip("/")

    # ---- provider token ----------------------------------------------------------------------
    def _jwt_cache_key(self) -> tuple[str, str, str]:
        pem_digest = hashlib.sha256(self.credentials["private_key"].encode()).hexdigest()
        return (self.credentials["team_id"], self.credentials["key_id"], pem_digest)

    def provider_token(self) -> str:
        cache_key = self._jwt_cache_key()
        now = time.time()
        with _jwt_lock:
            cached = _jwt_cache.get(cache_key)
            if cached and now - cached[1] < PROVIDER_TOKEN_REUSE_SECONDS:
                return cached[0]
            token = jwt.encode(
                {"iss": self.credentials["team_id"], "iat": int(now)},
                _signing_key(self.credentials["private_key"]),
                algorithm="ES256",
                headers={"kid": self.credentials["key_id"]},
            )
            _jwt_cache[cache_key] = (token, now)
            return token

    def provider_token_forget(self) -> None:
        """APNs refused the token (expired, or the key was revoked or changed)."""
        with _jwt_lock:
            _jwt_cache.pop(self._jwt_cache_key(), None)

    # ---- the notification --------------------------------------------------------------------
    def _payload(self, content: dict) -> bytes:
        data = {str(k): v for k, v in (content.get("data") or {}).items() if k != "aps"}
        if content.get("url"):
            data["url"] = content["url"]
        if self.settings.get("push_type", "alert") == "background":
            aps: dict = {"content-available": 1}
        else:
            aps = {
                "alert": {"title": content.get("title") or "", "body": content.get("body") or ""}
            }
            if self.settings.get("sound"):
                aps["sound"] = self.settings["sound"]
            if self.settings.get("badge") is not None:
                aps["badge"] = self.settings["badge"]
            if content.get("image_url"):
                aps["mutable-content"] = 1  # a notification service extension fetches the image
                data["image_url"] = content["image_url"]
        return json.dumps({"aps": aps, **data}, separators=(",", ":")).encode()

    def _headers(self) -> dict:
        push_type = self.settings.get("push_type", "alert")
        # Apple requires priority 5 for background pushes.
        priority = 5 if push_type == "background" else self.settings.get("priority", 10)
        ttl = int(self.settings.get("ttl_seconds", 0))
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self.credentials["bundle_id"],
            "apns-push-type": push_type,
            "apns-priority": str(priority),
            "apns-expiration": str(int(time.time()) + ttl if ttl else 0),
        }
        if self.settings.get("collapse_id"):
            headers["apns-collapse-id"] = self.settings["collapse_id"]
        return headers

    def _post(self, token: str, payload: bytes):
        return self.request(
            "POST",
            f"{self.base_url}/3/device/{token}",
            content=payload,
            headers={**self._headers(), "content-type": "application/json"},
            http2=True,
        )

    def send(self, out: Outbound) -> SendResult:
        payload = self._payload(out.content)
        if len(payload) > MAX_PAYLOAD_BYTES:
            return SendResult(
                ok=False,
                error="content_invalid",
                detail=f"The notification is {len(payload)} bytes; APNs carries {MAX_PAYLOAD_BYTES}.",
            )
        ids, expired, last_failure = [], [], None
        token_refreshed = False
        for target in out.targets:
            if not isinstance(target, dict) or target.get("platform") != "ios":
                continue  # android and web tokens belong to FCM and Web Push
            token = str(target.get("token") or "")
            if not DEVICE_TOKEN.match(token):
                expired.append(target)
                last_failure = SendResult(
                    ok=False, error="push_token_invalid", detail="an APNs device token is hex"
                )
                continue
            response = self._post(token, payload)
            reason = _reason(response)
            if reason in AUTH_REASONS and not token_refreshed:
                token_refreshed = True  # once per send: a key Apple rejects stays rejected
                self.provider_token_forget()
                response = self._post(token, payload)
                reason = _reason(response)
            if isinstance(response, SendResult):
                last_failure = response
            elif response.status_code == 200:
                ids.append(response.headers.get("apns-id", ""))
            elif reason in DEAD_TOKEN_REASONS or response.status_code == 410:
                expired.append(target)
            elif reason in AUTH_REASONS:
                self.provider_token_forget()
                last_failure = SendResult(
                    ok=False,
                    error="provider_auth_failed",
                    detail=f"APNs {response.status_code} {reason}: check team_id, key_id and the key",
                )
            else:
                last_failure = http_failure(
                    response, f"APNs {response.status_code} {reason or response.text}"
                )
        return push_outcome(
            ids,
            expired,
            last_failure,
            expired_detail="APNs no longer knows this device token (BadDeviceToken/Unregistered)",
            none_detail="no iOS device token",
        )
