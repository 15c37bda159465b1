"""A web site on its own origin (its own port), serving fixed files: the third-party page that
tracking and inbox tests load in Chromium."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Site:
    """`files` maps a path to (body, content type); the test may add files while it runs."""

    def __init__(self, files: dict[str, tuple[bytes, str]]):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                found = files.get(self.path.split("?")[0])
                body, kind = found or (b"not found", "text/plain")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
