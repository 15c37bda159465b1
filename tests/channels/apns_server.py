"""A local APNs: HTTP/2 only (h2c with prior knowledge; an HTTP/1.1 request is refused), checking
each request as Apple does (method, path, topic, push type, the ES256 provider token against the
team's public key) and answering with APNs's statuses and reasons."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt


@dataclass
class ApnsRequest:
    headers: dict
    body: bytes
    claims: dict | None = None
    jwt_header: dict | None = None

    def json(self):
        return json.loads(self.body)


@dataclass
class ApnsServer:
    public_key: object
    team_id: str
    key_id: str
    bundle_id: str
    # device token → (status, reason) for tokens that do not get 200; status None: no answer
    answers: dict = field(default_factory=dict)
    # provider tokens (the JWT text) answered 403 ExpiredProviderToken
    expired_jwts: set = field(default_factory=set)
    requests: list = field(default_factory=list)
    refused_connections: int = 0
    url: str = ""

    def answer(self, request: ApnsRequest) -> tuple[int | None, dict | None]:
        h = request.headers
        if h.get(":method") != "POST":
            return 405, {"reason": "MethodNotAllowed"}
        path = h.get(":path", "")
        if not path.startswith("/3/device/"):
            return 404, {"reason": "BadPath"}
        if h.get("apns-topic") != self.bundle_id:
            return 400, {"reason": "TopicDisallowed"}
        if h.get("apns-push-type") not in ("alert", "background"):
            return 400, {"reason": "InvalidPushType"}
        scheme, _, token = h.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return 403, {"reason": "MissingProviderToken"}
        try:
            request.jwt_header = jwt.get_unverified_header(token)
            request.claims = jwt.decode(
                token, self.public_key, algorithms=["ES256"], options={"require": ["iss", "iat"]}
            )
        except jwt.PyJWTError:
            return 403, {"reason": "InvalidProviderToken"}
        if request.jwt_header.get("kid") != self.key_id or request.claims["iss"] != self.team_id:
            return 403, {"reason": "InvalidProviderToken"}
        if token in self.expired_jwts:
            return 403, {"reason": "ExpiredProviderToken"}
        device = path.removeprefix("/3/device/")
        status, reason = self.answers.get(device, (200, None))
        if status in (200, None):
            return status, None
        body = {"reason": reason}
        if status == 410:
            body["timestamp"] = 1_700_000_000_000
        return status, body

    # ---- the HTTP/2 side ---------------------------------------------------------------------
    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, sock: socket.socket) -> None:
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        sock.sendall(h2conn.data_to_send())
        streams: dict[int, tuple[dict, bytearray]] = {}
        with sock:
            while True:
                data = sock.recv(65535)
                if not data:
                    return
                try:
                    events = h2conn.receive_data(data)
                except h2.exceptions.ProtocolError:  # not HTTP/2 (an HTTP/1.1 request line)
                    self.refused_connections += 1
                    sock.sendall(h2conn.data_to_send())
                    return
                for event in events:
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {
                            (k.decode() if isinstance(k, bytes) else k): (
                                v.decode() if isinstance(v, bytes) else v
                            )
                            for k, v in event.headers
                        }
                        streams[event.stream_id] = (headers, bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        h2conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        request = ApnsRequest(headers=headers, body=bytes(body))
                        self.requests.append(request)
                        status, answer = self.answer(request)
                        if status is None:
                            continue  # a server that hangs: the client's deadline must end it
                        out = [(":status", str(status)), ("apns-id", str(uuid.uuid4()))]
                        payload = json.dumps(answer).encode() if answer else b""
                        if payload:
                            out.append(("content-type", "application/json"))
                        h2conn.send_headers(event.stream_id, out, end_stream=not payload)
                        if payload:
                            h2conn.send_data(event.stream_id, payload, end_stream=True)
                sock.sendall(h2conn.data_to_send())


def apns_server_start(**kwargs) -> tuple[ApnsServer, socket.socket]:
    server = ApnsServer(**kwargs)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    threading.Thread(target=server.serve, args=(listener,), daemon=True).start()
    return server, listener
