"""WhatsApp Cloud API: POST {base_url}/v{ver}/{phone_number_id}/messages with a bearer token,
templates with body variables or plain text. Its status webhook is signed with
X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret)."""

from __future__ import annotations

import hashlib
import hmac

from .base import Outbound, Provider, SendResult, http_failure, json_or_empty

DEFAULT_API_VERSION = "21.0"


class WhatsAppCloudProvider(Provider):
    key = "whatsapp_cloud"
    channels = ("whatsapp",)
    credential_fields = {
        "phone_number_id": True,
        "access_token": True,
        "app_secret": False,
        "verify_token": False,
    }
    default_base_url = "https://graph.facebook.com"

    def send(self, out: Outbound) -> SendResult:
        content = out.content
        payload: dict = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": out.to.lstrip("+"),
        }
        if content.get("template"):
            template: dict = {
                "name": content["template"],
                "language": {"code": content.get("language", "en_US")},
            }
            variables = content.get("variables") or []
            if variables:
                template["components"] = [
                    {"type": "body", "parameters": [{"type": "text", "text": v} for v in variables]}
                ]
            payload.update(type="template", template=template)
        else:
            payload.update(type="text", text={"body": content.get("text", "")})
        version = str(self.settings.get("api_version", DEFAULT_API_VERSION)).lstrip("v")
        response = self.request(
            "POST",
            f"{self.base_url}/v{version}/{self.credentials['phone_number_id']}/messages",
            json=payload,
            headers={"Authorization": f"Bearer {self.credentials['access_token']}"},
        )
        if isinstance(response, SendResult):
            return response
        body = json_or_empty(response)
        if not response.is_success:
            error = body.get("error") or {}
            return http_failure(
                response, f"WhatsApp {error.get('code')}: {error.get('message') or response.text}"
            )
        messages = body.get("messages") or [{}]
        return SendResult(ok=True, provider_message_id=str(messages[0].get("id", "")))


def hub_signature_valid(app_secret: str, raw_body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


WHATSAPP_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
