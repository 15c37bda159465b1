"""Per-channel content rules: what each channel's `content` holds, rendering its template fields
through the Liquid layer (templating), and the checks a rendered message must pass before it is
sent (push lengths, SMS segments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from templating import (
    has_liquid,
    render_string,
    render_value,
    template_error,
    template_errors_in,
)

from . import email_parts, kakao, rcs

CHANNELS = (
    "email",
    "sms",
    "push",
    "whatsapp",
    "rcs",
    "telegram",
    "kakao_alimtalk",
    "kakao_friendtalk",
    "in_app",
)
# Channels a workspace configures but no message node sends on: a wallet pass travels as a link
# inside another channel's message.
CONFIG_CHANNELS = (*CHANNELS, "wallet")
PUSH_PLATFORMS = ("android", "ios", "web")


@dataclass(frozen=True)
class FieldSpec:
    required: bool = False
    kind: str = (
        "template"  # template | text (plain string) | list | dict | templates (list of templates)
    )  # | template_map (name → template) | flag (boolean) | tree (JSON, its strings templates)
    # | source (the editor's design of another field, e.g. an email's MJML: kept, never sent)
    choices: tuple[str, ...] = ()


# What each channel's `content` holds (API.md node table). Template fields are rendered with
# Liquid; the rest are passed through.
CONTENT_SPECS: dict[str, dict[str, FieldSpec]] = {
    "email": {
        "subject": FieldSpec(required=True),
        "html": FieldSpec(),
        "text": FieldSpec(),
        "preheader": FieldSpec(),
        "from_name": FieldSpec(),
        "reply_to": FieldSpec(),
        # [{text, url, color?}] and [{url, filename?}]: rules and rendering in email_parts.py.
        "buttons": FieldSpec(kind="tree"),
        "attachments": FieldSpec(kind="tree"),
        # The visual editor's MJML design; `html` is what it compiles to and what is sent.
        "mjml": FieldSpec(kind="source"),
    },
    "sms": {"text": FieldSpec(required=True)},
    "push": {
        "title": FieldSpec(),
        "body": FieldSpec(required=True),
        "platforms": FieldSpec(kind="list", choices=PUSH_PLATFORMS),
        "url": FieldSpec(),
        "image_url": FieldSpec(),
        "data": FieldSpec(kind="dict"),
    },
    "whatsapp": {
        "template": FieldSpec(kind="text"),
        "language": FieldSpec(kind="text"),
        "variables": FieldSpec(kind="templates"),
        "text": FieldSpec(),
    },
    # RBM's cards and suggestions (limits in rcs.py); with a card, text is the fallback text.
    "rcs": {
        "text": FieldSpec(required=True),
        "media_url": FieldSpec(),
        "suggestions": FieldSpec(kind="tree"),
        "card": FieldSpec(kind="tree"),
        "cards": FieldSpec(kind="tree"),
        "card_width": FieldSpec(kind="text", choices=rcs.CARD_WIDTHS),
    },
    "telegram": {
        "text": FieldSpec(required=True),
        "parse_mode": FieldSpec(kind="text", choices=("HTML", "MarkdownV2")),
    },
    # Kakao's own rules (buttons, #{name} variables, the dealers' limits) are in kakao.py.
    "kakao_alimtalk": {
        "template_code": FieldSpec(required=True, kind="text"),
        "text": FieldSpec(required=True),
        "variables": FieldSpec(kind="template_map"),
        "buttons": FieldSpec(kind="list"),
        "failover_text": FieldSpec(),
        "failover_subject": FieldSpec(),
        # The template's type and its parts beyond the body (#{name}s filled from variables).
        "emphasize_type": FieldSpec(kind="text", choices=kakao.EMPHASIZE_TYPES),
        "title": FieldSpec(kind="text"),
        "subtitle": FieldSpec(kind="text"),
        "header": FieldSpec(kind="text"),
        "item_highlight": FieldSpec(kind="dict"),
        "items": FieldSpec(kind="list"),
        "item_summary": FieldSpec(kind="dict"),
    },
    "kakao_friendtalk": {
        "text": FieldSpec(required=True),
        "image_url": FieldSpec(),
        "buttons": FieldSpec(kind="list"),
        "is_ad": FieldSpec(kind="flag"),
        # "brand_message": sent as Kakao's Brand Message (an ad) through a channel set up for it.
        "product": FieldSpec(kind="text", choices=(kakao.FRIENDTALK_PRODUCT, kakao.BRAND_MESSAGE)),
        "failover_text": FieldSpec(),
        "failover_subject": FieldSpec(),
    },
    "in_app": {
        "title": FieldSpec(required=True),
        "body": FieldSpec(required=True),
        "url": FieldSpec(),
        "image_url": FieldSpec(),
    },
}


def content_errors(channel: str, content: Any) -> list[tuple[str, str]]:
    """Structural problems of a channel's content: (field inside content, message). Never raises."""
    spec = CONTENT_SPECS.get(channel)
    if spec is None:
        return []
    if not isinstance(content, dict):
        return [("", "Must be an object.")]
    errors: list[tuple[str, str]] = []
    for key in content:
        if key not in spec:
            errors.append((key, f"Unknown field {key!r} for {channel}."))
    for key, rule in spec.items():
        value = content.get(key)
        if value is None or value == "":
            if rule.required:
                errors.append((key, "This field is required."))
            continue
        if rule.kind in ("template", "text", "source"):
            if not isinstance(value, str):
                errors.append((key, "Must be a string."))
            elif rule.choices and value not in rule.choices:
                errors.append((key, f"Must be one of {', '.join(rule.choices)}."))
            elif rule.kind == "template" and (problem := template_error(value)):
                errors.append((key, problem))
        elif rule.kind == "list":
            if not isinstance(value, list):
                errors.append((key, "Must be a list."))
            elif rule.choices:
                if not value:
                    errors.append((key, f"Pick at least one of {', '.join(rule.choices)}."))
                errors += [
                    (f"{key}.{i}", f"Must be one of {', '.join(rule.choices)}.")
                    for i, item in enumerate(value)
                    if item not in rule.choices
                ]
        elif rule.kind == "templates":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append((key, "Must be a list of strings."))
            else:
                errors += template_errors_in(value, key)
        elif rule.kind == "tree":
            errors += template_errors_in(value, key)
        elif rule.kind == "dict" and not isinstance(value, dict):
            errors.append((key, "Must be an object."))
    if channel == "email":
        if not (content.get("html") or content.get("text")):
            errors.append(("html", "An email needs an html or a text body."))
        errors += email_parts.content_errors(content)
    if channel in kakao.CHANNELS:
        errors += kakao.content_errors(channel, content)
    if channel == "rcs":
        errors += rcs.content_errors(content)
    if channel == "whatsapp":
        if bool(content.get("template")) == bool(content.get("text")):
            errors.append(("template", "Give either a template (with language) or a text."))
        elif content.get("template") and not content.get("language"):
            errors.append(("language", "A template needs its language code, e.g. en_US."))
    return errors


def content_render(channel: str, content: dict, context: dict[str, Any]) -> dict:
    """The content with every template field rendered; raises RenderError."""
    spec = CONTENT_SPECS.get(channel, {})
    rendered: dict[str, Any] = {}
    for key, value in content.items():
        rule = spec.get(key, FieldSpec(kind="text"))
        if rule.kind == "source":
            continue  # the design, not the message
        if rule.kind == "template" and isinstance(value, str):
            rendered[key] = render_string(value, context, field=key)
        elif rule.kind == "templates" and isinstance(value, list):
            rendered[key] = [
                render_string(v, context, field=f"{key}.{i}") for i, v in enumerate(value)
            ]
        elif rule.kind == "tree":
            rendered[key] = render_value(value, context, field=key)
        elif rule.kind == "template_map" and isinstance(value, dict):
            rendered[key] = {
                k: render_string(v, context, field=f"{key}.{k}") for k, v in value.items()
            }
        else:
            rendered[key] = value
    if channel == "email":
        rendered = email_parts.with_buttons(rendered)
    return rendered


# ---- Limits checked on the rendered content ------------------------------------------------
# GSM 03.38 basic set plus the extension table (each extension char costs two septets).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, segments): GSM-7 fits 160 septets in one part or 153 per part when
    concatenated; UCS-2 fits 70 characters or 67 per part (3GPP TS 23.040 UDH overhead)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    # UCS-2 counts UTF-16 code units: characters outside the BMP (emoji) take two.
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)


DEFAULT_SMS_MAX_SEGMENTS = 10  # carriers drop or split longer concatenations unreliably


def rendered_errors(
    channel: str, rendered: dict, workspace_settings: dict | None
) -> list[tuple[str, str]]:
    """Problems only visible after rendering: empty required fields, workspace length limits."""
    settings = workspace_settings or {}
    errors: list[tuple[str, str]] = []
    for key, rule in CONTENT_SPECS.get(channel, {}).items():
        if rule.required and rule.kind == "template" and not str(rendered.get(key) or "").strip():
            errors.append((key, "Rendered empty."))
    if channel == "push":
        for key, setting in (("title", "push_title_max"), ("body", "push_body_max")):
            limit = settings.get(setting)
            if isinstance(limit, int) and len(rendered.get(key) or "") > limit:
                errors.append((key, f"Longer than {limit} characters (workspace {setting})."))
    if channel == "sms":
        _, segments = sms_segments(rendered.get("text") or "")
        limit = settings.get("sms_max_segments", DEFAULT_SMS_MAX_SEGMENTS)
        if isinstance(limit, int) and segments > limit:
            errors.append(("text", f"{segments} SMS segments; the limit is {limit}."))
    if channel in kakao.CHANNELS:
        errors += kakao.rendered_errors(channel, rendered)
    if channel == "email":
        errors += email_parts.rendered_errors(rendered)
    return errors


def static_limit_errors(
    channel: str, content: dict, workspace_settings: dict | None
) -> list[tuple[str, str]]:
    """The rendered-content limits applied at design time to fields without any Liquid."""
    static = {k: v for k, v in content.items() if isinstance(v, str) and not has_liquid(v)}
    return [
        (key, message)
        for key, message in rendered_errors(channel, static, workspace_settings)
        if message != "Rendered empty." and key in static
    ]
