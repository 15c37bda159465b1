"""The outbound guard: webhooks, HTTP providers and SMTP hosts may not reach private, loopback,
link-local, metadata or otherwise reserved addresses (SSRF), unless the host is listed in
settings.OUTBOUND_ALLOWED_HOSTS. Names are resolved once, checked, and the connection is opened
to the checked address itself, so a DNS answer that changes between check and connect
(DNS rebinding) cannot redirect it; every redirect is a new connection, checked the same way."""

from __future__ import annotations

import functools
import ipaddress
import smtplib
import socket
from urllib.parse import urljoin, urlsplit

import httpcore
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


def host_addresses(host: str | None, port: int | None = None) -> list[str]:
    """Where a connection to `host` may go: `[host]` itself when it is allow-listed (the system
    resolves it), else its resolved addresses, every one public. Raises OutboundBlocked."""
    if not host:
        raise OutboundBlocked("no host")
    name = host.strip("[]").lower().rstrip(".")
    if name in _allowed_hosts():
        return [name]
    if name in METADATA_HOSTS:
        raise OutboundBlocked(f"{host} is a metadata endpoint")
    try:
        infos = socket.getaddrinfo(name, port or 0, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise OutboundBlocked(f"cannot resolve {host}") from exc
    addresses: list[str] = []
    for info in infos:
        address = info[4][0].split("%")[0]
        if not _ip_is_public(ipaddress.ip_address(address)):
            raise OutboundBlocked(f"{host} resolves to a non-public address ({address})")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundBlocked(f"cannot resolve {host}")
    return addresses


def url_check(url: str) -> None:
    """Scheme and host rules that need no connection (the address is checked on connect)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundBlocked("only http and https URLs are allowed")
    if not parts.hostname:
        raise OutboundBlocked("no host")
    if parts.hostname.rstrip(".") in METADATA_HOSTS:
        raise OutboundBlocked(f"{parts.hostname} is a metadata endpoint")


class GuardedNetworkBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses host_addresses() approved. TLS
    still verifies and sends SNI for the URL's host name (httpcore takes it from the origin)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        failure: Exception | None = None
        for address in host_addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next address, as socket.create_connection does
        assert failure is not None
        raise failure


@functools.lru_cache(maxsize=1)
def _ssl_context():
    # Loading the CA bundle costs ~0.3 s; built per request it capped sends at ~2/s per worker.
    # An SSLContext is safe to share between connections and threads.
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport whose connections are opened by GuardedNetworkBackend."""

    def __init__(self) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(),
        )


def guarded_client(*, timeout: float = 10.0) -> httpx.Client:
    # trust_env=False: an HTTP(S)_PROXY from the environment would resolve names itself.
    return httpx.Client(
        transport=GuardedTransport(), timeout=timeout, follow_redirects=False, trust_env=False
    )


def guarded_request(method: str, url: str, *, timeout: float = 10.0, **kwargs) -> httpx.Response:
    """An httpx request whose target, and every redirect's target, passes the guard."""
    with guarded_client(timeout=timeout) as client:
        for _ in range(MAX_REDIRECTS + 1):
            url_check(url)
            response = client.request(method, url, **kwargs)
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers["location"])
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method = "GET"
                kwargs = {
                    k: v for k, v in kwargs.items() if k not in ("content", "data", "json", "files")
                }
        raise OutboundBlocked("too many redirects")


class _GuardedSMTPMixin:
    """smtplib opens its socket in `_get_socket`; connect it to a checked address while the
    client keeps the host name for STARTTLS/SSL (SNI and certificate checks)."""

    def _get_socket(self, host, port, timeout):
        failure: OSError | None = None
        for address in host_addresses(host, port):
            try:
                return super()._get_socket(address, port, timeout)
            except OSError as exc:
                failure = exc
        assert failure is not None
        raise failure


class GuardedSMTP(_GuardedSMTPMixin, smtplib.SMTP):
    pass


class GuardedSMTPSSL(_GuardedSMTPMixin, smtplib.SMTP_SSL):
    pass
