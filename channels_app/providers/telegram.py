"""Telegram Bot API: POST {base_url}/bot{token}/sendMessage {chat_id, text, parse_mode?}."""

from __future__ import annotations

from .base import Outbound, Provider, SendResult, http_failure, json_or_empty


class TelegramProvider(Provider):
    key = "telegram"
    channels = ("telegram",)
    credential_fields = {"bot_token": True}
    default_base_url = "https://api.telegram.org"

    def send(self, out: Outbound) -> SendResult:
        payload = {"chat_id": out.to, "text": out.content.get("text", "")}
        if out.content.get("parse_mode"):
            payload["parse_mode"] = out.content["parse_mode"]
        response = self.request(
            "POST", f"{self.base_url}/bot{self.credentials['bot_token']}/sendMessage", json=payload
        )
        if isinstance(response, SendResult):
            return response
        body = json_or_empty(response)
        if not response.is_success or not body.get("ok"):
            result = http_failure(response, f"Telegram: {body.get('description') or response.text}")
            if response.status_code == 403:  # the user blocked the bot or never started it
                result.error = "recipient_blocked"
            return result
        return SendResult(
            ok=True, provider_message_id=str((body.get("result") or {}).get("message_id", ""))
        )
