"""Firebase Cloud Messaging HTTP v1: POST {base_url}/v1/projects/{project_id}/messages:send, one
request per device token, with an OAuth2 bearer obtained from the service account's token_uri by
a signed JWT (RFC 7523, RS256). UNREGISTERED (404) marks the token invalid on the customer."""

from __future__ import annotations

import base64
import json
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .base import Outbound, Provider, ProviderConfigError, SendResult, http_failure, json_or_empty

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# Tokens live an hour; refresh a minute early so no send races the expiry.
TOKEN_SLACK_SECONDS = 60
_token_cache: dict[tuple[str, str], tuple[str, float]] = {}
_token_lock = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_jwt(account: dict, *, now: int | None = None) -> str:
    now = now or int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    if account.get("private_key_id"):
        header["kid"] = account["private_key_id"]
    claims = {
        "iss": account["client_email"],
        "scope": SCOPE,
        "aud": account["token_uri"],
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


class FcmProvider(Provider):
    key = "fcm"
    channels = ("push",)
    credential_fields = {"project_id": True, "service_account_json": True}
    default_base_url = "https://fcm.googleapis.com"

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if isinstance(credentials, dict) and credentials.get("service_account_json") and not errors:
            try:
                account = cls._account(credentials["service_account_json"])
                serialization.load_pem_private_key(account["private_key"].encode(), password=None)
            except ProviderConfigError as exc:
                errors["credentials.service_account_json"] = [exc.message]
            except (ValueError, TypeError):
                errors["credentials.service_account_json"] = ["private_key is not a PEM RSA key."]
        return errors

    @staticmethod
    def _account(raw) -> dict:
        try:
            account = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (ValueError, TypeError) as exc:
            raise ProviderConfigError("service_account_json", "Not valid JSON.") from exc
        missing = [k for k in ("client_email", "private_key", "token_uri") if not account.get(k)]
        if missing:
            raise ProviderConfigError("service_account_json", f"Missing {', '.join(missing)}.")
        return account

    def access_token(self) -> str | SendResult:
        account = self._account(self.credentials["service_account_json"])
        cache_key = (account["client_email"], account["token_uri"])
        with _token_lock:
            cached = _token_cache.get(cache_key)
            if cached and cached[1] > time.time():
                return cached[0]
        response = self.request(
            "POST",
            account["token_uri"],
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": service_account_jwt(account),
            },
        )
        if isinstance(response, SendResult):
            return response
        body = json_or_empty(response)
        if not response.is_success or not body.get("access_token"):
            result = http_failure(response, f"FCM token: {response.text}")
            result.error = "provider_auth_failed"
            return result
        expires = time.time() + float(body.get("expires_in", 3600)) - TOKEN_SLACK_SECONDS
        with _token_lock:
            _token_cache[cache_key] = (body["access_token"], expires)
        return body["access_token"]

    def _payload(self, token: dict, content: dict) -> dict:
        notification = {"title": content.get("title") or "", "body": content.get("body") or ""}
        if content.get("image_url"):
            notification["image"] = content["image_url"]
        message: dict = {"token": token["token"], "notification": notification}
        data = {str(k): str(v) for k, v in (content.get("data") or {}).items()}
        if content.get("url"):
            data["url"] = content["url"]
            if token.get("platform") == "web":
                message["webpush"] = {"fcm_options": {"link": content["url"]}}
        if data:
            message["data"] = data
        return {"message": message}

    def send(self, out: Outbound) -> SendResult:
        bearer = self.access_token()
        if isinstance(bearer, SendResult):
            return bearer
        url = f"{self.base_url}/v1/projects/{self.credentials['project_id']}/messages:send"
        ids, invalid, last_failure = [], [], None
        for target in out.targets:
            response = self.request(
                "POST",
                url,
                json=self._payload(target, out.content),
                headers={"Authorization": f"Bearer {bearer}"},
            )
            if isinstance(response, SendResult):
                last_failure = response
                continue
            body = json_or_empty(response)
            if response.is_success:
                ids.append(str(body.get("name", "")))
                continue
            error = body.get("error") or {}
            codes = {d.get("errorCode") for d in error.get("details") or [] if isinstance(d, dict)}
            if response.status_code == 404 or "UNREGISTERED" in codes:
                invalid.append(target)
            else:
                last_failure = http_failure(
                    response, f"FCM {error.get('status')}: {error.get('message') or response.text}"
                )
        if ids:
            return SendResult(ok=True, provider_message_id=ids[0], invalid_targets=invalid)
        if last_failure is not None:
            last_failure.invalid_targets = invalid
            return last_failure
        return SendResult(
            ok=False,
            error="push_token_invalid",
            detail="every device token is unregistered",
            invalid_targets=invalid,
        )
