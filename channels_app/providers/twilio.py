"""Twilio SMS: POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded, basic auth;
status callbacks are signed with X-Twilio-Signature (HMAC-SHA1 of URL + sorted params)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from .base import Outbound, Provider, SendResult, http_failure, json_or_empty


class TwilioProvider(Provider):
    key = "twilio"
    channels = ("sms",)
    credential_fields = {"account_sid": True, "auth_token": True, "from": True}
    default_base_url = "https://api.twilio.com"

    def send(self, out: Outbound) -> SendResult:
        sid = self.credentials["account_sid"]
        form = {"To": out.to, "From": self.credentials["from"], "Body": out.content.get("text", "")}
        if out.status_callback_url:
            form["StatusCallback"] = out.status_callback_url
        response = self.request(
            "POST",
            f"{self.base_url}/2010-04-01/Accounts/{sid}/Messages.json",
            data=form,
            auth=(sid, self.credentials["auth_token"]),
        )
        if isinstance(response, SendResult):
            return response
        body = json_or_empty(response)
        if not response.is_success:
            return http_failure(
                response, f"Twilio {body.get('code')}: {body.get('message') or response.text}"
            )
        return SendResult(ok=True, provider_message_id=str(body.get("sid", "")))


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Twilio MessageStatus → our status (queued/accepted/sending are not news).
TWILIO_STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}
