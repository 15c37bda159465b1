"""NAVER Cloud SENS: AlimTalk (POST /alimtalk/v2/services/{serviceId}/messages) with SMS/LMS
failover, and SMS/LMS (POST /sms/v2/services/{serviceId}/messages). Every call is signed:
x-ncp-apigw-signature-v2 = base64(HMAC-SHA256(secretKey, "METHOD uri\\ntimestamp\\naccessKey"))."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

from .. import kakao
from .base import Outbound, Provider, SendResult, http_failure, json_or_empty

ACCEPTED = "A000"  # requestStatusCode of a message the dealer took
DELIVERED = "0000"  # messageStatusCode of a message KakaoTalk delivered
# SENS takes no idempotency key, so before sending a message again after an attempt whose answer
# never came, we list what SENS took for that number since the message was queued (its list
# endpoints filter by request time, "YYYY-MM-DD HH:mm:ss" KST) and adopt a match instead of
# sending twice. The window opens a little early for clock skew between us and the dealer.
LOOKUP_SKEW = timedelta(minutes=2)
LOOKUP_PAGE = 100  # the list endpoints' largest page


def sens_signature(secret_key: str, method: str, uri: str, timestamp: str, access_key: str) -> str:
    message = f"{method} {uri}\n{timestamp}\n{access_key}"
    digest = hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class NcloudSensProvider(Provider):
    key = "ncloud_sens"
    channels = ("kakao_alimtalk", "sms")
    credential_fields = {
        "access_key": True,
        "secret_key": True,
        "service_id": False,  # the Biz Message (AlimTalk) service
        "sms_service_id": False,
        "plus_friend_id": False,
        "sms_from": False,  # a calling number registered at SENS: SMS and AlimTalk failover
    }
    default_base_url = "https://sens.apigw.ntruss.com"

    @classmethod
    def credential_errors(cls, credentials):
        errors = super().credential_errors(credentials)
        if isinstance(credentials, dict) and not errors:
            if not credentials.get("service_id") and not credentials.get("sms_service_id"):
                errors["credentials.service_id"] = [
                    "Give service_id (AlimTalk) and plus_friend_id, or sms_service_id and sms_from."
                ]
            if credentials.get("service_id") and not credentials.get("plus_friend_id"):
                errors["credentials.plus_friend_id"] = [
                    "AlimTalk needs the channel's plus_friend_id."
                ]
            if credentials.get("sms_service_id") and not credentials.get("sms_from"):
                errors["credentials.sms_from"] = ["SMS needs a registered calling number."]
        return errors

    def _call(self, method: str, path: str, query: dict | None = None, body: dict | None = None):
        uri = path + (f"?{urlencode(query)}" if query else "")
        timestamp = str(int(time.time() * 1000))
        access_key = self.credentials["access_key"]
        headers = {
            "x-ncp-apigw-timestamp": timestamp,
            "x-ncp-iam-access-key": access_key,
            "x-ncp-apigw-signature-v2": sens_signature(
                self.credentials["secret_key"], method, uri, timestamp, access_key
            ),
        }
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return self.request(method, self.base_url + uri, json=body, headers=headers)

    def send(self, out: Outbound) -> SendResult:
        if out.channel == "sms":
            return self._send_sms(out)
        return self._send_alimtalk(out)

    def _send_alimtalk(self, out: Outbound) -> SendResult:
        content = out.content
        variables = content.get("variables") or {}
        text = kakao.fill(content.get("text", ""), variables)
        message: dict = {"to": kakao.national_number(out.to), "content": text}
        message.update(self._emphasis(kakao.fill_emphasis(content, variables)))
        if content.get("buttons"):
            message["buttons"] = kakao.dealer_buttons(content["buttons"], "sens")
        failover = kakao.sms_failover(
            content, text, self.settings, self.credentials.get("sms_from", "")
        )
        if failover is not None:
            message["useSmsFailover"] = True
            message["failoverConfig"] = failover
        body = {
            "plusFriendId": self.credentials["plus_friend_id"],
            "templateCode": content.get("template_code", ""),
            "messages": [message],
        }
        path = f"/alimtalk/v2/services/{self.credentials['service_id']}/messages"
        if out.attempts:
            query = {
                "plusFriendId": body["plusFriendId"],
                "templateCode": body["templateCode"],
                "to": message["to"],
            }
            taken = self._already_taken(out, path, query, message["to"], text)
            if taken is not None:
                return taken
        return self._result(self._call("POST", path, body=body))

    @staticmethod
    def _emphasis(parts: dict) -> dict:
        """An emphasized template's parts as SENS takes them with each message (filled): `title`
        (TEXT), `headerContent`, `itemHighlight` and `item` {list, summary} (ITEM_LIST). The
        highlight image and the subtitle are the template's own and are not sent."""
        fields: dict = {}
        if parts.get("title"):
            fields["title"] = parts["title"]
        if parts.get("header"):
            fields["headerContent"] = parts["header"]
        if parts.get("item_highlight"):
            fields["itemHighlight"] = {k: parts["item_highlight"][k] for k in ("title", "description")}
        item = {k: parts[ours] for k, ours in (("list", "items"), ("summary", "item_summary")) if parts.get(ours)}
        if item:
            fields["item"] = item
        return fields

    def _send_sms(self, out: Outbound) -> SendResult:
        text = out.content.get("text", "")
        kind = kakao.sms_type(text)
        body: dict = {
            "type": kind,
            "from": self.credentials["sms_from"],
            "content": text,
            "messages": [{"to": kakao.national_number(out.to)}],
        }
        if kind == "LMS":
            body["subject"] = out.content.get("subject") or text[:20]
        path = f"/sms/v2/services/{self.credentials['sms_service_id']}/messages"
        if out.attempts:
            to = body["messages"][0]["to"]
            taken = self._already_taken(out, path, {"to": to}, to, text)
            if taken is not None:
                return taken
        return self._result(self._call("POST", path, body=body))

    def _already_taken(
        self, out: Outbound, path: str, query: dict, to: str, text: str
    ) -> SendResult | None:
        """After an attempt with no answer: the request SENS already took for this message (as
        sent), a retryable failure when SENS cannot say, or None when it took nothing."""
        since = (out.queued_at or datetime.now(kakao.KOREA)) - LOOKUP_SKEW
        until = datetime.now(kakao.KOREA) + LOOKUP_SKEW
        query = {
            **query,
            "requestStartTime": since.astimezone(kakao.KOREA).strftime("%Y-%m-%d %H:%M:%S"),
            "requestEndTime": until.strftime("%Y-%m-%d %H:%M:%S"),
            "pageSize": LOOKUP_PAGE,
        }
        response = self._call("GET", path, query=query)
        if isinstance(response, SendResult):
            response.retryable = True
            return response
        if response.status_code == 404:  # SENS's answer when nothing matches
            return None
        if not response.is_success:
            failure = http_failure(response, f"SENS: could not check an earlier attempt: HTTP {response.status_code}")
            failure.retryable = True  # sending blind could send twice: ask again later
            return failure
        for row in json_or_empty(response).get("messages") or []:
            if (
                row.get("to") == to
                and row.get("content", text) == text
                and row.get("requestStatusCode", ACCEPTED) == ACCEPTED
                and row.get("requestId")
            ):
                return SendResult(ok=True, provider_message_id=str(row["requestId"]))
        return None

    def _result(self, response) -> SendResult:
        if isinstance(response, SendResult):
            return response
        body = json_or_empty(response)
        if not response.is_success:
            error = body.get("error") or {}
            if not isinstance(error, dict):  # a gateway's own answer: {"error": "Gateway Timeout"}
                error = {"message": str(error)}
            reason = (
                error.get("message")
                or body.get("errorMessage")
                or body.get("statusName")
                or response.text
            )
            return http_failure(
                response,
                f"SENS {error.get('errorCode') or body.get('status') or response.status_code}: {reason}",
            )
        for message in body.get("messages") or []:
            code = message.get("requestStatusCode")
            if code and code != ACCEPTED:  # the dealer refused this recipient (template, number)
                return SendResult(
                    ok=False,
                    error="provider_error",
                    detail=f"SENS {code}: {message.get('requestStatusDesc') or message.get('requestStatusName')}",
                )
        return SendResult(ok=True, provider_message_id=str(body.get("requestId", "")))

    def results(self, channel: str, provider_message_id: str) -> list[dict] | SendResult:
        """The dealer's per-recipient results of one request (GET …/messages?requestId=)."""
        if channel == "sms":
            path = f"/sms/v2/services/{self.credentials['sms_service_id']}/messages"
        else:
            path = f"/alimtalk/v2/services/{self.credentials['service_id']}/messages"
        response = self._call("GET", path, query={"requestId": provider_message_id})
        if isinstance(response, SendResult):
            return response
        if not response.is_success:
            return http_failure(response)
        return json_or_empty(response).get("messages") or []

    @staticmethod
    def outcome(result: dict) -> tuple[str, str, str] | None:
        """(status, reason, failover) of one SENS result, or None while it is still in flight."""
        status_code = result.get("messageStatusCode") or result.get("statusCode")
        name = (result.get("messageStatusName") or result.get("statusName") or "").lower()
        if name in ("", "processing", "ready", "reserved"):
            return None
        if name == "success" or status_code == DELIVERED:
            return "delivered", "", ""
        reason = f"{status_code}: {result.get('messageStatusDesc') or name}"
        if (
            result.get("useSmsFailover")
            and (result.get("failoverStatusName") or "").lower() == "success"
        ):
            return "delivered", reason, "sms"
        return "failed", reason, ""

    # ---- Templates (reviewed by Kakao through the dealer) ------------------------------------
    def templates_list(self) -> list[dict] | SendResult:
        path = f"/alimtalk/v2/services/{self.credentials['service_id']}/templates"
        response = self._call("GET", path, query={"channelId": self.credentials["plus_friend_id"]})
        if isinstance(response, SendResult):
            return response
        if not response.is_success:
            return self._result(response)
        try:
            rows = response.json()
        except ValueError:
            rows = []
        return [
            kakao.template_view(
                t.get("templateCode", ""),
                t.get("templateName", ""),
                t.get("content", ""),
                t.get("templateInspectionStatus", ""),
                kakao.buttons_from_dealer(t.get("buttons"), "sens"),
                kakao.emphasis_from_dealer(t, "sens"),
            )
            for t in (rows if isinstance(rows, list) else [])
            if isinstance(t, dict)
        ]

    def template_register(self, template: dict) -> SendResult:
        body = {
            "channelId": self.credentials["plus_friend_id"],
            "templateCode": template["code"],
            "templateName": template["name"],
            "content": template["text"],
            "messageType": "BA",  # basic: no ad or extra-info part
            **kakao.emphasis_to_dealer(template, "sens"),
            "buttons": [
                {"order": i + 1, **b}
                for i, b in enumerate(kakao.dealer_buttons(template.get("buttons") or [], "sens"))
            ],
        }
        path = f"/alimtalk/v2/services/{self.credentials['service_id']}/templates"
        return self._result(self._call("POST", path, body=body))
