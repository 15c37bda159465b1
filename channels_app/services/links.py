"""`{{ unsubscribe_url }}` and `{{ preferences_url }}` in a message's Liquid: signed links of the
message being prepared (channels_app/tracking.py signs them with the workspace's key)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from workspaces.models import Workspace

from .. import tracking

LINK_VARIABLES = ("unsubscribe_url", "preferences_url")
# What a preview or simulation shows in their place: no message exists to sign a link for.
PREVIEW_PATH = "/api/v1/hooks/{}?t=preview"


def mentions_links(content) -> bool:
    """Whether any field of the content names one of the link variables."""
    if isinstance(content, str):
        return any(name in content for name in LINK_VARIABLES)
    if isinstance(content, dict):
        return any(mentions_links(v) for v in content.values())
    if isinstance(content, list):
        return any(mentions_links(v) for v in content)
    return False


def message_id_reserve() -> int:
    """The next Message id, taken from its sequence before the row exists."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('channels_app_message', 'id'))")
        return cursor.fetchone()[0]


def link_variables(message_id: int | None, workspace: Workspace) -> dict[str, str]:
    if message_id is None:
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        return {name: base + PREVIEW_PATH.format(name.removesuffix("_url")) for name in LINK_VARIABLES}
    secret = workspace.signing_secret
    return {
        "unsubscribe_url": tracking.unsubscribe_url(message_id, workspace_secret=secret),
        "preferences_url": tracking.preferences_url(message_id, workspace_secret=secret),
    }
