"""A local APNs: HTTP/2 only (h2c with prior knowledge; an HTTP/1.1 request is refused), checking
each request as Apple does (method, path, topic, push type, the ES256 provider token against the
team's public key) and answering with APNs's statuses and reasons. With `tls` it is the
certificate-authenticated APNs Wallet pass updates use: HTTPS (ALPN h2) that refuses a client
without a certificate chaining to its trusted roots, and checks each push's topic against the
UID of the certificate the connection presented."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class ApnsRequest:
    headers: dict
    body: bytes
    claims: dict | None = None
    jwt_header: dict | None = None
    client_certificate: x509.Certificate | None = None  # the TLS client's, in `tls` mode

    def json(self):
        return json.loads(self.body)


@dataclass
class ApnsServer:
    public_key: object = None
    team_id: str = ""
    key_id: str = ""
    bundle_id: str = ""
    # Certificate mode: the server's TLS context (it requires a client certificate); the topic
    # allowed is the client certificate's UID, and no provider token is asked for.
    tls: ssl.SSLContext | None = None
    # device token → (status, reason) for tokens that do not get 200; status None: no answer
    answers: dict = field(default_factory=dict)
    # provider tokens (the JWT text) answered 403 ExpiredProviderToken
    expired_jwts: set = field(default_factory=set)
    requests: list = field(default_factory=list)
    refused_connections: int = 0
    refused_handshakes: int = 0
    url: str = ""

    def answer(self, request: ApnsRequest) -> tuple[int | None, dict | None]:
        h = request.headers
        if h.get(":method") != "POST":
            return 405, {"reason": "MethodNotAllowed"}
        path = h.get(":path", "")
        if not path.startswith("/3/device/"):
            return 404, {"reason": "BadPath"}
        if self.tls is not None:
            return self._certificate_answer(request, path)
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

    def _certificate_answer(self, request: ApnsRequest, path: str) -> tuple[int, dict | None]:
        """Certificate-based trust: the certificate names the one topic it may push to."""
        uids = request.client_certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
        if not uids or request.headers.get("apns-topic") != uids[0].value:
            return 400, {"reason": "TopicDisallowed"}
        try:
            json.loads(request.body)
        except ValueError:
            return 400, {"reason": "PayloadEmpty" if not request.body else "BadPayload"}
        status, reason = self.answers.get(path.removeprefix("/3/device/"), (200, None))
        if status == 200:
            return 200, None
        return status, {"reason": reason, **({"timestamp": 1_700_000_000_000} if status == 410 else {})}

    # ---- the HTTP/2 side ---------------------------------------------------------------------
    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, sock: socket.socket) -> None:
        certificate = None
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):  # no client certificate, or one we do not trust
                self.refused_handshakes += 1
                sock.close()
                return
            certificate = x509.load_der_x509_certificate(sock.getpeercert(binary_form=True))
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
                        request = ApnsRequest(
                            headers=headers, body=bytes(body), client_certificate=certificate
                        )
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
    scheme = "https" if server.tls is not None else "http"
    server.url = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"
    threading.Thread(target=server.serve, args=(listener,), daemon=True).start()
    return server, listener


def tls_server_context(*, client_roots_pem: str) -> tuple[ssl.SSLContext, str]:
    """(the server's TLS context, the PEM of the CA that issued its certificate): a certificate
    for 127.0.0.1 from a fresh CA, ALPN h2 only, and a client certificate required that chains
    to `client_roots_pem` (Apple's roots in the real APNs)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test APNs CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.push.apple.test")]))
        .issuer_name(ca_name).public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["h2"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=client_roots_pem)
    descriptor, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(leaf.public_bytes(serialization.Encoding.PEM))
            handle.write(
                server_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context, ca.public_bytes(serialization.Encoding.PEM).decode()
