"""The outbound guard: webhooks, HTTP providers and SMTP hosts may not reach private, loopback,
link-local, metadata or otherwise reserved addresses (SSRF), unless the host is listed in
settings.OUTBOUND_ALLOWED_HOSTS. Checked after DNS resolution and again on every redirect."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

MAX_REDIRECTS = 5
# Cloud metadata endpoints that are not all inside the ranges below on every provider.
METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


class OutboundBlocked(Exception):
    """The target is not allowed; the message says why (safe to record)."""


def _allowed_hosts() -> set[str]:
    return {h.strip().lower() for h in settings.OUTBOUND_ALLOWED_HOSTS if h.strip()}


def _ip_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip
        in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not "private" in ipaddress
    )


def host_check(host: str | None, port: int | None = None) -> None:
    """Raises OutboundBlocked unless `host` is allowed or resolves only to public addresses."""
    if not host:
        raise OutboundBlocked("no host")
    name = host.strip("[]").lower().rstrip(".")
    if name in _allowed_hosts():
        return
    if name in METADATA_HOSTS:
        raise OutboundBlocked(f"{host} is a metadata endpoint")
    try:
        infos = socket.getaddrinfo(name, port or 0, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise OutboundBlocked(f"cannot resolve {host}") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _ip_is_public(ip):
            raise OutboundBlocked(f"{host} resolves to a non-public address ({ip})")


def url_check(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundBlocked("only http and https URLs are allowed")
    host_check(parts.hostname, parts.port)


def guarded_request(
    method: str, url: str, *, timeout: float = 10.0, client: httpx.Client | None = None, **kwargs
) -> httpx.Response:
    """An httpx request whose target, and every redirect's target, passes the guard."""
    own = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            url_check(url)
            response = client.request(
                method, url, timeout=timeout, follow_redirects=False, **kwargs
            )
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers["location"])
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method, kwargs = (
                    "GET",
                    {
                        k: v
                        for k, v in kwargs.items()
                        if k not in ("content", "data", "json", "files")
                    },
                )
        raise OutboundBlocked("too many redirects")
    finally:
        if own:
            client.close()
