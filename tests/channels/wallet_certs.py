"""A stand-in for Apple's pass signing chain: a root CA (Apple Root CA's place), a WWDR
intermediate it issued, and a pass type certificate the WWDR issued, named as Apple names them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASS_TYPE = "pass.com.example.loyalty"
TEAM = "ABCDE12345"


@dataclass
class Chain:
    root_pem: str
    wwdr_pem: str
    pass_pem: str
    pass_key_pem: str
    pass_certificate: x509.Certificate


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _issue(subject, key, issuer, issuer_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        ).add_extension(
            # Apple's pass type certificates are TLS client certificates too: APNs takes them.
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def chain_make(pass_type: str = PASS_TYPE, team: str = TEAM) -> Chain:
    root_key, wwdr_key, pass_key = _key(), _key(), _key()
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root CA")])
    wwdr_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Test Worldwide Developer Relations CA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
        ]
    )
    pass_name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, pass_type),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Pass Type ID: {pass_type}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, team),
        ]
    )
    root = _issue(root_name, root_key, root_name, root_key, ca=True)
    wwdr = _issue(wwdr_name, wwdr_key, root_name, root_key, ca=True)
    cert = _issue(pass_name, pass_key, wwdr_name, wwdr_key, ca=False)
    return Chain(
        root_pem=_pem(root),
        wwdr_pem=_pem(wwdr),
        pass_pem=_pem(cert),
        pass_key_pem=pass_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        pass_certificate=cert,
    )


def credentials_for(chain: Chain) -> dict:
    return {
        "pass_type_identifier": PASS_TYPE,
        "team_identifier": TEAM,
        "certificate": chain.pass_pem,
        "private_key": chain.pass_key_pem,
        "wwdr_certificate": chain.wwdr_pem,
    }


LOYALTY = {
    "style": "storeCard",
    "description": "{{ customer.first_name }}'s Acme card",
    "logo_text": "Acme",
    "background_color": "rgb(20, 90, 160)",
    "foreground_color": "rgb(255, 255, 255)",
    "fields": {
        "primary": [
            {"key": "points", "label": "Points", "value": "{{ customer.points | default: 0 }}"}
        ],
        "secondary": [
            {"key": "member", "label": "Member", "value": "{{ customer.first_name | upcase }}"}
        ],
        "back": [{"key": "terms", "label": "Terms", "value": "Points expire after a year."}],
    },
    "barcode": {
        "format": "qr",
        "message": "member-{{ customer.id }}",
        "alt_text": "{{ customer.id }}",
    },
}


def wallet_settings(**passes) -> dict:
    return {"organization_name": "Acme Coffee", "passes": passes or {"loyalty": LOYALTY}}


def pkpass_open(data: bytes, root_pem: str, tmp_path) -> dict:
    """What Wallet checks before it shows a pass: every file but manifest.json and signature is in
    the manifest with its SHA-1 and nothing else is; the signature is a detached PKCS#7 over
    manifest.json that chains to the root through the certificates it carries (openssl cms
    -verify). Returns pass.json; raises AssertionError on the first problem."""
    import hashlib
    import io
    import json
    import subprocess
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}
    manifest = json.loads(files["manifest.json"])
    hashed = {n: d for n, d in files.items() if n not in ("manifest.json", "signature")}
    assert set(manifest) == set(hashed), (sorted(manifest), sorted(hashed))
    for name, payload in hashed.items():
        assert manifest[name] == hashlib.sha1(payload).hexdigest(), name  # noqa: S324
    folder = tmp_path / f"pkpass-{hashlib.sha1(data).hexdigest()[:8]}"  # noqa: S324
    folder.mkdir()
    (folder / "manifest.json").write_bytes(files["manifest.json"])
    (folder / "signature").write_bytes(files["signature"])
    (folder / "root.pem").write_text(root_pem)
    verified = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(folder / "signature"),
            "-content",
            str(folder / "manifest.json"),
            "-CAfile",
            str(folder / "root.pem"),
            "-purpose",
            "any",
            "-signer",
            str(folder / "signer.pem"),
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    files["signer.pem"] = (folder / "signer.pem").read_bytes()
    return {"pass": json.loads(files["pass.json"]), "files": files}
