"""What an email carries beyond its body: call-to-action buttons (rendered into both the HTML and
the text part when the content is rendered, so previews, tracking and every provider see the same
email) and attachments (fetched by URL through the outbound guard when the email is sent)."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from dataclasses import dataclass
from html import escape
from urllib.parse import unquote, urlsplit

import httpx

from .guard import OutboundBlocked, ResponseTooLarge, guarded_request

MAX_BUTTONS = 4
MAX_BUTTON_TEXT = 60
MAX_ATTACHMENTS = 5
# Per file and per email: well inside SendGrid's 30 MB and SES's 40 MB message limits once
# base64 (×4/3) is added, and small enough that a send batch never holds much in memory.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENTS_MAX_TOTAL_BYTES = 20 * 1024 * 1024
ATTACHMENT_TIMEOUT_SECONDS = 10.0
DEFAULT_BUTTON_COLOR = "#4f46e5"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f"\\/]')


# ---- Design time ------------------------------------------------------------------------------
def content_errors(content: dict) -> list[tuple[str, str]]:
    """Shape problems of `buttons` and `attachments` (their strings may hold Liquid)."""
    return [
        *_list_errors(content, "buttons", MAX_BUTTONS, "{text, url}", _button_errors),
        *_list_errors(content, "attachments", MAX_ATTACHMENTS, "{url, filename?}", _attachment_errors),
    ]


def _list_errors(content: dict, key: str, most: int, shape: str, item_errors) -> list[tuple[str, str]]:
    items = content.get(key)
    if items in (None, []):
        return []
    if not isinstance(items, list):
        return [(key, f"Must be a list of {shape}.")]
    if len(items) > most:
        return [(key, f"At most {most} {key}.")]
    return [error for i, item in enumerate(items) for error in item_errors(f"{key}.{i}", item)]


def _attachment_errors(where: str, item) -> list[tuple[str, str]]:
    if not isinstance(item, dict):
        return [(where, "Must be an object {url, filename?}.")]
    errors = []
    if unknown := set(item) - {"url", "filename"}:
        errors.append((f"{where}.{sorted(unknown)[0]}", "Unknown field."))
    if not isinstance(item.get("url"), str) or not item["url"].strip():
        errors.append((f"{where}.url", "An attachment needs the URL to fetch it from."))
    if "filename" in item and not isinstance(item["filename"], str):
        errors.append((f"{where}.filename", "Must be a string."))
    return errors


def _button_errors(where: str, button) -> list[tuple[str, str]]:
    if not isinstance(button, dict):
        return [(where, "Must be an object {text, url, color?}.")]
    errors = []
    if unknown := set(button) - {"text", "url", "color"}:
        errors.append((f"{where}.{sorted(unknown)[0]}", "Unknown field."))
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        errors.append((f"{where}.text", "A button needs its text."))
    elif len(text) > MAX_BUTTON_TEXT:
        errors.append((f"{where}.text", f"At most {MAX_BUTTON_TEXT} characters."))
    if not isinstance(button.get("url"), str) or not button["url"].strip():
        errors.append((f"{where}.url", "A button needs the URL it opens."))
    color = button.get("color")
    if color is not None and not (isinstance(color, str) and _COLOR.fullmatch(color)):
        errors.append((f"{where}.color", "Must be a colour like #4f46e5."))
    return errors


def rendered_errors(rendered: dict) -> list[tuple[str, str]]:
    """After Liquid: every button and attachment URL must be http(s) (no javascript:, no file:)."""
    errors = []
    for kind in ("buttons", "attachments"):
        for i, item in enumerate(rendered.get(kind) or []):
            url = str(item.get("url") or "").strip() if isinstance(item, dict) else ""
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                errors.append((f"{kind}.{i}.url", "Must be an http(s) URL."))
    return errors


# ---- Rendering --------------------------------------------------------------------------------
def _button_html(button: dict) -> str:
    color = button.get("color") or DEFAULT_BUTTON_COLOR
    # A table cell with the colour, not a styled <a> alone: Outlook ignores padding on links.
    return (
        '<table role="presentation" border="0" cellpadding="0" cellspacing="0" '
        'style="margin:16px 0"><tr>'
        f'<td style="border-radius:6px;background:{color}">'
        f'<a href="{escape(button["url"].strip())}" data-waymark-button="1" '
        'style="display:inline-block;padding:12px 24px;color:#ffffff;text-decoration:none;'
        f'font-weight:600;font-family:Arial,Helvetica,sans-serif">{escape(button["text"])}</a>'
        "</td></tr></table>"
    )


def with_buttons(rendered: dict) -> dict:
    """The rendered email with its buttons written into the HTML (before </body>, else at the end)
    and the text part (one "Text: URL" line each). `buttons` stays for click tracking."""
    buttons = [b for b in rendered.get("buttons") or [] if isinstance(b, dict) and b.get("url")]
    if not buttons:
        return rendered
    block = "\n".join(_button_html(b) for b in buttons)
    out = dict(rendered)
    html = rendered.get("html") or ""
    if html:
        at = html.lower().rfind("</body>")
        out["html"] = f"{html[:at]}{block}\n{html[at:]}" if at >= 0 else f"{html}\n{block}"
    lines = "\n".join(f"{b['text']}: {b['url'].strip()}" for b in buttons)
    text = rendered.get("text") or ""
    out["text"] = f"{text.rstrip()}\n\n{lines}\n" if text else f"{lines}\n"
    return out


def text_track(text: str, buttons: list, click_url) -> str:
    """The text part with each button's URL replaced by its tracked link."""
    for button in buttons or []:
        if isinstance(button, dict) and button.get("url"):
            url = button["url"].strip()
            text = text.replace(f": {url}\n", f": {click_url(url)}\n")
    return text


# ---- Sending ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


class AttachmentUnavailable(Exception):
    def __init__(self, detail: str, *, retryable: bool):
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable


def _filename(item: dict, url: str, content_type: str) -> str:
    name = (item.get("filename") or "").strip()
    if not name:
        name = posixpath.basename(unquote(urlsplit(url).path)) or "attachment"
        if "." not in name:
            name += mimetypes.guess_extension(content_type) or ""
    return _FILENAME_UNSAFE.sub("_", name)[:150]


def attachments_fetch(content: dict) -> list[Attachment]:
    """Each attachment fetched through the outbound guard, within the size limits. Raises
    AttachmentUnavailable (retryable for network trouble and the server's 429/5xx)."""
    fetched: list[Attachment] = []
    total = 0
    for i, item in enumerate(content.get("attachments") or []):
        url = str(item.get("url") or "").strip()
        try:
            response = guarded_request(
                "GET", url, timeout=ATTACHMENT_TIMEOUT_SECONDS, max_body=ATTACHMENT_MAX_BYTES
            )
        except OutboundBlocked as exc:
            raise AttachmentUnavailable(f"attachments.{i}: {exc}", retryable=False) from exc
        except ResponseTooLarge as exc:
            raise AttachmentUnavailable(
                f"attachments.{i}: larger than {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB",
                retryable=False,
            ) from exc
        except httpx.HTTPError as exc:
            raise AttachmentUnavailable(f"attachments.{i}: {exc}"[:500], retryable=True) from exc
        if not response.is_success:
            raise AttachmentUnavailable(
                f"attachments.{i}: HTTP {response.status_code} from {url}"[:500],
                retryable=response.status_code == 429 or response.status_code >= 500,
            )
        total += len(response.content)
        if total > ATTACHMENTS_MAX_TOTAL_BYTES:
            raise AttachmentUnavailable(
                f"attachments: more than {ATTACHMENTS_MAX_TOTAL_BYTES // (1024 * 1024)} MB in all",
                retryable=False,
            )
        content_type = (
            response.headers.get("content-type", "").split(";")[0].strip()
            or mimetypes.guess_type(url)[0]
            or "application/octet-stream"
        )
        fetched.append(Attachment(_filename(item, url, content_type), content_type, response.content))
    return fetched
