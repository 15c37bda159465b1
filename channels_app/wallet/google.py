"""Google Wallet "Save to Google Wallet" links: https://pay.google.com/gp/v/save/<JWT>, the JWT
signed RS256 with the issuer's service account (`typ: savetowallet`, `aud: google`) and carrying
the pass as a genericClass and a genericObject built from the same pass template Apple's pass
uses, its texts rendered with Liquid for one customer."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

from templating import render_string

from .apple import COLOR_RE

SAVE_URL = "https://pay.google.com/gp/v/save/"
BARCODE_TYPES = {"qr": "QR_CODE", "pdf417": "PDF_417", "aztec": "AZTEC", "code128": "CODE_128"}
LANGUAGE = "en"


def service_account(raw: Any) -> dict:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def _text(value: str) -> dict:
    return {"defaultValue": {"language": LANGUAGE, "value": value}}


def _hex(color: str | None) -> str | None:
    match = COLOR_RE.match(color or "")
    return "#" + "".join(f"{int(c):02x}" for c in match.groups()) if match else None


def generic_object(
    *,
    issuer_id: str,
    organization_name: str,
    template_key: str,
    template: dict,
    context: dict,
    serial_number: str,
) -> tuple[dict, dict]:
    """(genericClass, genericObject) of one template for one customer."""

    def render(value: str, field: str) -> str:
        return render_string(value, context, field=field)

    klass = {"id": f"{issuer_id}.{template_key}"}
    modules = [
        {
            "id": item["key"],
            "header": render(item.get("label") or item["key"], f"fields.{group}.{i}.label"),
            "body": render(item["value"], f"fields.{group}.{i}.value"),
        }
        for group, items in (template.get("fields") or {}).items()
        for i, item in enumerate(items)
    ]
    obj: dict[str, Any] = {
        "id": f"{issuer_id}.{serial_number}",
        "classId": klass["id"],
        "state": "ACTIVE",
        "cardTitle": _text(organization_name),
        "header": _text(render(template["description"], "description")),
        "textModulesData": modules,
    }
    if template.get("logo_text"):
        obj["subheader"] = _text(render(template["logo_text"], "logo_text"))
    background = _hex(template.get("background_color"))
    if background:
        obj["hexBackgroundColor"] = background
    barcode = template.get("barcode")
    if barcode:
        obj["barcode"] = {
            "type": BARCODE_TYPES[barcode["format"]],
            "value": render(barcode["message"], "barcode.message"),
        }
        if barcode.get("alt_text") is not None:
            obj["barcode"]["alternateText"] = render(barcode["alt_text"], "barcode.alt_text")
    return klass, obj


def save_url(
    *,
    credentials: dict,
    organization_name: str,
    template_key: str,
    template: dict,
    context: dict,
    serial_number: str,
    now: int | None = None,
    callback_url: str = "",
) -> str:
    """The "Save to Google Wallet" link of the customer's pass (its JWT signed by the issuer).
    `callback_url` goes into the class's callbackOptions: Google reports saves and deletes there
    (a class is made from the first link that names it)."""
    account = service_account(credentials["service_account_json"])
    klass, obj = generic_object(
        issuer_id=str(credentials["issuer_id"]),
        organization_name=organization_name,
        template_key=template_key,
        template=template,
        context=context,
        serial_number=serial_number,
    )
    if callback_url:
        klass["callbackOptions"] = {"url": callback_url}
    claims = {
        "iss": account["client_email"],
        "aud": "google",
        "typ": "savetowallet",
        "iat": now or int(time.time()),
        "origins": [],
        "payload": {"genericClasses": [klass], "genericObjects": [obj]},
    }
    headers = {"kid": account["private_key_id"]} if account.get("private_key_id") else None
    token = jwt.encode(claims, account["private_key"], algorithm="RS256", headers=headers)
    return SAVE_URL + token
