"""Apple Wallet passes: a `.pkpass` is a zip of pass.json, its images, manifest.json (the SHA-1 of
every other file) and `signature`, a detached PKCS#7 signature of manifest.json made with the
pass type certificate, the Apple WWDR intermediate included (Wallet rejects a pass whose manifest
or signature does not check). A pass template lives in the wallet channel's settings
(`settings.passes.<key>`); its texts are Liquid, rendered for one customer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from templating import render_string, template_error

MEDIA_TYPE = "application/vnd.apple.pkpass"
STYLES = ("storeCard", "generic", "coupon", "eventTicket")
# Our field group names → pass.json's keys inside the style dictionary.
FIELD_GROUPS = {
    "header": "headerFields",
    "primary": "primaryFields",
    "secondary": "secondaryFields",
    "auxiliary": "auxiliaryFields",
    "back": "backFields",
}
MAX_FIELDS_PER_GROUP = 10
BARCODE_FORMATS = {
    "qr": "PKBarcodeFormatQR",
    "pdf417": "PKBarcodeFormatPDF417",
    "aztec": "PKBarcodeFormatAztec",
    "code128": "PKBarcodeFormatCode128",
}
COLOR_RE = re.compile(r"^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$")
FIELD_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# The images a pass may carry (Wallet's names); icon.png is required, so one is made from the
# background colour when the template brings none.
IMAGE_NAMES = tuple(
    f"{base}{scale}.png"
    for base in ("icon", "logo", "strip", "thumbnail", "background", "footer")
    for scale in ("", "@2x", "@3x")
)
MAX_IMAGE_BYTES = 512 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_BACKGROUND = (60, 65, 76)
TEMPLATE_KEYS = {
    "style",
    "description",
    "logo_text",
    "foreground_color",
    "background_color",
    "label_color",
    "fields",
    "barcode",
    "images",
}


class PassConfigError(ValueError):
    """A credential that cannot sign passes; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PassIdentity:
    """What ties one issued pass to its web service: Wallet sends the serial number and the
    authentication token back on every call to webServiceURL."""

    serial_number: str
    authentication_token: str
    web_service_url: str


@dataclass(frozen=True)
class SigningKeys:
    pass_type_identifier: str
    team_identifier: str
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    wwdr_certificate: x509.Certificate


def _certificate(pem: Any, field: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(str(pem).encode())
    except ValueError as exc:
        raise PassConfigError(field, "Not a PEM certificate.") from exc


def signing_keys(credentials: dict) -> SigningKeys:
    """The wallet channel's credentials, parsed and checked against each other; a problem is a
    PassConfigError naming the credential."""
    certificate = _certificate(credentials.get("certificate", ""), "certificate")
    wwdr = _certificate(credentials.get("wwdr_certificate", ""), "wwdr_certificate")
    try:
        key = serialization.load_pem_private_key(
            str(credentials.get("private_key", "")).encode(), password=None
        )
    except (ValueError, TypeError) as exc:
        raise PassConfigError(
            "private_key", "Not an unencrypted PEM private key (the pass certificate's key)."
        ) from exc
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise PassConfigError("private_key", "Pass certificates use RSA or EC keys.")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise PassConfigError("private_key", "This key does not belong to the certificate.")
    try:
        certificate.verify_directly_issued_by(wwdr)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise PassConfigError(
            "wwdr_certificate", "The pass certificate was not issued by this WWDR certificate."
        ) from exc
    pass_type = str(credentials.get("pass_type_identifier", ""))
    # Apple's pass type certificates name their pass type in the subject's UID.
    uids = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    if uids and uids[0].value != pass_type:
        raise PassConfigError(
            "pass_type_identifier",
            f"The certificate is for {uids[0].value}, not {pass_type}.",
        )
    return SigningKeys(
        pass_type_identifier=pass_type,
        team_identifier=str(credentials.get("team_identifier", "")),
        certificate=certificate,
        private_key=key,
        wwdr_certificate=wwdr,
    )


# ---- pass templates ----------------------------------------------------------------------------


def _liquid_errors(value: Any, field: str, errors: dict[str, list[str]]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errors[field] = ["Must be a string."]
        return
    problem = template_error(value)
    if problem:
        errors[field] = [problem]


def _image_bytes(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


def template_errors(template: Any, field: str) -> dict[str, list[str]]:
    """The problems of one pass template, each keyed by its field (`settings.passes.<key>.…`)."""
    if not isinstance(template, dict):
        return {field: ["Must be an object."]}
    errors: dict[str, list[str]] = {}
    for name in template:
        if name not in TEMPLATE_KEYS:
            errors[f"{field}.{name}"] = [f"Unknown field; use {', '.join(sorted(TEMPLATE_KEYS))}."]
    if template.get("style", "generic") not in STYLES:
        errors[f"{field}.style"] = [f"Must be one of {', '.join(STYLES)}."]
    if not template.get("description"):
        errors[f"{field}.description"] = ["Required: VoiceOver reads it."]
    _liquid_errors(template.get("description"), f"{field}.description", errors)
    _liquid_errors(template.get("logo_text"), f"{field}.logo_text", errors)
    for name in ("foreground_color", "background_color", "label_color"):
        value = template.get(name)
        match = COLOR_RE.match(value) if isinstance(value, str) else None
        if value is not None and (not match or any(int(c) > 255 for c in match.groups())):
            errors[f"{field}.{name}"] = ['Must be "rgb(r, g, b)" with each part 0–255.']
    fields = template.get("fields", {})
    if not isinstance(fields, dict):
        errors[f"{field}.fields"] = ["Must be an object of field groups."]
        fields = {}
    seen: set[str] = set()
    for group, items in fields.items():
        where = f"{field}.fields.{group}"
        if group not in FIELD_GROUPS:
            errors[where] = [f"Unknown group; use {', '.join(FIELD_GROUPS)}."]
            continue
        if not isinstance(items, list) or len(items) > MAX_FIELDS_PER_GROUP:
            errors[where] = [f"Must be a list of at most {MAX_FIELDS_PER_GROUP} fields."]
            continue
        for i, item in enumerate(items):
            at = f"{where}.{i}"
            if not isinstance(item, dict):
                errors[at] = ["Must be an object with key, label and value."]
                continue
            key = item.get("key")
            if not isinstance(key, str) or not FIELD_KEY_RE.match(key):
                errors[f"{at}.key"] = ["Required: letters, digits, _ . - (at most 64)."]
            elif key in seen:
                errors[f"{at}.key"] = ["Field keys must be unique within the pass."]
            else:
                seen.add(key)
            if item.get("value") in (None, ""):
                errors[f"{at}.value"] = ["Required."]
            _liquid_errors(item.get("value"), f"{at}.value", errors)
            _liquid_errors(item.get("label"), f"{at}.label", errors)
    barcode = template.get("barcode")
    if barcode is not None:
        if not isinstance(barcode, dict):
            errors[f"{field}.barcode"] = ["Must be an object with format and message."]
        else:
            if barcode.get("format") not in BARCODE_FORMATS:
                errors[f"{field}.barcode.format"] = [
                    f"Must be one of {', '.join(BARCODE_FORMATS)}."
                ]
            if not barcode.get("message"):
                errors[f"{field}.barcode.message"] = ["Required."]
            _liquid_errors(barcode.get("message"), f"{field}.barcode.message", errors)
            _liquid_errors(barcode.get("alt_text"), f"{field}.barcode.alt_text", errors)
    images = template.get("images", {})
    if not isinstance(images, dict):
        errors[f"{field}.images"] = ["Must be an object of file name → base64 PNG."]
        images = {}
    for name, value in images.items():
        data = _image_bytes(value)
        if name not in IMAGE_NAMES:
            errors[f"{field}.images.{name}"] = [f"Unknown image; use {', '.join(IMAGE_NAMES)}."]
        elif data is None:
            errors[f"{field}.images.{name}"] = ["Must be a base64-encoded PNG."]
        elif len(data) > MAX_IMAGE_BYTES:
            errors[f"{field}.images.{name}"] = [f"At most {MAX_IMAGE_BYTES // 1024} KiB."]
    return errors


# ---- building ----------------------------------------------------------------------------------


def _render(value: str | None, context: dict, field: str) -> str | None:
    return None if value is None else render_string(value, context, field=field)


def pass_json(
    *,
    keys: SigningKeys,
    organization_name: str,
    template: dict,
    context: dict,
    identity: PassIdentity,
) -> dict:
    """pass.json for one customer: the template's texts rendered with `context` (Liquid)."""
    style: dict[str, list] = {}
    for group, items in (template.get("fields") or {}).items():
        style[FIELD_GROUPS[group]] = [
            {
                "key": item["key"],
                **(
                    {"label": _render(item["label"], context, f"fields.{group}.{i}.label")}
                    if item.get("label") is not None
                    else {}
                ),
                "value": _render(item["value"], context, f"fields.{group}.{i}.value"),
            }
            for i, item in enumerate(items)
        ]
    data: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": keys.pass_type_identifier,
        "teamIdentifier": keys.team_identifier,
        "serialNumber": identity.serial_number,
        "authenticationToken": identity.authentication_token,
        "webServiceURL": identity.web_service_url,
        "organizationName": organization_name,
        "description": _render(template["description"], context, "description"),
        template.get("style", "generic"): style,
    }
    if template.get("logo_text") is not None:
        data["logoText"] = _render(template["logo_text"], context, "logo_text")
    for name, key in (
        ("foreground_color", "foregroundColor"),
        ("background_color", "backgroundColor"),
        ("label_color", "labelColor"),
    ):
        if template.get(name):
            data[key] = template[name]
    barcode = template.get("barcode")
    if barcode:
        code = {
            "format": BARCODE_FORMATS[barcode["format"]],
            "message": _render(barcode["message"], context, "barcode.message"),
            "messageEncoding": "iso-8859-1",
        }
        if barcode.get("alt_text") is not None:
            code["altText"] = _render(barcode["alt_text"], context, "barcode.alt_text")
        # `barcodes` for iOS 9 and later; `barcode` for the Wallets before it.
        data["barcodes"] = [code]
        data["barcode"] = code
    return data


def _solid_png(size: int, rgb: tuple[int, int, int]) -> bytes:
    """A square PNG of one colour: the icon Wallet requires when the template has none."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _images(template: dict) -> dict[str, bytes]:
    images = {
        name: _image_bytes(value) or b"" for name, value in (template.get("images") or {}).items()
    }
    if "icon.png" not in images:
        match = COLOR_RE.match(template.get("background_color") or "")
        rgb = tuple(int(c) for c in match.groups()) if match else DEFAULT_BACKGROUND
        images["icon.png"] = _solid_png(29, rgb)  # type: ignore[arg-type]
        images["icon@2x.png"] = _solid_png(58, rgb)  # type: ignore[arg-type]
    return images


def manifest(files: dict[str, bytes]) -> bytes:
    """manifest.json: every file's SHA-1 in hex, as Wallet recomputes and compares them."""
    return json.dumps(
        {name: hashlib.sha1(data).hexdigest() for name, data in sorted(files.items())},  # noqa: S324
        indent=2,
    ).encode()


def manifest_signature(manifest_bytes: bytes, keys: SigningKeys) -> bytes:
    """The detached PKCS#7 (CMS SignedData, DER) signature of manifest.json by the pass type
    certificate, with the WWDR intermediate included so Wallet can chain it to Apple's root."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest_bytes)
        .add_signer(keys.certificate, keys.private_key, hashes.SHA256())
        .add_certificate(keys.wwdr_certificate)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )


def pass_files(
    *,
    keys: SigningKeys,
    organization_name: str,
    template: dict,
    context: dict,
    identity: PassIdentity,
) -> dict[str, bytes]:
    """The pass's files before signing: pass.json and its images."""
    data = pass_json(
        keys=keys,
        organization_name=organization_name,
        template=template,
        context=context,
        identity=identity,
    )
    return {
        "pass.json": json.dumps(data, ensure_ascii=False, indent=2).encode(),
        **_images(template),
    }


def pkpass_zip(files: dict[str, bytes], keys: SigningKeys) -> bytes:
    """The `.pkpass`: the files, their manifest and its signature, zipped."""
    manifest_bytes = manifest(files)
    signed = {
        **files,
        "manifest.json": manifest_bytes,
        "signature": manifest_signature(manifest_bytes, keys),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, payload in signed.items():
            bundle.writestr(name, payload)
    return buffer.getvalue()


def pkpass_build(*, credentials: dict, **pass_fields: Any) -> bytes:
    """The signed `.pkpass` of one template for one customer: `pass_fields` are pass_files'
    organization_name, template, context (its Liquid variables) and identity."""
    keys = signing_keys(credentials)
    return pkpass_zip(pass_files(keys=keys, **pass_fields), keys)
