"""Firebase Cloud Messaging HTTP v1: POST {base_url}/v1/projects/{project_id}/messages:send, one
request per device token, with an OAuth2 bearer obtained from the service account's token_uri by
a signed JWT (RFC 7523, RS256). UNREGISTERED (404) marks the token invalid on the customer."""

from __future__ import annotations

from .base import Outbound, SendResult, http_failure, json_or_empty
from .google import GoogleServiceAccountProvider


class FcmProvider(GoogleServiceAccountProvider):
    key = "fcm"
    channels = ("push",)
    credential_fields = {"project_id": True, "service_account_json": True}
    default_base_url = "https://fcm.googleapis.com"
    oauth_scope = "https://www.googleapis.com/auth/firebase.messaging"

    def _payload(self, token: dict, content: dict) -> dict:
        notification = {"title": content.get("title") or "", "body": content.get("body") or ""}
        if content.get("image_url"):
            notification["image"] = content["image_url"]
        message: dict = {"token": token["token"], "notification": notification}
        data = {str(k): str(v) for k, v in (content.get("data") or {}).items()}
        if content.get("url"):
            data["url"] = content["url"]
            if token.get("platform") == "web":
                message["webpush"] = {"fcm_options": {"link": content["url"]}}
        if data:
            message["data"] = data
        return {"message": message}

    def send(self, out: Outbound) -> SendResult:
        bearer = self.access_token()
        if isinstance(bearer, SendResult):
            return bearer
        url = f"{self.base_url}/v1/projects/{self.credentials['project_id']}/messages:send"
        ids, invalid, last_failure = [], [], None
        for target in out.targets:
            response = self.request(
                "POST",
                url,
                json=self._payload(target, out.content),
                headers={"Authorization": f"Bearer {bearer}"},
            )
            if isinstance(response, SendResult):
                last_failure = response
                continue
            body = json_or_empty(response)
            if response.is_success:
                ids.append(str(body.get("name", "")))
                continue
            error = body.get("error") or {}
            codes = {d.get("errorCode") for d in error.get("details") or [] if isinstance(d, dict)}
            if response.status_code == 404 or "UNREGISTERED" in codes:
                invalid.append(target)
            else:
                last_failure = http_failure(
                    response, f"FCM {error.get('status')}: {error.get('message') or response.text}"
                )
        if ids:
            return SendResult(ok=True, provider_message_id=ids[0], invalid_targets=invalid)
        if last_failure is not None:
            last_failure.invalid_targets = invalid
            return last_failure
        return SendResult(
            ok=False,
            error="push_token_invalid",
            detail="every device token is unregistered",
            invalid_targets=invalid,
        )
