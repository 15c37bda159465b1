"""The one provider interface: a provider turns a rendered Outbound into a SendResult."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx

from ..guard import OutboundBlocked, ResponseTooLarge, guarded_request

MAX_TIMEOUT_SECONDS = 30.0


@dataclass
class Outbound:
    message_id: int
    channel: str
    to: str
    content: dict
    targets: list = field(default_factory=list)
    status_callback_url: str = ""
    unsubscribe_url: str = ""
    # Sends of this message tried before (an answer lost on the way back may hide one the
    # provider took) and when it was queued: a provider without idempotency keys looks first.
    attempts: int = 0
    queued_at: datetime | None = None


@dataclass
class SendResult:
    ok: bool
    provider_message_id: str = ""
    error: str = ""  # a reason code recorded on the message (provider_error, push_token_invalid…)
    detail: str = ""
    retryable: bool = False  # a transient failure (network, 429, 5xx): try again with backoff
    invalid_targets: list = field(default_factory=list)  # push tokens the provider says are dead
    status: str = "sent"  # what a successful send means (in-app lands delivered)


class ProviderConfigError(ValueError):
    """Credentials or settings are missing or malformed; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Provider:
    key: ClassVar[str]
    channels: ClassVar[tuple[str, ...]]
    # credential name → required
    credential_fields: ClassVar[dict[str, bool]] = {}
    # Providers that speak HTTP take base_url in credentials so tests can use a local server.
    default_base_url: ClassVar[str] = ""

    def __init__(self, credentials: dict, settings: dict | None = None):
        self.credentials = credentials or {}
        self.settings = settings or {}

    @classmethod
    def credential_errors(cls, credentials: Any) -> dict[str, list[str]]:
        if not isinstance(credentials, dict):
            return {"credentials": ["Must be an object."]}
        errors: dict[str, list[str]] = {}
        for name in credentials:
            if name not in cls.credential_fields and name != "base_url":
                errors[f"credentials.{name}"] = [f"Unknown credential for {cls.key}."]
        for name, required in cls.credential_fields.items():
            if required and credentials.get(name) in (None, ""):
                errors[f"credentials.{name}"] = ["This credential is required."]
        return errors

    @classmethod
    def settings_errors(cls, settings: dict) -> dict[str, list[str]]:
        """The provider's own settings rules, keyed `settings.<name>`."""
        return {}

    @classmethod
    def config_complete(cls, credentials: dict, settings: dict) -> tuple[dict, dict]:
        """The valid credentials and settings as stored: a provider may fill in what it makes
        itself (Web Push generates its VAPID keys)."""
        return credentials, settings

    @property
    def base_url(self) -> str:
        return (self.credentials.get("base_url") or self.default_base_url).rstrip("/")

    def send(self, out: Outbound) -> SendResult:
        raise NotImplementedError

    # ---- helpers for HTTP providers -------------------------------------------------------
    def timeout_seconds(self, default: float) -> float:
        """The channel's `timeout_seconds`, never above MAX_TIMEOUT_SECONDS: a send batch holds an
        outbound slot while it waits (channels_app/tasks.py sizes the send task's time limit on it)."""
        return min(float(self.settings.get("timeout_seconds", default)), MAX_TIMEOUT_SECONDS)

    def request(self, method: str, url: str, **kwargs) -> httpx.Response | SendResult:
        """A guarded request (all of it within the channel's `timeout_seconds`); a network failure,
        refused target or oversized answer comes back as a SendResult."""
        try:
            return guarded_request(method, url, timeout=self.timeout_seconds(10), **kwargs)
        except OutboundBlocked as exc:
            return SendResult(ok=False, error="outbound_blocked", detail=str(exc))
        except ResponseTooLarge as exc:
            return SendResult(ok=False, error="provider_error", detail=str(exc))
        except httpx.HTTPError as exc:
            return SendResult(
                ok=False, error="provider_unreachable", detail=str(exc)[:500], retryable=True
            )


def http_failure(response: httpx.Response, detail: str = "") -> SendResult:
    """429 and 5xx are worth retrying; other statuses are the provider saying no."""
    retryable = response.status_code == 429 or response.status_code >= 500
    return SendResult(
        ok=False,
        error="provider_error",
        detail=(detail or f"HTTP {response.status_code}: {response.text}")[:1000],
        retryable=retryable,
    )


def attachment_failure(exc) -> SendResult:
    """An email attachment that could not be fetched (email_parts.AttachmentUnavailable)."""
    return SendResult(
        ok=False, error="attachment_unavailable", detail=exc.detail, retryable=exc.retryable
    )


def push_outcome(
    ids: list, expired: list, failure: SendResult | None, *, expired_detail: str, none_detail: str
) -> SendResult:
    """One push message's result over its device tokens: sent if any took it; else the last
    failure; else token_expired when the provider said every token is gone; `expired` always
    rides along so the send marks those tokens invalid on the customer."""
    if ids:
        return SendResult(ok=True, provider_message_id=ids[0], invalid_targets=expired)
    if failure is not None:
        failure.invalid_targets = expired
        return failure
    if expired:
        return SendResult(
            ok=False, error="token_expired", detail=expired_detail, invalid_targets=expired
        )
    return SendResult(ok=False, error="no_push_token", detail=none_detail)


def json_or_empty(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
