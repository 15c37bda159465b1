"""Apple Wallet passes: the wallet channel's credentials and templates through the API, and a
`.pkpass` built for a customer checked the way Wallet checks it (manifest hashes, the PKCS#7
signature chained to the root through the WWDR certificate it carries) with its Liquid rendered."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from channels_app.crypto import credentials_decrypt
from channels_app.models import ChannelConfig
from channels_app.wallet import apple
from templating import liquid_context

from .conftest import make_customer
from .wallet_certs import (
    LOYALTY,
    PASS_TYPE,
    TEAM,
    chain_make,
    credentials_for,
    pkpass_open,
    wallet_settings,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def chain():
    return chain_make()


def _create(api, credentials, settings=None):
    return api.post(
        "/api/v1/channels",
        {
            "channel": "wallet",
            "provider": "apple_wallet",
            "name": "Acme passes",
            "credentials": credentials,
            "settings": settings if settings is not None else wallet_settings(),
        },
        format="json",
    )


def _identity() -> apple.PassIdentity:
    return apple.PassIdentity(
        serial_number="serial-1",
        authentication_token="t" * 32,
        web_service_url="https://waymark.example/api/v1/hooks/wallet",
    )


def test_wallet_channel_keeps_its_credentials_encrypted_and_never_returns_them(
    api, workspace, chain
):
    created = _create(api, credentials_for(chain))
    assert created.status_code == 201, created.content
    assert "credentials" not in created.json()
    assert "PRIVATE KEY" not in json.dumps(api.get("/api/v1/channels").json())
    row = ChannelConfig.objects.for_workspace(workspace).get()
    assert (row.channel, row.provider) == ("wallet", "apple_wallet")
    assert "PRIVATE KEY" not in row.credentials_encrypted
    assert credentials_decrypt(row.credentials_encrypted)["private_key"] == chain.pass_key_pem


def test_bad_wallet_credentials_and_templates_are_refused_naming_the_field(api, chain):
    other = chain_make()
    wrong_key = {**credentials_for(chain), "private_key": other.pass_key_pem}
    answer = _create(api, wrong_key)
    assert answer.status_code == 400
    assert "credentials.private_key" in answer.json()["error"]["details"]

    wrong_wwdr = {**credentials_for(chain), "wwdr_certificate": other.wwdr_pem}
    assert "credentials.wwdr_certificate" in _create(api, wrong_wwdr).json()["error"]["details"]

    other_type = {**credentials_for(chain), "pass_type_identifier": "pass.com.example.other"}
    assert "credentials.pass_type_identifier" in _create(api, other_type).json()["error"]["details"]

    not_pem = {**credentials_for(chain), "certificate": "hello"}
    assert "credentials.certificate" in _create(api, not_pem).json()["error"]["details"]

    broken = {
        **LOYALTY,
        "style": "poster",
        "barcode": {"format": "qr", "message": "{{ customer.id "},
        "fields": {"primary": [{"key": "points", "label": "Points"}]},
        "images": {"icon.png": "bm90IGEgcG5n"},
    }
    errors = _create(api, credentials_for(chain), wallet_settings(loyalty=broken)).json()["error"][
        "details"
    ]
    assert {
        "settings.passes.loyalty.style",
        "settings.passes.loyalty.barcode.message",
        "settings.passes.loyalty.fields.primary.0.value",
        "settings.passes.loyalty.images.icon.png",
    } <= set(errors)
    missing = _create(api, credentials_for(chain), {"passes": {}}).json()["error"]["details"]
    assert {"settings.organization_name", "settings.passes"} <= set(missing)


def test_a_pass_for_a_customer_is_signed_hashed_and_personalised_as_wallet_checks(
    api, workspace, chain, tmp_path
):
    assert _create(api, credentials_for(chain)).status_code == 201
    config = ChannelConfig.objects.for_workspace(workspace).get()
    customer = make_customer(workspace, "cust-42", attributes={"first_name": "Ada", "points": 1200})

    data = apple.pkpass_build(
        credentials=credentials_decrypt(config.credentials_encrypted),
        organization_name=config.settings["organization_name"],
        template=config.settings["passes"]["loyalty"],
        context=liquid_context(customer=customer),
        identity=_identity(),
    )
    opened = pkpass_open(data, chain.root_pem, tmp_path)
    card = opened["pass"]
    assert card["formatVersion"] == 1
    assert (card["passTypeIdentifier"], card["teamIdentifier"]) == (PASS_TYPE, TEAM)
    assert card["serialNumber"] == "serial-1"
    assert card["authenticationToken"] == "t" * 32
    assert card["webServiceURL"] == "https://waymark.example/api/v1/hooks/wallet"
    assert card["organizationName"] == "Acme Coffee"
    assert card["description"] == "Ada's Acme card"
    assert card["storeCard"]["primaryFields"] == [
        {"key": "points", "label": "Points", "value": "1200"}
    ]
    assert card["storeCard"]["secondaryFields"][0]["value"] == "ADA"
    assert card["barcodes"][0] == {
        "format": "PKBarcodeFormatQR",
        "message": "member-cust-42",
        "messageEncoding": "iso-8859-1",
        "altText": "cust-42",
    }
    assert card["backgroundColor"] == "rgb(20, 90, 160)"
    # Wallet refuses a pass without its icon; a solid one in the background colour is made.
    assert opened["files"]["icon.png"].startswith(b"\x89PNG")
    assert "icon@2x.png" in opened["files"]
    # The signer is the pass type certificate, and the WWDR intermediate rides in the signature.
    signer = x509.load_pem_x509_certificate(opened["files"]["signer.pem"])
    assert signer == chain.pass_certificate
    carried = pkcs7.load_der_pkcs7_certificates(opened["files"]["signature"])
    assert x509.load_pem_x509_certificate(chain.wwdr_pem.encode()) in carried


def test_a_tampered_pass_fails_the_checks_wallet_makes(api, workspace, chain, tmp_path):
    keys = credentials_for(chain)
    customer = make_customer(workspace, "cust-7", attributes={"first_name": "Lin"})
    data = apple.pkpass_build(
        credentials=keys,
        organization_name="Acme Coffee",
        template=LOYALTY,
        context=liquid_context(customer=customer),
        identity=_identity(),
    )
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}

    def rezip(changed: dict) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as out:
            for name, payload in {**files, **changed}.items():
                out.writestr(name, payload)
        return buffer.getvalue()

    # pass.json edited after signing: its hash no longer matches the manifest.
    edited = files["pass.json"].replace(b"Lin", b"Eve")
    with pytest.raises(AssertionError, match="pass.json"):
        pkpass_open(rezip({"pass.json": edited}), chain.root_pem, tmp_path)
    # The manifest rewritten to match: the signature over it no longer verifies.
    manifest = json.loads(files["manifest.json"])
    manifest["pass.json"] = __import__("hashlib").sha1(edited).hexdigest()
    forged = rezip({"pass.json": edited, "manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(AssertionError, match="(?i)verif"):
        pkpass_open(forged, chain.root_pem, tmp_path)
    # Signed by a chain Wallet does not trust.
    stranger = chain_make()
    with pytest.raises(AssertionError, match="(?i)verif"):
        pkpass_open(data, stranger.root_pem, tmp_path)


def test_the_signature_is_a_detached_cms_signed_data_with_sha256(chain, tmp_path):
    keys = apple.signing_keys(credentials_for(chain))
    signature = apple.manifest_signature(b'{"pass.json": "00"}', keys)
    (tmp_path / "sig.der").write_bytes(signature)
    printed = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "sig.der")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pkcs7-signedData" in printed
    assert "eContent: <ABSENT>" in printed  # detached: manifest.json is not inside
    assert "sha256" in printed
    assert "signingTime" in printed
    assert keys.certificate.public_bytes(serialization.Encoding.DER)
