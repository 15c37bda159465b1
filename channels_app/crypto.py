"""Channel credentials at rest: MultiFernet over keys derived from settings.CREDENTIALS_KEYS, so a
new key can be put first and old tokens still decrypt (rotation)."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet_key(secret: str) -> bytes:
    # HKDF turns any configured secret (e.g. SECRET_KEY) into a 32-byte Fernet key.
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"waymark-channel-credentials"
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in settings.CREDENTIALS_KEYS])


def credentials_encrypt(credentials: dict) -> str:
    return _fernet().encrypt(json.dumps(credentials).encode()).decode()


def credentials_decrypt(token: str) -> dict:
    if not token:
        return {}
    return json.loads(_fernet().decrypt(token.encode()))
