"""Telling devices a pass changed (Apple's "Adding a Web Service to Update Passes"): an APNs push
with an empty JSON payload to each push token the devices registered, its topic the pass type
identifier, sent over HTTP/2 on a TLS connection authenticated by the pass type certificate
itself (a client certificate, not an APNs provider token). Wallet then asks the web service
which serial numbers changed and fetches those passes."""

from __future__ import annotations

import functools
import os
import ssl
import tempfile
from dataclasses import dataclass

import httpx
from django.conf import settings

from ..guard import OutboundBlocked, ResponseTooLarge, _body_read, guarded_client, url_check
from .apple import PassConfigError

# Pass updates always go to production APNs, whatever the app environment (Apple's guide).
APNS_URL = "https://api.push.apple.com"
PAYLOAD = b"{}"
TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024  # APNs answers a reason of a few bytes
# The device's token no longer takes pushes for this topic: drop its registration.
DEAD_REASONS = {"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"}
# The certificate itself is the problem: every other push of the pass type fails the same way.
CERTIFICATE_REASONS = {"BadCertificate", "BadCertificateEnvironment", "TopicDisallowed"}


@dataclass(frozen=True)
class PushOutcome:
    push_token: str
    ok: bool
    dead: bool = False  # unregister the device (410, BadDeviceToken…)
    reason: str = ""  # APNs's reason, or what went wrong on our side
    retryable: bool = False  # 429, 5xx or the network: try again later


@functools.lru_cache(maxsize=16)
def _client_context(certificate_pem: str, key_pem: str, extra_ca_pem: str) -> ssl.SSLContext:
    """A TLS context presenting the pass type certificate (and the WWDR intermediate beside it).
    Cached: loading the CA bundle costs ~0.3 s. `extra_ca_pem` is trusted besides the system's
    roots (APNS_EXTRA_CA_PEM: a private CA in front of APNs, or a local APNs in tests)."""
    context = httpx.create_ssl_context(trust_env=False)
    if extra_ca_pem:
        context.load_verify_locations(cadata=extra_ca_pem)
    # ssl loads a client certificate from files only: written for the load, removed at once.
    descriptor, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(certificate_pem.strip() + "\n" + key_pem.strip() + "\n")
        context.load_cert_chain(path)
    except ssl.SSLError as exc:
        raise PassConfigError("certificate", f"TLS refused the pass certificate: {exc}") from exc
    finally:
        os.unlink(path)
    return context


def client_context(credentials: dict) -> ssl.SSLContext:
    chain = f"{credentials['certificate'].strip()}\n{credentials['wwdr_certificate'].strip()}"
    return _client_context(
        chain, credentials["private_key"], getattr(settings, "APNS_EXTRA_CA_PEM", "") or ""
    )


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("reason") or "") if isinstance(body, dict) else ""


def pass_push(*, credentials: dict, push_tokens: list[str]) -> list[PushOutcome]:
    """One empty push per token, all on one HTTP/2 connection, topic the pass type identifier."""
    base = (credentials.get("base_url") or APNS_URL).rstrip("/")
    headers = {
        "apns-topic": credentials["pass_type_identifier"],
        "content-type": "application/json",
    }
    try:
        context = client_context(credentials)
    except PassConfigError as exc:
        return [PushOutcome(token, ok=False, reason=exc.message) for token in push_tokens]
    outcomes: list[PushOutcome] = []
    with guarded_client(timeout=TIMEOUT_SECONDS, http2=True, ssl_context=context) as client:
        for token in push_tokens:
            url = f"{base}/3/device/{token}"
            try:
                url_check(url)
                response = client.send(
                    client.build_request("POST", url, content=PAYLOAD, headers=headers),
                    stream=True,
                )
                try:
                    _body_read(response, MAX_ANSWER_BYTES)
                finally:
                    response.close()
            except (OutboundBlocked, ResponseTooLarge) as exc:
                outcomes.append(PushOutcome(token, ok=False, reason=str(exc)))
                continue
            except httpx.HTTPError as exc:
                outcomes.append(
                    PushOutcome(token, ok=False, reason=f"APNs unreachable: {exc}", retryable=True)
                )
                continue
            if _answer(token, response, outcomes, push_tokens):
                break
    return outcomes


def _answer(
    token: str, response: httpx.Response, outcomes: list[PushOutcome], push_tokens: list[str]
) -> bool:
    """Adds the token's outcome; True when the rest need not be tried (the certificate is bad)."""
    reason = _reason(response)
    status = response.status_code
    if status == 200:
        outcomes.append(PushOutcome(token, ok=True))
    elif status == 410 or reason in DEAD_REASONS:
        outcomes.append(PushOutcome(token, ok=False, dead=True, reason=reason or "Unregistered"))
    else:
        outcomes.append(
            PushOutcome(
                token,
                ok=False,
                reason=f"APNs {status} {reason}".strip(),
                retryable=status == 429 or status >= 500,
            )
        )
        if reason in CERTIFICATE_REASONS:
            # The same certificate fails every other token too: say so once for each.
            outcomes += [
                PushOutcome(t, ok=False, reason=f"APNs {status} {reason}")
                for t in push_tokens[len(outcomes) :]
            ]
            return True
    return False
