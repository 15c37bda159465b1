"""Delivery tracking: open-pixel, click-redirect and unsubscribe links signed per workspace, and the
rewrite of an email's HTML to use them (done at send time, so the stored content stays as rendered)."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

from .models import Message

OPEN_SALT = "waymark.tracking.open"
CLICK_SALT = "waymark.tracking.click"
UNSUBSCRIBE_SALT = "waymark.tracking.unsubscribe"
PREFERENCES_SALT = "waymark.tracking.preferences"
HREF_RE = re.compile(r"""(href\s*=\s*)(["'])(https?://[^"'\s>]+)\2""", re.IGNORECASE)
# The 43-byte transparent GIF every open pixel answers with.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


# A token is "<message id>~<signed value>". The id in front picks the key: SECRET_KEY mixed with
# the message's workspace's own signing secret, so neither a leaked SECRET_KEY nor one
# workspace's secret forges a link of another workspace. Links made before this format (and
# anything else) read as None: the hooks answer 404 (the pixel, always its GIF), never 500.
SEPARATOR = "~"
# PostgreSQL bigint: a larger id in a crafted token would make the lookup itself fail.
MAX_ID = 2**63 - 1


def _workspace_secret(message_id: int) -> str | None:
    return (
        Message.objects.unscoped()
        .filter(pk=message_id)
        .values_list("workspace__signing_secret", flat=True)
        .first()
    )


def workspace_keys(workspace_secret: str) -> tuple[str, list[str]]:
    """The signing key and the keys still accepted (SECRET_KEY_FALLBACKS during a rotation)."""
    return f"{settings.SECRET_KEY}:{workspace_secret}", [
        f"{old}:{workspace_secret}" for old in settings.SECRET_KEY_FALLBACKS
    ]


def _sign(message_id: int, value, salt: str, workspace_secret: str | None = None) -> str:
    secret = workspace_secret or _workspace_secret(message_id)
    if secret is None:
        raise ValueError(f"message {message_id} does not exist: no link can be signed for it")
    key, _ = workspace_keys(secret)
    return f"{message_id}{SEPARATOR}{signing.dumps(value, key=key, salt=salt, compress=True)}"


def _unsign(token: str, salt: str):
    """The signed value, when the token verifies with its message's workspace key; else None."""
    prefix, separator, signed = token.partition(SEPARATOR)
    if not separator or not prefix.isdigit() or len(prefix) > 19 or int(prefix) > MAX_ID:
        return None
    message_id = int(prefix)
    secret = _workspace_secret(message_id)
    if secret is None:
        return None
    key, fallbacks = workspace_keys(secret)
    try:
        value = signing.loads(signed, key=key, salt=salt, fallback_keys=fallbacks)
    except signing.BadSignature:
        return None
    # The signed value names the same message as the prefix (or it is a splice of two tokens).
    first = value[0] if isinstance(value, list) and value else value
    return value if first == message_id else None


def _url(route: str, token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/hooks/{route}?{urlencode({'t': token}, safe=':~')}"


def open_url(message_id: int, *, workspace_secret: str | None = None) -> str:
    return _url("open", _sign(message_id, message_id, OPEN_SALT, workspace_secret))


def click_url(message_id: int, target: str, *, workspace_secret: str | None = None) -> str:
    return _url("click", _sign(message_id, [message_id, target], CLICK_SALT, workspace_secret))


def unsubscribe_url(message_id: int, *, workspace_secret: str | None = None) -> str:
    return _url("unsubscribe", _sign(message_id, message_id, UNSUBSCRIBE_SALT, workspace_secret))


def preferences_url(message_id: int, *, workspace_secret: str | None = None) -> str:
    return _url("preferences", _sign(message_id, message_id, PREFERENCES_SALT, workspace_secret))


def open_token_read(token: str) -> int | None:
    value = _unsign(token, OPEN_SALT)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def click_token_read(token: str) -> tuple[int, str] | None:
    value = _unsign(token, CLICK_SALT)
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
    value = _unsign(token, UNSUBSCRIBE_SALT)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def preferences_token_read(token: str) -> int | None:
    value = _unsign(token, PREFERENCES_SALT)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def email_html_track(html: str, message_id: int) -> str:
    """Every http(s) link goes through the click redirect; an open pixel closes the body."""

    secret = _workspace_secret(message_id)  # one lookup for every link of the email

    def rewrite(m: re.Match) -> str:
        tracked = htmllib.escape(click_url(message_id, htmllib.unescape(m.group(3)), workspace_secret=secret))
        return f"{m.group(1)}{m.group(2)}{tracked}{m.group(2)}"

    html = HREF_RE.sub(rewrite, html)
    pixel = f'<img src="{htmllib.escape(open_url(message_id, workspace_secret=secret))}" width="1" height="1" alt="" style="display:none">'
    close = re.search(r"</body\s*>", html, re.IGNORECASE)
    if close:
        return html[: close.start()] + pixel + html[close.start() :]
    return html + pixel
