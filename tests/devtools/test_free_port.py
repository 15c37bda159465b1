"""`make run` can start again right after a stop that followed real browser traffic."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import uvicorn

from devtools.services import free_port

TIME_WAIT = "06"  # the state column of /proc/net/tcp


async def _hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


def _port_nobody_uses() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _time_wait_sockets_on(port: int) -> int:
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if int(row[1].split(":")[1], 16) == port and row[3] == TIME_WAIT)


def _serve(port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(_hello, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return server, thread


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free_at_once():
    port = _port_nobody_uses()
    server, thread = _serve(port)
    assert free_port(port) != port, "a listening server must be seen"

    browsers = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(3)]
    for browser in browsers:  # keep-alive: several requests on each open connection
        for _ in range(2):
            browser.request("GET", "/")
            response = browser.getresponse()
            assert response.read() == b"hello"
    server.should_exit = True  # Ctrl-C: the server closes its idle keep-alive connections first
    thread.join(10)
    for browser in browsers:
        browser.close()
    deadline = time.monotonic() + 5
    while _time_wait_sockets_on(port) == 0:
        assert time.monotonic() < deadline, "the stopped server left no TIME-WAIT connection"
        time.sleep(0.02)

    assert free_port(port) == port
    again, thread = _serve(port)  # and the next start really binds it
    again.should_exit = True
    thread.join(10)
