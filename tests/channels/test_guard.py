"""The outbound guard on real sockets: refused targets, redirects re-checked, the checked address
being the connected one (DNS rebinding), SMTP hosts under the same rule, and every request ending
by its deadline with a capped body."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from channels_app.guard import DeadlineExceeded, OutboundBlocked, ResponseTooLarge, guarded_request
from channels_app.providers import Outbound
from channels_app.providers.smtp import SmtpProvider
from tests.conftest import wait_for

from .trickle import TrickleServer


def test_loopback_is_refused_unless_allow_listed(http_server, settings):
    http_server.route("GET", "/secret", 200, {"secret": True})
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(OutboundBlocked, match="non-public"):
        guarded_request("GET", f"{http_server.url}/secret")
    assert http_server.requests == []

    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    assert guarded_request("GET", f"{http_server.url}/secret").json() == {"secret": True}


def test_metadata_and_non_http_targets_are_refused():
    with pytest.raises(OutboundBlocked, match="metadata"):
        guarded_request("GET", "http://metadata.google.internal/computeMetadata/v1/")
    with pytest.raises(OutboundBlocked, match="http"):
        guarded_request("GET", "file:///etc/passwd")
    with pytest.raises(OutboundBlocked):
        guarded_request("GET", "http://169.254.169.254/latest/meta-data/")


def test_a_redirect_to_a_refused_target_is_not_followed(http_server, settings):
    """The allow-listed name redirects to an address that is not allowed: the hop is refused."""
    port = http_server.url.rsplit(":", 1)[1]
    http_server.route("GET", "/go", 302, None, {"Location": f"http://127.0.0.1:{port}/secret"})
    http_server.route("GET", "/secret", 200, {"secret": True})
    settings.OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    with pytest.raises(OutboundBlocked):
        guarded_request("GET", f"http://localhost:{port}/go")
    assert [r.path for r in http_server.requests] == ["/go"]


def test_dns_rebinding_cannot_reach_loopback(http_server, settings, monkeypatch):
    """A name that answers a public address to the check and loopback right after must not
    reach the loopback server: the connection goes to the address that was checked."""
    http_server.route("GET", "/secret", 200, {"secret": True})
    settings.OUTBOUND_ALLOWED_HOSTS = []
    port = int(http_server.url.rsplit(":", 1)[1])
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.215.14"])  # public; unreachable from here, so that connect fails

    def rebinding(host, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises((httpx.ConnectError, httpx.ConnectTimeout)):
        guarded_request("GET", f"http://rebind.example:{port}/secret", timeout=1)
    assert http_server.requests == []


def test_smtp_host_is_refused_unless_allow_listed(smtp_server, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    provider = SmtpProvider(
        {"host": "127.0.0.1", "port": smtp_server.port}, {"from_email": "shop@example.com"}
    )
    out = Outbound(message_id=1, channel="email", to="ann@example.com", content={"subject": "Hi"})
    result = provider.send(out)
    assert (result.ok, result.error) == (False, "outbound_blocked")
    assert smtp_server.envelopes == []

    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    assert provider.send(out).ok
    assert len(smtp_server.envelopes) == 1


def test_a_trickling_target_is_cut_off_at_the_request_deadline():
    """httpx's timeouts are per read: a byte every second never trips a 2 s read timeout. The
    guard's deadline covers connect, headers and body together."""
    server = TrickleServer(interval=1.0, lasting=20.0)
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="within 2 s"):
            guarded_request("GET", server.url, timeout=2)
        assert time.monotonic() - started < 2.5
        assert wait_for(lambda: server.durations()[0] is not None, timeout=3)
        assert server.durations()[0] < 2.5
    finally:
        server.close()


def test_a_body_past_the_cap_is_not_read(http_server):
    http_server.route("GET", "/big", 200, {"blob": "x" * 200_000})
    with pytest.raises(ResponseTooLarge, match="larger than 65,536 bytes"):
        guarded_request("GET", f"{http_server.url}/big", max_body=65536)
    assert guarded_request("GET", f"{http_server.url}/big", max_body=300_000).json()["blob"]


def test_a_trickling_smtp_server_is_cut_off_at_the_channel_timeout():
    """smtplib's timeout is per socket operation too: a greeting trickled a byte a second held
    the send for as long as the server liked."""
    server = TrickleServer(
        interval=1.0,
        lasting=20.0,
        answer=b"220 slow.test ESMTP" + b"." * 40 + b"\r\n",
        reads_request=False,
    )
    port = int(server.url.split(":")[2].split("/")[0])
    provider = SmtpProvider(
        {"host": "127.0.0.1", "port": port},
        {"from_email": "shop@example.com", "timeout_seconds": 2},
    )
    try:
        started = time.monotonic()
        result = provider.send(
            Outbound(
                message_id=1,
                channel="email",
                to="a@example.com",
                content={"subject": "s", "text": "t"},
            )
        )
        assert time.monotonic() - started < 2.5
        assert not result.ok and result.retryable
        assert result.detail.startswith("no complete answer within 2 s")
    finally:
        server.close()
