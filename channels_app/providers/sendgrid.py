"""Email through Twilio SendGrid's v3 Mail Send API, and the verification of its signed Event
Webhook (ECDSA P-256 over timestamp + raw body) that reports deliveries, bounces and complaints.

SendGrid rather than SES: one bearer key instead of SigV4 and an SNS subscription handshake, and
its Event Webhook reports bounces, blocks and spam reports per message (our custom_args ride
along), signed with a key the workspace pastes from SendGrid's settings."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..email_parts import AttachmentUnavailable, attachments_fetch
from .base import Outbound, Provider, SendResult, attachment_failure, http_failure, json_or_empty

MESSAGE_ID_ARG = "waymark_message_id"  # our id, echoed by SendGrid on every event of the message


def _public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    """The Event Webhook's verification key as SendGrid shows it: base64 DER (SubjectPublicKeyInfo),
    with or without PEM armour."""
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text.strip(), validate=True))
    except (ValueError, TypeError, binascii.Error):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None


def event_signature_valid(public_key: str, timestamp: str, body: bytes, signature: str) -> bool:
    key = _public_key(public_key or "")
    if key is None or not timestamp or not signature:
        return False
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


class SendgridProvider(Provider):
    key = "sendgrid"
    channels = ("email",)
    credential_fields = {"api_key": True, "webhook_verification_key": False}
    default_base_url = "https://api.sendgrid.com"

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if isinstance(credentials, dict) and credentials.get("webhook_verification_key"):
            if _public_key(str(credentials["webhook_verification_key"])) is None:
                errors["credentials.webhook_verification_key"] = [
                    "Must be the Event Webhook's verification key (base64, from SendGrid's "
                    "Mail Settings)."
                ]
        return errors

    @classmethod
    def settings_errors(cls, settings):
        if not str(settings.get("from_email") or "").count("@") == 1:
            return {"settings.from_email": ["The sender address SendGrid has verified is required."]}
        return {}

    def payload(self, out: Outbound, attachments) -> dict:
        content = out.content
        sender = {"email": self.settings["from_email"]}
        if content.get("from_name"):
            sender["name"] = content["from_name"]
        parts = []  # SendGrid requires text/plain before text/html
        if content.get("text"):
            parts.append({"type": "text/plain", "value": content["text"]})
        if content.get("html"):
            parts.append({"type": "text/html", "value": content["html"]})
        body: dict = {
            "personalizations": [{"to": [{"email": out.to}]}],
            "from": sender,
            "subject": content.get("subject") or "",
            "content": parts,
            "custom_args": {MESSAGE_ID_ARG: str(out.message_id)},
            # Opens and clicks are ours (signed links); SendGrid's would rewrite them again.
            "tracking_settings": {
                "click_tracking": {"enable": False, "enable_text": False},
                "open_tracking": {"enable": False},
            },
        }
        if content.get("reply_to"):
            body["reply_to"] = {"email": content["reply_to"]}
        if out.unsubscribe_url:
            body["headers"] = {
                "List-Unsubscribe": f"<{out.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        if attachments:
            body["attachments"] = [
                {
                    "content": base64.b64encode(item.data).decode(),
                    "type": item.content_type,
                    "filename": item.filename,
                    "disposition": "attachment",
                }
                for item in attachments
            ]
        return body

    def send(self, out: Outbound) -> SendResult:
        try:
            attachments = attachments_fetch(out.content)
        except AttachmentUnavailable as exc:
            return attachment_failure(exc)
        response = self.request(
            "POST",
            f"{self.base_url}/v3/mail/send",
            json=self.payload(out, attachments),
            headers={"Authorization": f"Bearer {self.credentials['api_key']}"},
        )
        if isinstance(response, SendResult):
            return response
        if response.status_code != 202:
            errors = json_or_empty(response).get("errors") or []
            detail = "; ".join(
                f"{e.get('field') or 'request'}: {e.get('message')}"
                for e in errors
                if isinstance(e, dict)
            )
            return http_failure(response, f"HTTP {response.status_code}: {detail}" if detail else "")
        return SendResult(ok=True, provider_message_id=response.headers.get("X-Message-Id", ""))
