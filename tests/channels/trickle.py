"""A local target that answers one byte at a time, every `interval` seconds: the slow-loris answer
that per-read timeouts never catch. It speaks HTTP by default (after reading the request) or
any `answer` given (an SMTP greeting is sent before the client says anything), and records how
long each connection stayed open."""

from __future__ import annotations

import select
import socket
import threading
import time

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
    + b'{"slow": "'
    + b"z" * 52
    + b'"}'
)


class TrickleServer:
    def __init__(
        self,
        interval: float = 1.0,
        lasting: float = 40.0,
        answer: bytes = ANSWER,
        reads_request: bool = True,
    ):
        self.interval, self.lasting = interval, lasting
        self.answer, self.reads_request = answer, reads_request
        self.connections: list[tuple[float, float | None]] = []  # (opened, closed by the client)
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self.lock:
            index = len(self.connections)
            self.connections.append((time.monotonic(), None))
        opened = self.connections[index][0]
        if self.reads_request:
            conn.recv(65536)  # the request (small: headers and a short body)
        closed = None
        for byte in self.answer:
            if time.monotonic() - opened > self.lasting or not self.running:
                break
            # Readable while we wait means the client hung up (recv gives b"").
            readable, _, _ = select.select([conn], [], [], self.interval)
            if readable:
                try:
                    if conn.recv(1) == b"":
                        closed = time.monotonic()
                        break
                except OSError:
                    closed = time.monotonic()
                    break
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                closed = time.monotonic()
                break
        with self.lock:
            self.connections[index] = (opened, closed)
        conn.close()

    def durations(self) -> list[float | None]:
        """Seconds each connection lasted until the client closed it (None: it never did)."""
        with self.lock:
            return [None if c is None else c - o for o, c in self.connections]

    def close(self) -> None:
        self.running = False
        self.sock.close()
