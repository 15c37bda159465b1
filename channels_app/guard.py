"""The outbound guard: webhooks, HTTP providers and SMTP hosts may not reach private, loopback,
link-local, metadata or otherwise reserved addresses (SSRF), unless the host is listed in
settings.OUTBOUND_ALLOWED_HOSTS. Names are resolved once, checked, and the connection is opened
to the checked address itself, so a DNS answer that changes between check and connect
(DNS rebinding) cannot redirect it; every redirect is a new connection, checked the same way.
A request has one deadline for all of it (connect, TLS, headers, body, redirects) and a cap on
the body it reads, so a target that trickles bytes or answers gigabytes cannot hold a worker."""

from __future__ import annotations

import functools
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from django.conf import settings

MAX_REDIRECTS = 5
MAX_RESPONSE_BYTES = 1024 * 1024  # the most any provider answer needs (JSON receipts are < 4 KiB)
# Cloud metadata endpoints that are not all inside the ranges below on every provider.
METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


class OutboundBlocked(Exception):
    """The target is not allowed; the message says why (safe to record)."""


class ResponseTooLarge(Exception):
    """The answer's body went past the cap given to the request; reading stopped there."""


class DeadlineExceeded(httpx.TimeoutException):
    """The whole request (connect, headers, body, redirects) did not finish within its deadline."""


# Headers a request may not set: hop-by-hop (RFC 9110 §7.6.1) and message framing. A caller's
# Host, Content-Length or Transfer-Encoding could smuggle a second request through a proxy or
# reach another virtual host than the guard checked; the client sets them from the URL and body.
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
    }
)


def header_forbidden(name: str) -> bool:
    name = name.strip().lower()
    return name in FORBIDDEN_HEADERS or name.startswith("proxy-")


def headers_allowed(headers: dict[str, str]) -> dict[str, str]:
    """`headers` without the forbidden ones (validation refuses them; this is the send-time net)."""
    return {k: v for k, v in headers.items() if not header_forbidden(str(k))}


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


class _Deadline:
    """A monotonic instant; `clamp` turns httpx's per-operation timeout into what is left of it
    (httpx's own timeouts restart on every read, so a byte every few seconds never trips them)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise error(f"no complete answer within {self.seconds:g} s")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class GuardedNetworkBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses host_addresses() approved, and
    (given a deadline) only until it. TLS still verifies and sends SNI for the URL's host name
    (httpcore takes it from the origin)."""

    def __init__(self, deadline: _Deadline | None = None) -> None:
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        failure: Exception | None = None
        for address in host_addresses(host, port):
            if self._deadline is not None:
                timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next address, as socket.create_connection does
                continue
            return stream if self._deadline is None else _DeadlineStream(stream, self._deadline)
        assert failure is not None
        raise failure


@functools.lru_cache(maxsize=2)
def _ssl_context(http2: bool = False):
    # Loading the CA bundle costs ~0.3 s; built per request it capped sends at ~2/s per worker.
    # An SSLContext is safe to share between connections and threads. HTTP/2 has its own:
    # httpcore sets the ALPN protocols on the context it is given.
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport whose connections are opened by GuardedNetworkBackend;
    `http2` speaks only HTTP/2 (ALPN on https, prior knowledge on http), as APNs requires;
    `ssl_context` replaces the default one (a TLS client certificate, as Wallet's APNs wants)."""

    def __init__(
        self,
        deadline: _Deadline | None = None,
        http2: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        context = ssl_context or _ssl_context(http2)
        super().__init__(verify=context, trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            http1=not http2,
            http2=http2,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(deadline),
        )


def guarded_client(
    *,
    timeout: float = 10.0,
    deadline: _Deadline | None = None,
    http2: bool = False,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    # trust_env=False: an HTTP(S)_PROXY from the environment would resolve names itself.
    return httpx.Client(
        transport=GuardedTransport(deadline, http2=http2, ssl_context=ssl_context),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def _body_read(response: httpx.Response, max_body: int) -> None:
    """Reads the (decoded) body into the response, stopping as soon as it passes `max_body`."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_body:
            raise ResponseTooLarge(f"the answer is larger than {max_body:,} bytes")
        chunks.append(chunk)
    response._content = b"".join(chunks)  # what httpx's own read() sets, under our cap


def guarded_request(
    method: str,
    url: str,
    *,
    timeout: float = 10.0,
    max_body: int = MAX_RESPONSE_BYTES,
    read_body: bool = True,
    http2: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    **kwargs,
) -> httpx.Response:
    """An httpx request whose target, and every redirect's target, passes the guard; all of it,
    redirects and body included, ends within `timeout` seconds (DeadlineExceeded) and a body
    past `max_body` bytes is not read (ResponseTooLarge). `read_body=False` leaves the body
    unread: the answer is its status and headers. `http2=True` speaks HTTP/2 only; `ssl_context`
    (with a client certificate, say) replaces the default TLS context."""
    deadline = _Deadline(timeout)
    auth = kwargs.pop("auth", None)  # a send() argument, not a request one
    if "headers" in kwargs:
        kwargs["headers"] = headers_allowed(dict(kwargs["headers"] or {}))
    try:
        with guarded_client(
            timeout=timeout, deadline=deadline, http2=http2, ssl_context=ssl_context
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                url_check(url)
                request = client.build_request(method, url, **kwargs)
                response = client.send(request, auth=auth, stream=True)
                try:
                    if response.is_redirect:
                        url = urljoin(url, response.headers["location"])
                    elif read_body:
                        _body_read(response, max_body)
                        return response
                    else:
                        return response
                finally:
                    response.close()
                if response.status_code in (301, 302, 303) and method != "HEAD":
                    method = "GET"
                    kwargs = {
                        k: v
                        for k, v in kwargs.items()
                        if k not in ("content", "data", "json", "files")
                    }
            raise OutboundBlocked("too many redirects")
    except httpx.TimeoutException as exc:
        if time.monotonic() >= deadline.at:
            raise DeadlineExceeded(f"no complete answer within {timeout:g} s") from exc
        raise


class _GuardedSMTPMixin:
    """smtplib opens its socket in `_get_socket`; connect it to a checked address while the
    client keeps the host name for STARTTLS/SSL (SNI and certificate checks). smtplib's timeout
    is per socket operation, so with `deadline` (seconds) a timer also shuts the connection down
    when the whole session has run that long: a server trickling its replies cannot hold on."""

    def __init__(self, *args, deadline: float | None = None, **kwargs):
        self._deadline = _Deadline(deadline) if deadline else None
        self._watchdog: threading.Timer | None = None
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        failure: OSError | None = None
        for address in host_addresses(host, port):
            try:
                sock = super()._get_socket(address, port, timeout)
            except OSError as exc:
                failure = exc
                continue
            if self._deadline is not None and self._watchdog is None:
                left = max(self._deadline.at - time.monotonic(), 0.0)
                self._watchdog = threading.Timer(left, self._cut)
                self._watchdog.daemon = True
                self._watchdog.start()
            return sock
        assert failure is not None
        raise failure

    def _cut(self) -> None:
        # The current socket (STARTTLS replaces it); a blocked read then sees the end of stream.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass

    def deadline_passed(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline.at

    def close(self):
        if self._watchdog is not None:
            self._watchdog.cancel()
        super().close()


class GuardedSMTP(_GuardedSMTPMixin, smtplib.SMTP):
    pass


class GuardedSMTPSSL(_GuardedSMTPMixin, smtplib.SMTP_SSL):
    pass
