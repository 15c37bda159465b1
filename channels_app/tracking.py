"""Delivery tracking: signed open-pixel, click-redirect and unsubscribe links, and the rewrite of an
email's HTML to use them (done at send time, so the stored content stays as rendered)."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

OPEN_SALT = "waymark.tracking.open"
CLICK_SALT = "waymark.tracking.click"
UNSUBSCRIBE_SALT = "waymark.tracking.unsubscribe"
HREF_RE = re.compile(r"""(href\s*=\s*)(["'])(https?://[^"'\s>]+)\2""", re.IGNORECASE)
# The 43-byte transparent GIF every open pixel answers with.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _url(route: str, token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/hooks/{route}?{urlencode({'t': token}, safe=':')}"


def open_url(message_id: int) -> str:
    return _url("open", signing.dumps(message_id, salt=OPEN_SALT, compress=True))


def click_url(message_id: int, target: str) -> str:
    return _url("click", signing.dumps([message_id, target], salt=CLICK_SALT, compress=True))


def unsubscribe_url(message_id: int) -> str:
    return _url("unsubscribe", signing.dumps(message_id, salt=UNSUBSCRIBE_SALT, compress=True))


def open_token_read(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=OPEN_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def click_token_read(token: str) -> tuple[int, str] | None:
    try:
        value = signing.loads(token, salt=CLICK_SALT)
    except signing.BadSignature:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], str)
    ):
        if value[1].startswith(("http://", "https://")):  # never an open redirect to other schemes
            return value[0], value[1]
    return None


def unsubscribe_token_read(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def email_html_track(html: str, message_id: int) -> str:
    """Every http(s) link goes through the click redirect; an open pixel closes the body."""

    def rewrite(m: re.Match) -> str:
        tracked = htmllib.escape(click_url(message_id, htmllib.unescape(m.group(3))))
        return f"{m.group(1)}{m.group(2)}{tracked}{m.group(2)}"

    html = HREF_RE.sub(rewrite, html)
    pixel = f'<img src="{htmllib.escape(open_url(message_id))}" width="1" height="1" alt="" style="display:none">'
    close = re.search(r"</body\s*>", html, re.IGNORECASE)
    if close:
        return html[: close.start()] + pixel + html[close.start() :]
    return html + pixel
