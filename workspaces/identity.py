"""Identity verification for the web inbox: a page proves which user it shows with userHash."""

from __future__ import annotations

import hashlib
import hmac

from .models import Workspace, new_signing_secret


def identity_hash(*, workspace: Workspace, user_id: str) -> str:
    """What the site's server puts in its page: hex HMAC-SHA256(identity secret, user id)."""
    return hmac.new(
        workspace.identity_secret.encode(), user_id.encode(), hashlib.sha256
    ).hexdigest()


def identity_hash_valid(*, workspace: Workspace, user_id: str, user_hash: str) -> bool:
    # compare_digest: the time taken says nothing about how much of a guess was right.
    return hmac.compare_digest(
        identity_hash(workspace=workspace, user_id=user_id).encode(),
        user_hash.strip().lower().encode(),
    )


def identity_secret_rotate(*, workspace: Workspace) -> Workspace:
    """A new secret: every hash made with the old one stops working at once."""
    workspace.identity_secret = new_signing_secret()
    workspace.save(update_fields=["identity_secret"])
    return workspace
