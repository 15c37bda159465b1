"""NHN Cloud KakaoTalk Bizmessage (v2.3): AlimTalk by template code and parameters, FriendTalk
free text with image, buttons and the ad flag; SMS/LMS resend when KakaoTalk cannot deliver.
Authenticated by X-Secret-Key; X-NC-API-IDEMPOTENCY-KEY lets the dealer drop a retried send."""

from __future__ import annotations

from .. import kakao
from .base import Outbound, Provider, SendResult, http_failure, json_or_empty

API_VERSION = "v2.3"
BRAND_API_VERSION = "v1.0"
# Dealer resultCodes worth retrying: throttled, or the dealer's own trouble.
RETRYABLE_CODES = {-9999, -1000, -429}
RESEND_SUCCESS, RESEND_FAILED = "RSC03", "RSC04"  # resendStatus of a finished SMS/LMS resend


class NhnBizmessageProvider(Provider):
    key = "nhn_bizmessage"
    channels = ("kakao_alimtalk", "kakao_friendtalk")
    credential_fields = {
        "appkey": True,
        "secret_key": True,
        "sender_key": True,
        "sms_from": False,  # a calling number registered at NHN Cloud: SMS/LMS resend
    }
    default_base_url = "https://api-alimtalk.cloud.toast.com"

    def _product(self, channel: str) -> str:
        return "alimtalk" if channel == kakao.ALIMTALK else "friendtalk"

    def _headers(self) -> dict:
        return {
            "X-Secret-Key": self.credentials["secret_key"],
            "Content-Type": "application/json;charset=UTF-8",
        }

    def _brand_message(self, channel: str) -> bool:
        """FriendTalk sent as Kakao's Brand Message (channel setting product: brand_message)."""
        return channel == kakao.FRIENDTALK and self.settings.get("product") == kakao.BRAND_MESSAGE

    def _messages_url(self, channel: str) -> str:
        appkey = self.credentials["appkey"]
        if self._brand_message(channel):
            return f"{self.base_url}/brand-message/{BRAND_API_VERSION}/appkeys/{appkey}/messages"
        return f"{self.base_url}/{self._product(channel)}/{API_VERSION}/appkeys/{appkey}/messages"

    def send(self, out: Outbound) -> SendResult:
        content = out.content
        recipient: dict = {"recipientNo": kakao.national_number(out.to)}
        body: dict = {"senderKey": self.credentials["sender_key"]}
        if self._brand_message(out.channel):
            text = content.get("text", "")
            # A free-form Brand Message: the message is the body's, recipients only say whom.
            body.update(chatBubbleType="IMAGE" if content.get("image_url") else "TEXT", adult=False)
            body["content"] = text
            if content.get("image_url"):
                body["image"] = {"imageUrl": content["image_url"]}
            if content.get("buttons"):
                body["buttons"] = [
                    {k: v for k, v in b.items() if k != "ordering"}
                    for b in kakao.dealer_buttons(content["buttons"], "nhn")
                ]
            recipient["targeting"] = "I"  # channel friends among our recipients
        elif out.channel == kakao.ALIMTALK:
            body["templateCode"] = content.get("template_code", "")
            # Every #{name} of the template, its title and item list included: NHN fills them all.
            recipient["templateParameter"] = content.get("variables") or {}
            text = kakao.fill(content.get("text", ""), content.get("variables") or {})
        else:
            text = content.get("text", "")
            recipient["content"] = text
            if content.get("image_url"):
                recipient["imageUrl"] = content["image_url"]
            recipient["isAd"] = kakao.is_ad(out.channel, content)  # the dealer adds "(광고)"
        if content.get("buttons") and not self._brand_message(out.channel):
            recipient["buttons"] = kakao.dealer_buttons(content["buttons"], "nhn")
        failover = kakao.sms_failover(
            content, text, self.settings, self.credentials.get("sms_from", "")
        )
        if failover is not None:
            recipient["resendParameter"] = {
                "isResend": True,
                "resendType": failover["type"],
                "resendContent": failover["content"],
                "resendSendNo": failover["from"],
                **({"resendTitle": failover["subject"]} if "subject" in failover else {}),
            }
        body["recipientList"] = [recipient]
        response = self.request(
            "POST",
            self._messages_url(out.channel),
            json=body,
            headers={**self._headers(), "X-NC-API-IDEMPOTENCY-KEY": f"waymark-{out.message_id}"},
        )
        if isinstance(response, SendResult):
            return response
        data = json_or_empty(response)
        header = data.get("header") or {}
        if not response.is_success:
            return http_failure(
                response,
                f"NHN {header.get('resultCode', f'HTTP {response.status_code}')}: "
                f"{header.get('resultMessage') or response.text}",
            )
        if not header.get("isSuccessful"):
            code = header.get("resultCode")
            return SendResult(
                ok=False,
                error="provider_error",
                detail=f"NHN {code}: {header.get('resultMessage')}"[:1000],
                retryable=code in RETRYABLE_CODES,
            )
        message = data.get("message") or {}
        results = message.get("sendResults") or [{}]
        first = results[0]
        if first.get("resultCode") not in (0, None):
            return SendResult(
                ok=False,
                error="provider_error",
                detail=f"NHN {first.get('resultCode')}: {first.get('resultMessage')}"[:1000],
            )
        return SendResult(
            ok=True,
            provider_message_id=f"{message.get('requestId', '')}:{first.get('recipientSeq', 1)}",
        )

    def results(self, channel: str, provider_message_id: str) -> list[dict] | SendResult:
        """The dealer's result of one recipient (GET …/messages/{requestId}/{recipientSeq})."""
        request_id, _, seq = provider_message_id.partition(":")
        response = self.request(
            "GET", f"{self._messages_url(channel)}/{request_id}/{seq or 1}", headers=self._headers()
        )
        if isinstance(response, SendResult):
            return response
        if not response.is_success:
            return http_failure(response)
        message = json_or_empty(response).get("message")
        return [message] if isinstance(message, dict) else []

    @staticmethod
    def outcome(result: dict) -> tuple[str, str, str] | None:
        """(status, reason, failover) of one NHN result, or None while it is still in flight."""
        status = result.get("messageStatus")
        if status == "COMPLETED":
            return "delivered", "", ""
        if status != "FAILED":
            return None
        reason = f"{result.get('resultCode')}: {result.get('resultCodeName') or ''}".strip()
        resend = result.get("resendStatus")
        if resend == RESEND_SUCCESS:
            return "delivered", reason, "sms"
        if resend not in (None, "", "RSC01", RESEND_FAILED):
            return None  # the SMS resend is still under way
        return "failed", reason, ""

    # ---- Templates (reviewed by Kakao through the dealer) ------------------------------------
    def _templates_url(self) -> str:
        return (
            f"{self.base_url}/alimtalk/{API_VERSION}/appkeys/{self.credentials['appkey']}"
            f"/senders/{self.credentials['sender_key']}/templates"
        )

    def _header_failure(self, response) -> SendResult | None:
        """The failure a dealer answer says, or None when it succeeded."""
        data = json_or_empty(response)
        header = data.get("header") or {}
        if response.is_success and header.get("isSuccessful"):
            return None
        if not response.is_success:
            return http_failure(
                response,
                f"NHN {header.get('resultCode', f'HTTP {response.status_code}')}: "
                f"{header.get('resultMessage') or response.text}",
            )
        return SendResult(
            ok=False,
            error="provider_error",
            detail=f"NHN {header.get('resultCode')}: {header.get('resultMessage')}"[:1000],
        )

    def templates_list(self) -> list[dict] | SendResult:
        response = self.request("GET", self._templates_url(), headers=self._headers())
        if isinstance(response, SendResult):
            return response
        if failure := self._header_failure(response):
            return failure
        listing = json_or_empty(response).get("templateListResponse") or {}
        return [
            kakao.template_view(
                t.get("templateCode", ""),
                t.get("templateName", ""),
                t.get("templateContent", ""),
                t.get("status", ""),
                kakao.buttons_from_dealer(t.get("buttons"), "nhn"),
                kakao.emphasis_from_dealer(t, "nhn"),
            )
            for t in listing.get("templates") or []
            if isinstance(t, dict)
        ]

    def template_register(self, template: dict) -> SendResult:
        body = {
            "templateCode": template["code"],
            "templateName": template["name"],
            "templateContent": template["text"],
            "templateMessageType": "BA",  # basic: no ad or extra-info part
            **kakao.emphasis_to_dealer(template, "nhn"),
            "buttons": kakao.dealer_buttons(template.get("buttons") or [], "nhn"),
        }
        response = self.request("POST", self._templates_url(), json=body, headers=self._headers())
        if isinstance(response, SendResult):
            return response
        return self._header_failure(response) or SendResult(ok=True)
