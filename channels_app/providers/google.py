"""Google service-account OAuth for the Google providers (FCM, RCS Business Messaging): a JWT
signed RS256 with the account's private key is exchanged at its token_uri for a bearer token
(RFC 7523), cached per account and scope until a minute before it expires."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import ClassVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .base import Provider, ProviderConfigError, SendResult, http_failure, json_or_empty

# Tokens live an hour; refresh a minute early so no send races the expiry.
TOKEN_SLACK_SECONDS = 60
_token_cache: dict[tuple[str, str, str], tuple[str, float]] = {}
_token_lock = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_jwt(account: dict, *, scope: str, now: int | None = None) -> str:
    now = now or int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    if account.get("private_key_id"):
        header["kid"] = account["private_key_id"]
    claims = {
        "iss": account["client_email"],
        "scope": scope,
        "aud": account["token_uri"],
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


class GoogleServiceAccountProvider(Provider):
    """A provider authenticated by `credentials.service_account_json` for `oauth_scope`."""

    oauth_scope: ClassVar[str]

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

    def _cache_key(self) -> tuple[str, str, str]:
        account = self._account(self.credentials["service_account_json"])
        return (account["client_email"], account["token_uri"], self.oauth_scope)

    def access_token_forget(self) -> None:
        """The API refused the cached token (revoked, or the account's key was rotated)."""
        with _token_lock:
            _token_cache.pop(self._cache_key(), None)

    def access_token(self) -> str | SendResult:
        account = self._account(self.credentials["service_account_json"])
        cache_key = self._cache_key()
        with _token_lock:
            cached = _token_cache.get(cache_key)
            if cached and cached[1] > time.time():
                return cached[0]
        response = self.request(
            "POST",
            account["token_uri"],
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": service_account_jwt(account, scope=self.oauth_scope),
            },
        )
        if isinstance(response, SendResult):
            return response
        body = json_or_empty(response)
        if not response.is_success or not body.get("access_token"):
            result = http_failure(response, f"{self.key} token: {response.text}")
            result.error = "provider_auth_failed"
            return result
        expires = time.time() + float(body.get("expires_in", 3600)) - TOKEN_SLACK_SECONDS
        with _token_lock:
            _token_cache[cache_key] = (body["access_token"], expires)
        return body["access_token"]
