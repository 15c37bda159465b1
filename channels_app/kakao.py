"""KakaoTalk content rules shared by the Korean dealers' providers: AlimTalk template variables
(#{name}), buttons and their dealer field names, the dealers' length limits, SMS/LMS by EUC-KR
bytes, the night-time ad ban, and the national phone form the dealers want."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ALIMTALK, FRIENDTALK = "kakao_alimtalk", "kakao_friendtalk"
BRAND_MESSAGE = "brand_message"  # a FriendTalk channel's `product` setting: always advertising
FRIENDTALK_PRODUCT = "friendtalk"  # a FriendTalk message's `product` unless it is a Brand Message
CHANNELS = (ALIMTALK, FRIENDTALK)
DEALERS = ("ncloud_sens", "nhn_bizmessage")  # the providers that speak to a Korean dealer

# The dealers' limits (Kakao's, which both NAVER Cloud SENS and NHN Cloud pass on).
MAX_CONTENT = 1000  # characters of an AlimTalk or FriendTalk body
MAX_CONTENT_WITH_IMAGE = 400  # characters of a FriendTalk body with an image
MAX_BUTTONS = 5
MAX_BUTTON_NAME = 14
SMS_MAX_BYTES = 90  # EUC-KR bytes: longer text goes as LMS
LMS_MAX_BYTES = 2000

# Button type → (our content fields required, our field → the dealers' field names: SENS, NHN).
BUTTON_TYPES: dict[str, tuple[str, ...]] = {
    "WL": ("url_mobile",),  # web link
    "AL": ("scheme_android", "scheme_ios"),  # app link
    "BK": (),  # bot keyword
    "MD": (),  # message delivery
    "AC": (),  # channel add (AlimTalk only)
}
BUTTON_FIELDS = {
    # ours: (SENS, NHN)
    "url_mobile": ("linkMobile", "linkMo"),
    "url_pc": ("linkPc", "linkPc"),
    "scheme_android": ("schemeAndroid", "schemeAndroid"),
    "scheme_ios": ("schemeIos", "schemeIos"),
}

PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")
KOREA = ZoneInfo("Asia/Seoul")
AD_BAN_START, AD_BAN_END = time(20, 0), time(8, 0)  # Korea's night-time ad ban (KST)


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text or "")


def fill(text: str, variables: dict[str, str]) -> str:
    """The template body with its #{name} placeholders replaced by the rendered variables."""
    return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), m.group(0))), text or "")


def _button_errors(channel: str, buttons: Any) -> list[tuple[str, str]]:
    if not isinstance(buttons, list):
        return [("buttons", "Must be a list.")]
    errors: list[tuple[str, str]] = []
    if len(buttons) > MAX_BUTTONS:
        errors.append(("buttons", f"At most {MAX_BUTTONS} buttons (Kakao); got {len(buttons)}."))
    for i, button in enumerate(buttons):
        where = f"buttons.{i}"
        if not isinstance(button, dict):
            errors.append((where, "Must be an object with type and name."))
            continue
        kind = button.get("type")
        if kind not in BUTTON_TYPES or (kind == "AC" and channel != ALIMTALK):
            allowed = [t for t in BUTTON_TYPES if channel == ALIMTALK or t != "AC"]
            errors.append((f"{where}.type", f"Must be one of {', '.join(allowed)}."))
            continue
        name = button.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append((f"{where}.name", "This field is required."))
        elif len(name) > MAX_BUTTON_NAME:
            errors.append((f"{where}.name", f"At most {MAX_BUTTON_NAME} characters (Kakao)."))
        for field in BUTTON_TYPES[kind]:
            if not isinstance(button.get(field), str) or not button[field].strip():
                errors.append((f"{where}.{field}", f"A {kind} button needs {field}."))
        for field in button:
            if field not in ("type", "name", *BUTTON_FIELDS):
                errors.append((f"{where}.{field}", f"Unknown button field {field!r}."))
    return errors


def content_errors(channel: str, content: dict) -> list[tuple[str, str]]:
    """Kakao's structural rules: buttons, the ad flag, and AlimTalk variables matching the
    template's #{name} placeholders. Called by rendering.content_errors."""
    errors: list[tuple[str, str]] = []
    if content.get("buttons") is not None:
        errors += _button_errors(channel, content["buttons"])
    if channel == FRIENDTALK and not isinstance(content.get("is_ad", False), bool):
        errors.append(("is_ad", "Must be true or false."))
    if channel == ALIMTALK:
        variables = content.get("variables") or {}
        if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
        ):
            return errors + [("variables", "Must be an object of variable name → text.")]
        wanted = placeholders(content.get("text") or "")
        for name in wanted:
            if name not in variables:
                errors.append(
                    (f"variables.{name}", f"The template uses #{{{name}}}: give its value.")
                )
        for name in variables:
            if name not in wanted:
                errors.append((f"variables.{name}", f"The template has no #{{{name}}}."))
    return errors


def rendered_errors(channel: str, rendered: dict) -> list[tuple[str, str]]:
    """The dealers' length limits on a rendered message (or a design-time one without Liquid)."""
    text = rendered.get("text")
    if not isinstance(text, str):
        return []
    if channel == ALIMTALK:
        text = fill(text, rendered.get("variables") or {})
    limit, why = MAX_CONTENT, ""
    if channel == FRIENDTALK and rendered.get("image_url"):
        limit, why = MAX_CONTENT_WITH_IMAGE, " with an image"
    if len(text) > limit:
        return [("text", f"{len(text)} characters; Kakao allows {limit}{why}.")]
    return []


def euc_kr_bytes(text: str) -> int:
    """Bytes of `text` in EUC-KR as the carriers count them (a character EUC-KR lacks costs 2)."""
    total = 0
    for ch in text:
        try:
            total += len(ch.encode("euc_kr"))
        except UnicodeEncodeError:
            total += 2
    return total


def sms_type(text: str) -> str:
    """SMS up to 90 EUC-KR bytes, LMS beyond (both dealers' rule)."""
    return "SMS" if euc_kr_bytes(text) <= SMS_MAX_BYTES else "LMS"


def national_number(phone: str) -> str:
    """The dealers want Korean numbers in national form: +821012345678 → 01012345678."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.startswith("+82") or (digits.startswith("82") and not phone.startswith("0")):
        return "0" + digits[2:]
    return digits


def ad_ban_until(now: datetime) -> datetime | None:
    """When an ad may go out if `now` falls in Korea's 20:00–08:00 KST ban, else None."""
    local = now.astimezone(KOREA)
    if AD_BAN_END <= local.time() < AD_BAN_START:
        return None
    day = local.date() if local.time() < AD_BAN_END else local.date() + timedelta(days=1)
    return datetime.combine(day, AD_BAN_END, tzinfo=KOREA)


def is_ad(channel: str, content: dict, channel_settings: dict | None = None) -> bool:
    """AlimTalk is informational only; a FriendTalk is an ad when it carries the ad flag, and a
    Brand Message (by its content's product or its channel's) always is."""
    if channel != FRIENDTALK:
        return False
    return (
        bool(content.get("is_ad"))
        or content.get("product") == BRAND_MESSAGE
        or (channel_settings or {}).get("product") == BRAND_MESSAGE
    )


def dealer_buttons(buttons: list, dealer: str) -> list[dict]:
    """Our buttons in a dealer's field names (`sens` or `nhn`; NHN also numbers them)."""
    column = 0 if dealer == "sens" else 1
    out = []
    for i, button in enumerate(buttons or []):
        item: dict[str, Any] = {"type": button["type"], "name": button["name"]}
        if dealer == "nhn":
            item = {"ordering": i + 1, **item}
        for ours, names in BUTTON_FIELDS.items():
            if button.get(ours):
                item[names[column]] = button[ours]
        out.append(item)
    return out


def sms_failover(content: dict, text: str, settings: dict, sms_from: str) -> dict | None:
    """The SMS/LMS a dealer sends when KakaoTalk cannot deliver (channel setting `sms_failover`
    and a registered calling number): {type, from, content, subject (LMS only)}, or None."""
    if not (settings.get("sms_failover") and sms_from):
        return None
    failover_text = content.get("failover_text") or text
    kind = sms_type(failover_text)
    subject = content.get("failover_subject") or text[:20]
    return {
        "type": kind,
        "from": sms_from,
        "content": failover_text,
        **({"subject": subject} if kind == "LMS" else {}),
    }


# ---- Templates as the dealers keep them ---------------------------------------------------
TEMPLATE_CODE = re.compile(r"[A-Za-z0-9_-]{1,30}")
MAX_TEMPLATE_NAME = 150
# The dealers' review states → ours.
TEMPLATE_STATUSES = {
    "APR": "approved",  # SENS
    "REJ": "rejected",
    "TSC03": "approved",  # NHN
    "TSC04": "rejected",
}


def buttons_from_dealer(buttons: list, dealer: str) -> list[dict]:
    """A dealer's buttons in our content's field names (the inverse of dealer_buttons)."""
    column = 0 if dealer == "sens" else 1
    out = []
    for button in buttons or []:
        item = {"type": button.get("type"), "name": button.get("name")}
        for ours, names in BUTTON_FIELDS.items():
            if button.get(names[column]):
                item[ours] = button[names[column]]
        out.append(item)
    return out


def template_view(code: str, name: str, text: str, status: str, buttons: list) -> dict:
    """A dealer's template as GET /channels/{id}/templates shows it."""
    return {
        "code": code,
        "name": name,
        "text": text,
        "variables": list(dict.fromkeys(placeholders(text))),
        "buttons": buttons,
        "status": TEMPLATE_STATUSES.get(status, "pending"),
        "dealer_status": status,
    }


def template_errors(data) -> dict[str, list[str]]:
    """A new AlimTalk template's problems, by field, before it goes to the dealer for review."""
    if not isinstance(data, dict):
        return {"non_field_errors": ["Must be an object with code, name and text."]}
    errors: dict[str, list[str]] = {}
    for field in data:
        if field not in ("code", "name", "text", "buttons"):
            errors[field] = [f"Unknown field {field!r}."]
    code, name, text = data.get("code"), data.get("name"), data.get("text")
    if not isinstance(code, str) or not TEMPLATE_CODE.fullmatch(code):
        errors["code"] = ["1 to 30 letters, digits, _ or -."]
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TEMPLATE_NAME:
        errors["name"] = [f"1 to {MAX_TEMPLATE_NAME} characters."]
    if not isinstance(text, str) or not text.strip():
        errors["text"] = ["This field is required."]
    elif len(text) > MAX_CONTENT:
        errors["text"] = [f"{len(text)} characters; Kakao allows {MAX_CONTENT}."]
    if data.get("buttons") is not None:
        for field, message in _button_errors(ALIMTALK, data["buttons"]):
            errors.setdefault(field, []).append(message)
    return errors


def metadata(rendered: dict) -> dict:
    """What an AlimTalk's reader sees (its template filled in) and, for SMS failover, whether
    that text would go as SMS or LMS: shown by previews."""
    text = fill(rendered.get("text") or "", rendered.get("variables") or {})
    return {"filled_text": text, "failover_type": sms_type(rendered.get("failover_text") or text)}
