"""Email over SMTP: multipart/alternative text + HTML, attachments (multipart/mixed), and
List-Unsubscribe (one-click, RFC 8058)."""

from __future__ import annotations

import smtplib
import ssl
import time
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from ..email_parts import Attachment, AttachmentUnavailable, attachments_fetch
from ..guard import GuardedSMTP, GuardedSMTPSSL, OutboundBlocked
from .base import Outbound, Provider, SendResult, attachment_failure

# SMTP reply codes 4xx are transient (try later); 5xx are permanent (RFC 5321 §4.2.1).
TRANSIENT = range(400, 500)


class SmtpProvider(Provider):
    key = "smtp"
    channels = ("email",)
    credential_fields = {
        "host": True,
        "port": True,
        "username": False,
        "password": False,
        "use_tls": False,
        "use_ssl": False,
    }

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        errors.pop("credentials.base_url", None)
        if isinstance(credentials, dict) and credentials.get("port") is not None:
            port = credentials["port"]
            if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
                errors["credentials.port"] = ["Must be a port number."]
        return errors

    def build(self, out: Outbound, attachments: list[Attachment] = ()) -> EmailMessage:
        content = out.content
        # RFC 5322 allows 998-character lines; the default 78 would RFC 2047-encode long URLs in
        # List-Unsubscribe, which mail clients then ignore.
        email = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
        from_email = self.settings.get("from_email") or "no-reply@localhost"
        email["From"] = (
            formataddr((content["from_name"], from_email))
            if content.get("from_name")
            else from_email
        )
        email["To"] = out.to
        email["Subject"] = content.get("subject", "")
        if content.get("reply_to"):
            email["Reply-To"] = content["reply_to"]
        email["Message-ID"] = make_msgid(
            idstring=f"wm{out.message_id}", domain=from_email.rpartition("@")[2] or None
        )
        email["X-Waymark-Message"] = str(out.message_id)
        if out.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{out.unsubscribe_url}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(content.get("text") or "")
        if content.get("html"):
            email.add_alternative(content["html"], subtype="html")
        for item in attachments:
            maintype, _, subtype = item.content_type.partition("/")
            email.add_attachment(
                item.data, maintype=maintype, subtype=subtype or "octet-stream", filename=item.filename
            )
        return email

    def send(self, out: Outbound) -> SendResult:
        creds = self.credentials
        try:
            email = self.build(out, attachments_fetch(out.content))
        except AttachmentUnavailable as exc:
            return attachment_failure(exc)
        timeout = self.timeout_seconds(15)
        started = time.monotonic()
        try:
            # The guarded classes connect only to checked addresses, and end the whole session
            # by its deadline (channels_app.guard).
            smtp_class = GuardedSMTPSSL if creds.get("use_ssl") else GuardedSMTP
            with smtp_class(
                creds["host"], int(creds["port"]), timeout=timeout, deadline=timeout
            ) as smtp:
                if creds.get("use_tls") and not creds.get("use_ssl"):
                    smtp.starttls(context=ssl.create_default_context())
                if creds.get("username"):
                    smtp.login(creds["username"], creds.get("password") or "")
                refused = smtp.send_message(email)
        except OutboundBlocked as exc:
            return SendResult(ok=False, error="outbound_blocked", detail=str(exc))
        except (smtplib.SMTPException, OSError) as exc:
            if time.monotonic() - started < timeout:
                return self._failure(exc)
            # Cut off at the deadline, whatever half a reply smtplib made of it.
            detail = f"no complete answer within {timeout:g} s ({exc})"
            return SendResult(
                ok=False, error="provider_unreachable", detail=detail[:1000], retryable=True
            )
        if refused:
            return SendResult(ok=False, error="address_rejected", detail=str(refused)[:1000])
        return SendResult(ok=True, provider_message_id=email["Message-ID"])

    @staticmethod
    def _failure(exc: Exception) -> SendResult:
        """What an SMTP error within the deadline means for the message."""
        if isinstance(exc, smtplib.SMTPResponseException):
            return SendResult(
                ok=False,
                error="provider_error",
                detail=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:1000],
                retryable=exc.smtp_code in TRANSIENT,
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return SendResult(ok=False, error="address_rejected", detail=str(exc.recipients)[:1000])
        return SendResult(
            ok=False, error="provider_unreachable", detail=str(exc)[:1000], retryable=True
        )
