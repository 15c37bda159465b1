"""Generic HTTP provider (any channel; Kakao Alimtalk/Friendtalk and RCS go to the workspace's
gateway this way): POSTs the rendered message as JSON to the configured URL."""

from __future__ import annotations

from ..rendering import CHANNELS
from .base import Outbound, Provider, SendResult, http_failure, json_or_empty


class HttpProvider(Provider):
    key = "http"
    channels = CHANNELS
    credential_fields = {"url": True, "headers": False}

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if isinstance(credentials, dict):
            headers = credentials.get("headers")
            if headers is not None and not (
                isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
            ):
                errors["credentials.headers"] = ["Must be an object of header name → string."]
            url = credentials.get("url")
            if url and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
                errors["credentials.url"] = ["Must be an http(s) URL."]
        return errors

    def send(self, out: Outbound) -> SendResult:
        payload = {
            "message_id": out.message_id,
            "channel": out.channel,
            "to": out.to,
            "content": out.content,
            "status_callback_url": out.status_callback_url,
        }
        response = self.request(
            "POST",
            self.credentials["url"],
            json=payload,
            # A send interrupted by a worker crash is retried (at-least-once); the key lets the
            # gateway drop the repeat, as payment-style APIs do with Idempotency-Key.
            headers={
                **(self.credentials.get("headers") or {}),
                "Idempotency-Key": str(out.message_id),
            },
        )
        if isinstance(response, SendResult):
            return response
        if not response.is_success:
            return http_failure(response)
        body = json_or_empty(response)
        return SendResult(
            ok=True, provider_message_id=str(body.get("id") or body.get("message_id") or "")
        )
