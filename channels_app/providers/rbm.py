"""RCS Business Messaging (Google's RBM REST API): POST {base}/v1/phones/{msisdn}/agentMessages
with a text, a standalone rich card or a carousel and suggested replies/actions, authorised by
the agent's service account (OAuth JWT bearer grant, providers/google.py). A phone RBM cannot
reach (capability check or send answering 404) goes as SMS through the workspace's SMS channel
when settings.fallback is "sms". Receipts come back on the RBM webhook (callbacks.RbmHook)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from urllib.parse import quote

from .base import Outbound, SendResult, http_failure, json_or_empty
from .google import GoogleServiceAccountProvider

FALLBACKS = ("sms",)
RBM_STATUSES = {"DELIVERED": "delivered", "READ": "read"}


def rbm_message_id(message_id: int) -> str:
    """RBM's messageId for our Message: the same on every retry, so RBM refuses a second copy."""
    return f"waymark-{message_id}"


def rbm_signature_valid(client_token: str, data: bytes, header: str) -> bool:
    """X-Goog-Signature: base64 HMAC-SHA512 of the decoded message.data, keyed by the webhook's
    client token."""
    expected = base64.b64encode(hmac.new(client_token.encode(), data, hashlib.sha512).digest())
    return hmac.compare_digest(expected, (header or "").encode())


def _suggestion(item: dict) -> dict:
    postback = item.get("postback_data") or item["text"]
    kind = item.get("type", "reply")
    if kind == "reply":
        return {"reply": {"text": item["text"], "postbackData": postback}}
    action: dict = {"text": item["text"], "postbackData": postback}
    if kind == "url":
        action["openUrlAction"] = {"url": item["url"]}
    else:
        action["dialAction"] = {"phoneNumber": item["phone"]}
    return {"action": action}


def _card(card: dict) -> dict:
    content: dict = {k: card[k] for k in ("title", "description") if card.get(k)}
    if card.get("media_url"):
        content["media"] = {
            "height": card.get("media_height") or "MEDIUM",
            "contentInfo": {"fileUrl": card["media_url"]},
        }
    if card.get("suggestions"):
        content["suggestions"] = [_suggestion(s) for s in card["suggestions"]]
    return content


def content_message(content: dict) -> dict:
    """Our rcs content (channels_app/rcs.py) as RBM's contentMessage."""
    text = content.get("text") or ""
    message: dict
    if content.get("cards"):
        message = {
            "richCard": {
                "carouselCard": {
                    "cardWidth": content.get("card_width") or "MEDIUM",
                    "cardContents": [_card(c) for c in content["cards"]],
                }
            },
            "fallback": text,
        }
    elif content.get("card") or content.get("media_url"):
        card = content.get("card") or {"description": text, "media_url": content["media_url"]}
        message = {
            "richCard": {
                "standaloneCard": {"cardOrientation": "VERTICAL", "cardContent": _card(card)}
            },
            "fallback": text,
        }
    else:
        message = {"text": text}
    if content.get("suggestions"):
        message["suggestions"] = [_suggestion(s) for s in content["suggestions"]]
    return message


class RbmProvider(GoogleServiceAccountProvider):
    key = "rbm"
    channels = ("rcs",)
    # client_token: the webhook's token from the RBM console, which signs its receipts.
    credential_fields = {"service_account_json": True, "agent_id": True, "client_token": False}
    default_base_url = "https://rcsbusinessmessaging.googleapis.com"
    oauth_scope = "https://www.googleapis.com/auth/rcsbusinessmessaging"

    @classmethod
    def settings_errors(cls, settings: dict) -> dict[str, list[str]]:
        fallback = settings.get("fallback")
        if fallback is not None and fallback not in FALLBACKS:
            return {"settings.fallback": [f"Must be one of {', '.join(FALLBACKS)}."]}
        return {}

    def _phone_url(self, phone: str, tail: str) -> str:
        return f"{self.base_url}/v1/phones/{quote(phone, safe='+')}/{tail}"

    def _fallback(self, out: Outbound, why: str) -> SendResult:
        if self.settings.get("fallback") != "sms":
            return SendResult(ok=False, error="rcs_unreachable", detail=why)
        from ..services.fallback import sms_fallback_send  # services import providers

        return sms_fallback_send(out=out, text=out.content.get("text") or "")

    def send(self, out: Outbound) -> SendResult:
        bearer = self.access_token()
        if isinstance(bearer, SendResult):
            return bearer
        headers = {"Authorization": f"Bearer {bearer}"}
        agent = self.credentials["agent_id"]
        if self.settings.get("fallback") == "sms":
            # Asked first so an unreachable phone gets its SMS now, not after RBM's own refusal.
            capable = self.request(
                "GET",
                self._phone_url(out.to, "capabilities"),
                params={"requestId": str(uuid.uuid4()), "agentId": agent},
                headers=headers,
            )
            if isinstance(capable, SendResult):
                return capable
            if capable.status_code == 404:
                return self._fallback(out, "the phone is not reachable over RCS")
            if not capable.is_success:
                return http_failure(capable)
        message_id = rbm_message_id(out.message_id)
        response = self.request(
            "POST",
            self._phone_url(out.to, "agentMessages"),
            params={"messageId": message_id, "agentId": agent},
            json={"contentMessage": content_message(out.content)},
            headers=headers,
        )
        if isinstance(response, SendResult):
            return response
        # 409: RBM has this messageId already — an earlier attempt whose answer was lost.
        if response.is_success or response.status_code == 409:
            return SendResult(ok=True, provider_message_id=message_id)
        error = json_or_empty(response).get("error") or {}
        if response.status_code == 401:
            # A token refused before its expiry: fetch a new one on the retry.
            self.access_token_forget()
            result = http_failure(response, f"RBM {error.get('status')}: {response.text}")
            result.retryable = True
            return result
        if response.status_code == 404:
            return self._fallback(out, f"RBM 404: {error.get('message') or response.text}"[:500])
        return http_failure(
            response, f"RBM {error.get('status')}: {error.get('message') or response.text}"
        )
