"""Google Wallet's save and delete callbacks: Google POSTs to the class's callbackOptions.url a
message signed with its ECv2SigningOnly protocol (the scheme of Tink's
PaymentMethodTokenRecipient, sender "GooglePayPasses", recipient the issuer id). Verified as Tink
does it: one of Google's root keys (published at KEYS_URL) signs an intermediate key that has
not expired, and the intermediate key signs the message; each signature is ECDSA P-256 SHA-256
(DER) over the length-prefixed parts. The message says {classId, objectId, eventType: save|del,
expTimeMillis, count, nonce}."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from ..guard import guarded_request

KEYS_URL = "https://pay.google.com/gp/m/issuer/keys"
SENDER_ID = "GooglePayPasses"
PROTOCOL = "ECv2SigningOnly"
KEYS_CACHE_SECONDS = 3600  # Google rotates its root keys with notice; an hour's copy is fresh
MAX_BODY = 64 * 1024

_keys_cache: dict[str, tuple[list[dict], float]] = {}
_keys_lock = threading.Lock()


class CallbackInvalid(Exception):
    """The message is not one Google signed for this issuer (or it expired); says why."""


def keys_url() -> str:
    return getattr(settings, "GOOGLE_WALLET_KEYS_URL", "") or KEYS_URL


def root_keys() -> list[dict]:
    """Google's root signing keys ({"keys": [{keyValue, protocolVersion, keyExpiration?}]}),
    fetched through the outbound guard and kept for an hour."""
    url = keys_url()
    with _keys_lock:
        cached = _keys_cache.get(url)
        if cached and cached[1] > time.time():
            return cached[0]
    response = guarded_request("GET", url, timeout=10.0)
    response.raise_for_status()
    keys = response.json().get("keys") or []
    with _keys_lock:
        _keys_cache[url] = (keys, time.time() + KEYS_CACHE_SECONDS)
    return keys


def _length_value(*parts: str) -> bytes:
    """Tink's toLengthValue: each part's UTF-8 bytes after its length (4 bytes, little-endian)."""
    return b"".join(len(p.encode()).to_bytes(4, "little") + p.encode() for p in parts)


def _public_key(value: Any) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(base64.b64decode(str(value), validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise CallbackInvalid("a key is not base64 DER") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CallbackInvalid("a key is not an EC key")
    return key


def _verifies(key: ec.EllipticCurvePublicKey, signature: Any, data: bytes) -> bool:
    try:
        key.verify(base64.b64decode(str(signature), validate=True), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False
    return True


def _unexpired(expiration: Any, now_ms: int) -> bool:
    try:
        return int(expiration) > now_ms
    except (TypeError, ValueError):
        return False


def callback_verify(
    body: bytes, *, recipient_id: str, keys: list[dict], now_ms: int | None = None
) -> dict:
    """The signed message of a callback, once its signatures check; else CallbackInvalid."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    try:
        envelope = json.loads(body)
        intermediate = envelope["intermediateSigningKey"]
        signed_key, signatures = intermediate["signedKey"], intermediate["signatures"]
        signed_message, signature = envelope["signedMessage"], envelope["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CallbackInvalid("not a signed callback message") from exc
    if envelope.get("protocolVersion") != PROTOCOL:
        raise CallbackInvalid(f"protocolVersion is not {PROTOCOL}")
    if not all(isinstance(v, str) for v in (signed_key, signed_message)) or not isinstance(
        signatures, list
    ):
        raise CallbackInvalid("not a signed callback message")
    roots = [
        _public_key(k["keyValue"])
        for k in keys
        if isinstance(k, dict)
        and k.get("protocolVersion") == PROTOCOL
        and ("keyExpiration" not in k or _unexpired(k["keyExpiration"], now_ms))
    ]
    key_data = _length_value(SENDER_ID, PROTOCOL, signed_key)
    if not any(_verifies(root, s, key_data) for root in roots for s in signatures):
        raise CallbackInvalid("the intermediate key is not signed by a Google root key")
    try:
        key_fields = json.loads(signed_key)
    except ValueError as exc:
        raise CallbackInvalid("the intermediate key is not JSON") from exc
    if not isinstance(key_fields, dict) or not _unexpired(key_fields.get("keyExpiration"), now_ms):
        raise CallbackInvalid("the intermediate key expired")
    intermediate_key = _public_key(key_fields.get("keyValue"))
    message_data = _length_value(SENDER_ID, recipient_id, PROTOCOL, signed_message)
    if not _verifies(intermediate_key, signature, message_data):
        raise CallbackInvalid("the message is not signed for this issuer")
    try:
        message = json.loads(signed_message)
    except ValueError as exc:
        raise CallbackInvalid("the message is not JSON") from exc
    if not isinstance(message, dict):
        raise CallbackInvalid("the message is not an object")
    if "expTimeMillis" in message and not _unexpired(message["expTimeMillis"], now_ms):
        raise CallbackInvalid("the message expired")
    return message
