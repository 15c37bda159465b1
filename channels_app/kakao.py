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

# AlimTalk template types (Kakao's emphasizeType, both dealers' name for it): a plain body, an
# emphasized title (TEXT: a title and subtitle above the body), an image (IMAGE: kept with the
# template, never sent), or an item list (ITEM_LIST: a header, a highlight, 2–10 items and a summary).
EMPHASIZE_TYPES = ("NONE", "TEXT", "IMAGE", "ITEM_LIST")
# Their limits, in characters, as the dealers' references give them (SENS "Send message",
# NHN Bizmessage "AlimTalk v2.3"): the emphasized title and subtitle, the item list's header, its
# highlight (shorter with a highlight image), each item's and the summary's title and description.
MAX_TITLE = 50
MAX_SUBTITLE = 50
MAX_HEADER = 16
MAX_HIGHLIGHT_TITLE, MAX_HIGHLIGHT_TITLE_WITH_IMAGE = 30, 21
MAX_HIGHLIGHT_DESCRIPTION, MAX_HIGHLIGHT_DESCRIPTION_WITH_IMAGE = 19, 13
MIN_ITEMS, MAX_ITEMS = 2, 10
MAX_ITEM_TITLE, MAX_ITEM_DESCRIPTION = 6, 23
MAX_SUMMARY_TITLE, MAX_SUMMARY_DESCRIPTION = 6, 14
# Our content fields of each type beyond the body (the template's; #{name}s filled at send).
EMPHASIS_FIELDS = {
    "NONE": (),
    "TEXT": ("title", "subtitle"),
    "IMAGE": (),
    "ITEM_LIST": ("header", "item_highlight", "items", "item_summary"),
}

PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")
KOREA = ZoneInfo("Asia/Seoul")
AD_BAN_START, AD_BAN_END = time(20, 0), time(8, 0)  # Korea's night-time ad ban (KST)


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text or "")


def fill(text: str, variables: dict[str, str]) -> str:
    """The template body with its #{name} placeholders replaced by the rendered variables."""
    return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), m.group(0))), text or "")


def emphasize_type(content: dict) -> str:
    kind = content.get("emphasize_type") or "NONE"
    return kind if kind in EMPHASIZE_TYPES else "NONE"


def emphasis(content: dict) -> dict:
    """The template's parts beyond its body, for its type: {field: value} of EMPHASIS_FIELDS."""
    return {f: content[f] for f in EMPHASIS_FIELDS[emphasize_type(content)] if content.get(f) not in (None, "", [], {})}


def _strings(value) -> list[str]:
    """Every string in a template part (a text, a {title, description}, a list of those)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def template_placeholders(content: dict) -> list[str]:
    """The #{name}s of the whole template: its body and its emphasized parts, each once."""
    texts = [content.get("text") or "", *(_strings(v) for v in emphasis(content).values())]
    flat = [t for part in texts for t in ([part] if isinstance(part, str) else part)]
    return list(dict.fromkeys(name for t in flat for name in placeholders(t)))


def fill_emphasis(content: dict, variables: dict[str, str]) -> dict:
    """The emphasized parts with their #{name}s filled (what the reader sees and SENS is sent)."""

    def filled(value):
        if isinstance(value, str):
            return fill(value, variables)
        if isinstance(value, dict):
            return {k: filled(v) for k, v in value.items()}
        if isinstance(value, list):
            return [filled(v) for v in value]
        return value

    return {field: filled(value) for field, value in emphasis(content).items()}


def _pair_errors(where: str, value, keys: tuple[str, ...] = ("title", "description")) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return [(where, f"Must be an object with {' and '.join(keys)}.")]
    errors = [(f"{where}.{k}", "This field is required.") for k in ("title", "description")
              if not isinstance(value.get(k), str) or not value[k].strip()]
    errors += [(f"{where}.{k}", f"Unknown field {k!r}.") for k in value if k not in keys]
    return errors


def emphasis_errors(content: dict) -> list[tuple[str, str]]:
    """The template type's structure: its parts present and shaped as Kakao wants, and no part
    of another type (a dealer refuses an item list on a template without one)."""
    kind = content.get("emphasize_type")
    if kind is not None and kind not in EMPHASIZE_TYPES:
        return [("emphasize_type", f"Must be one of {', '.join(EMPHASIZE_TYPES)}.")]
    kind = kind or "NONE"
    errors: list[tuple[str, str]] = []
    for other, fields in EMPHASIS_FIELDS.items():
        for field in fields:
            if other != kind and content.get(field) not in (None, "", [], {}):
                errors.append((field, f"Only a {other} template has {field}; this one is {kind}."))
    if kind == "TEXT":
        for field in ("title", "subtitle"):
            if not isinstance(content.get(field, ""), str):
                errors.append((field, "Must be text."))
        if not str(content.get("title") or "").strip():
            errors.append(("title", "A TEXT (emphasized title) template needs its title."))
    if kind == "ITEM_LIST":
        items = content.get("items")
        if not isinstance(items, list) or not MIN_ITEMS <= len(items) <= MAX_ITEMS:
            errors.append(("items", f"An item list has {MIN_ITEMS} to {MAX_ITEMS} items (Kakao)."))
        else:
            for i, item in enumerate(items):
                errors += _pair_errors(f"items.{i}", item)
        if not isinstance(content.get("header", ""), str):
            errors.append(("header", "Must be text."))
        if content.get("item_highlight") is not None:
            errors += _pair_errors("item_highlight", content["item_highlight"], ("title", "description", "image_url"))
        if content.get("item_summary") is not None:
            errors += _pair_errors("item_summary", content["item_summary"])
    return errors


def _length_errors(where: str, text, limit: int, why: str = "") -> list[tuple[str, str]]:
    if isinstance(text, str) and len(text) > limit:
        return [(where, f"{len(text)} characters; Kakao allows {limit}{why}.")]
    return []


def emphasis_limit_errors(parts: dict) -> list[tuple[str, str]]:
    """Kakao's lengths for the (filled) emphasized parts of an AlimTalk."""
    errors = _length_errors("title", parts.get("title"), MAX_TITLE)
    errors += _length_errors("subtitle", parts.get("subtitle"), MAX_SUBTITLE)
    errors += _length_errors("header", parts.get("header"), MAX_HEADER)
    highlight = parts.get("item_highlight")
    if isinstance(highlight, dict):
        image = bool(highlight.get("image_url"))
        why = " with a highlight image" if image else ""
        errors += _length_errors("item_highlight.title", highlight.get("title"),
                                 MAX_HIGHLIGHT_TITLE_WITH_IMAGE if image else MAX_HIGHLIGHT_TITLE, why)
        errors += _length_errors("item_highlight.description", highlight.get("description"),
                                 MAX_HIGHLIGHT_DESCRIPTION_WITH_IMAGE if image else MAX_HIGHLIGHT_DESCRIPTION, why)
    for i, item in enumerate(parts.get("items") or []):
        if isinstance(item, dict):
            errors += _length_errors(f"items.{i}.title", item.get("title"), MAX_ITEM_TITLE)
            errors += _length_errors(f"items.{i}.description", item.get("description"), MAX_ITEM_DESCRIPTION)
    summary = parts.get("item_summary")
    if isinstance(summary, dict):
        errors += _length_errors("item_summary.title", summary.get("title"), MAX_SUMMARY_TITLE)
        errors += _length_errors("item_summary.description", summary.get("description"), MAX_SUMMARY_DESCRIPTION)
    return errors


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
        errors += emphasis_errors(content)
        errors += _design_limit_errors(content, variables)
        wanted = template_placeholders(content)
        for name in wanted:
            if name not in variables:
                errors.append(
                    (f"variables.{name}", f"The template uses #{{{name}}}: give its value.")
                )
        for name in variables:
            if name not in wanted:
                errors.append((f"variables.{name}", f"The template has no #{{{name}}}."))
    return errors


def _design_limit_errors(content: dict, variables: dict) -> list[tuple[str, str]]:
    """Kakao's lengths for the parts whose #{name}s are filled by plain text (no Liquid), known at
    design time; a part still holding a #{name} waits for the send's check."""
    plain = {k: v for k, v in variables.items() if "{{" not in v and "{%" not in v}

    def known(value):
        if isinstance(value, str):
            return "" if PLACEHOLDER.search(value) else value
        if isinstance(value, dict):
            return {k: known(v) for k, v in value.items()}
        if isinstance(value, list):
            return [known(v) for v in value]
        return value

    return emphasis_limit_errors(known(fill_emphasis(content, plain)))


def rendered_errors(channel: str, rendered: dict) -> list[tuple[str, str]]:
    """The dealers' length limits on a rendered message (or a design-time one without Liquid)."""
    text = rendered.get("text")
    if not isinstance(text, str):
        return []
    errors: list[tuple[str, str]] = []
    if channel == ALIMTALK:
        variables = rendered.get("variables") or {}
        if not isinstance(variables, dict):
            return []
        text = fill(text, variables)
        errors += emphasis_limit_errors(fill_emphasis(rendered, variables))
    limit, why = MAX_CONTENT, ""
    if channel == FRIENDTALK and rendered.get("image_url"):
        limit, why = MAX_CONTENT_WITH_IMAGE, " with an image"
    return _length_errors("text", text, limit, why) + errors


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


# A template's type and parts in each dealer's field names: ours → (SENS, NHN).
DEALER_EMPHASIS = {
    "emphasize_type": ("emphasizeType", "templateEmphasizeType"),
    "title": ("emphasizeTitle", "templateTitle"),
    "subtitle": ("emphasizeSubTitle", "templateSubtitle"),
    "header": ("header", "templateHeader"),
    "item_highlight": ("itemHighlight", "templateItemHighlight"),
    "item_summary": ("item.summary", "templateItem.summary"),
    "items": ("item.list", "templateItem.list"),
}


def _pair(value, with_image: bool = False) -> dict | None:
    if not isinstance(value, dict):
        return None
    pair = {k: str(value.get(k) or "") for k in ("title", "description")}
    if with_image and value.get("imageUrl"):
        pair["image_url"] = value["imageUrl"]
    return pair


def emphasis_from_dealer(template: dict, dealer: str) -> dict:
    """A dealer's template type and parts in our content's field names."""
    column = 0 if dealer == "sens" else 1
    out: dict[str, Any] = {}
    for ours, names in DEALER_EMPHASIS.items():
        value: Any = template
        for key in names[column].split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if ours == "items":
            value = [p for p in map(_pair, value) if p] if isinstance(value, list) else None
        elif ours in ("item_highlight", "item_summary"):
            value = _pair(value, with_image=ours == "item_highlight")
        if value not in (None, "", [], {}):
            out[ours] = value
    kind = out.get("emphasize_type")
    out["emphasize_type"] = kind if kind in EMPHASIZE_TYPES else "NONE"
    return {"emphasize_type": out["emphasize_type"], **emphasis(out)}


def emphasis_to_dealer(template: dict, dealer: str) -> dict:
    """Our template type and parts in a dealer's field names (the inverse of emphasis_from_dealer)."""
    column = 0 if dealer == "sens" else 1
    out: dict[str, Any] = {DEALER_EMPHASIS["emphasize_type"][column]: emphasize_type(template)}
    for ours, value in emphasis(template).items():
        if ours == "item_highlight" and value.get("image_url"):
            value = {"title": value["title"], "description": value["description"], "imageUrl": value["image_url"]}
        path = DEALER_EMPHASIS[ours][column].split(".")
        into = out
        for key in path[:-1]:
            into = into.setdefault(key, {})
        into[path[-1]] = value
    return out


def template_view(code: str, name: str, text: str, status: str, buttons: list, parts: dict | None = None) -> dict:
    """A dealer's template as GET /channels/{id}/templates shows it: its body, buttons and, for an
    emphasized or item-list template, its type and parts (`parts`: emphasis_from_dealer)."""
    parts = parts or {"emphasize_type": "NONE"}
    return {
        "code": code,
        "name": name,
        "text": text,
        **parts,
        "variables": template_placeholders({"text": text, **parts}),
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
        if field not in ("code", "name", "text", "buttons", "emphasize_type", *DEALER_EMPHASIS):
            errors[field] = [f"Unknown field {field!r}."]
    for field, message in emphasis_errors(data) + emphasis_limit_errors(emphasis(data)):
        errors.setdefault(field, []).append(message)
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
    variables = rendered.get("variables") or {}
    text = fill(rendered.get("text") or "", variables)
    return {"filled_text": text, "failover_type": sms_type(rendered.get("failover_text") or text),
            "filled_emphasis": fill_emphasis(rendered, variables if isinstance(variables, dict) else {})}
