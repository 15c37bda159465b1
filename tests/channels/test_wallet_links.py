"""Wallet passes reach customers: `{{ wallet.<template>.apple_url }}` in an email or in-app message
is a signed link to that customer's pass, downloaded as application/vnd.apple.pkpass and checked
as Wallet checks it; and the PassKit web service at the pass's webServiceURL (register, list
updated serials, get the latest pass, unregister, log), called with Apple's paths and headers."""

from __future__ import annotations

import email
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from audiences.models import Customer
from channels_app.models import Message, WalletPass, WalletRegistration
from channels_app.services import (
    MessageStep,
    channel_create,
    message_prepare,
    message_preview,
    messages_send,
)
from channels_app.services.wallet_passes import authentication_token, wallet_pass_issue
from workspaces.errors import ServiceValidationError

from .conftest import make_customer
from .wallet_certs import PASS_TYPE, chain_make, credentials_for, pkpass_open, wallet_settings

pytestmark = pytest.mark.django_db
LINK = re.compile(r"http://testserver/api/v1/hooks/wallet/apple\?t=\S+")


@pytest.fixture(scope="module")
def chain():
    return chain_make()


def _wallet(workspace, chain):
    return channel_create(
        workspace=workspace,
        channel="wallet",
        provider="apple_wallet",
        name="Passes",
        credentials=credentials_for(chain),
        settings=wallet_settings(),
    )


def _pass_id(url: str) -> str:
    return url.split("t=", 1)[1].split("~", 1)[0]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _send_email(workspace, customer, text="Your card: {{ wallet.loyalty.apple_url }}"):
    outcome = message_prepare(
        step=MessageStep(
            workspace=workspace,
            customer=customer,
            node_id="m",
            config={"channel": "email", "content": {"subject": "Your card", "text": text}},
        )
    )
    return outcome


def test_an_emailed_link_downloads_the_customers_signed_pass(
    workspace, chain, smtp_server, tmp_path
):
    _wallet(workspace, chain)
    channel_create(
        workspace=workspace,
        channel="email",
        provider="smtp",
        name="Mail",
        credentials={"host": "127.0.0.1", "port": smtp_server.port},
        settings={"from_email": "hi@acme.test"},
    )
    ada = make_customer(
        workspace, "ada", email="ada@x.test", attributes={"first_name": "Ada", "points": 120}
    )
    outcome = _send_email(workspace, ada)
    assert outcome.kind == "queued", outcome.reason
    messages_send(message_ids=[outcome.message.pk], workspace_id=workspace.pk)
    received = email.message_from_bytes(smtp_server.envelopes[0].content)
    body = next(p for p in received.walk() if p.get_content_type() == "text/plain")
    url = LINK.search(body.get_payload(decode=True).decode()).group(0)

    answer = Client().get(_path(url))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/vnd.apple.pkpass"
    assert answer["Content-Disposition"] == 'attachment; filename="loyalty.pkpass"'
    card = pkpass_open(answer.content, chain.root_pem, tmp_path)["pass"]
    issued = WalletPass.objects.for_workspace(workspace).get()
    assert card["serialNumber"] == issued.serial_number
    assert card["authenticationToken"] == authentication_token(
        issued.serial_number, workspace.signing_secret
    )
    assert card["webServiceURL"] == "http://testserver/wallet"
    assert card["description"] == "Ada's Acme card"
    assert card["storeCard"]["primaryFields"][0]["value"] == "120"

    # A later message carries a link to the same pass (one per customer and template).
    again = _send_email(workspace, ada).message.content["text"]
    assert _pass_id(LINK.search(again).group(0)) == _pass_id(url)
    assert WalletPass.objects.for_workspace(workspace).count() == 1
    # Another customer's link is their own pass.
    bo = make_customer(workspace, "bo", email="bo@x.test", attributes={"first_name": "Bo"})
    theirs = LINK.search(_send_email(workspace, bo).message.content["text"]).group(0)
    bo_card = pkpass_open(Client().get(_path(theirs)).content, chain.root_pem, tmp_path)["pass"]
    assert bo_card["description"] == "Bo's Acme card"
    assert bo_card["serialNumber"] != card["serialNumber"]


def test_forged_or_spliced_links_are_404(workspace, other_workspace, chain):
    _wallet(workspace, chain)
    _wallet(other_workspace, chain)
    mine = wallet_pass_issue(
        workspace=workspace,
        customer=make_customer(workspace, "a"),
        config=workspace_wallet(workspace),
        template_key="loyalty",
    )
    theirs_customer = make_customer(other_workspace, "b")
    outcome = message_prepare(
        step=MessageStep(
            workspace=other_workspace,
            customer=theirs_customer,
            node_id="m",
            config={
                "channel": "in_app",
                "content": {
                    "title": "Card",
                    "body": "Add it",
                    "url": "{{ wallet.loyalty.apple_url }}",
                },
            },
        )
    )
    link = outcome.message.content["url"]
    token = link.split("t=", 1)[1]
    assert Client().get(_path(link)).status_code == 200
    # Their signed value with my pass's id in front: refused (signed for another pass and key).
    spliced = f"{mine.pk}~{token.split('~', 1)[1]}"
    assert Client().get(f"/api/v1/hooks/wallet/apple?t={spliced}").status_code == 404
    assert Client().get(f"/api/v1/hooks/wallet/apple?t={token}x").status_code == 404
    assert Client().get("/api/v1/hooks/wallet/apple?t=preview").status_code == 404
    assert Client().get("/api/v1/hooks/wallet/apple?t=99999999999999999999~x").status_code == 404


def workspace_wallet(workspace):
    from channels_app.models import ChannelConfig

    return ChannelConfig.objects.for_workspace(workspace).get(channel="wallet")


def test_the_in_app_inbox_carries_the_link(api, workspace, chain):
    _wallet(workspace, chain)
    make_customer(workspace, "cat", attributes={"first_name": "Cat"})
    customer = Customer.objects.for_workspace(workspace).get(external_id="cat")
    outcome = message_prepare(
        step=MessageStep(
            workspace=workspace,
            customer=customer,
            node_id="m",
            config={
                "channel": "in_app",
                "content": {
                    "title": "Your card, {{ customer.first_name }}",
                    "body": "Tap to add it to Wallet",
                    "url": "{{ wallet.loyalty.apple_url }}",
                },
            },
        )
    )
    messages_send(message_ids=[outcome.message.pk], workspace_id=workspace.pk)
    inbox = api.get("/api/v1/customers/cat/inbox").json()["results"]
    assert LINK.fullmatch(inbox[0]["content"]["url"])
    assert Client().get(_path(inbox[0]["content"]["url"])).status_code == 200


def test_a_link_to_a_template_the_wallet_channel_lacks_fails_naming_it(workspace, chain):
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    person = make_customer(workspace, "d", email="d@x.test")
    failed = _send_email(workspace, person)
    assert failed.kind == "failed"
    assert failed.message.error == "content_invalid"
    assert "No apple_wallet wallet channel is set up" in failed.message.error_detail
    _wallet(workspace, chain)
    unknown = _send_email(workspace, person, "{{ wallet.gold.apple_url }}")
    assert "No pass template 'gold'" in unknown.message.error_detail
    assert not WalletPass.objects.for_workspace(workspace).exists()
    # A preview shows a sample link and issues no pass.
    shown = message_preview(
        workspace=workspace,
        channel="sms",
        content={"text": "{{ wallet.loyalty.apple_url }}"},
        customer=person,
    )
    assert shown["text"] == "http://testserver/api/v1/hooks/wallet/apple?t=preview"
    assert not WalletPass.objects.for_workspace(workspace).exists()


# ---- the PassKit web service -------------------------------------------------------------------

BASE = "/wallet/v1"
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _issued(workspace, chain, external_id="ada", **attributes):
    config = workspace_wallet(workspace) if _has_wallet(workspace) else _wallet(workspace, chain)
    customer = make_customer(
        workspace, external_id, attributes={"first_name": "Ada", "points": 5, **attributes}
    )
    issued = wallet_pass_issue(
        workspace=workspace, customer=customer, config=config, template_key="loyalty"
    )
    return issued, authentication_token(issued.serial_number, workspace.signing_secret)


def _has_wallet(workspace):
    from channels_app.models import ChannelConfig

    return ChannelConfig.objects.for_workspace(workspace).filter(channel="wallet").exists()


def _apple(token):
    return {"HTTP_AUTHORIZATION": f"ApplePass {token}"}


def test_a_device_registers_learns_of_updates_and_fetches_the_latest_pass(
    workspace, chain, tmp_path
):
    issued, token = _issued(workspace, chain)
    registration = f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{issued.serial_number}"
    client = Client()
    body = '{"pushToken": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}'
    assert (
        client.post(
            registration, body, content_type="application/json", **_apple(token)
        ).status_code
        == 201
    )
    assert (
        client.post(
            registration, body, content_type="application/json", **_apple(token)
        ).status_code
        == 200
    )
    stored = WalletRegistration.objects.for_workspace(workspace).get()
    assert (stored.push_token, stored.pass_type_identifier) == (
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        PASS_TYPE,
    )

    updated = client.get(f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}")
    assert updated.status_code == 200
    listed = updated.json()
    assert listed["serialNumbers"] == [issued.serial_number]
    tag = listed["lastUpdated"]
    assert (
        client.get(
            f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}", {"passesUpdatedSince": tag}
        ).status_code
        == 204
    )

    latest = f"{BASE}/passes/{PASS_TYPE}/{issued.serial_number}"
    first = client.get(latest, **_apple(token))
    assert first.status_code == 200
    assert first["Content-Type"] == "application/vnd.apple.pkpass"
    assert (
        pkpass_open(first.content, chain.root_pem, tmp_path)["pass"]["storeCard"]["primaryFields"][
            0
        ]["value"]
        == "5"
    )
    unchanged = client.get(latest, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"], **_apple(token))
    assert unchanged.status_code == 304

    # The customer's points change: the pass is listed as updated and served anew.
    customer = issued.customer
    customer.attributes = {**customer.attributes, "points": 750}
    customer.save(update_fields=["attributes"])
    changed = client.get(
        f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}", {"passesUpdatedSince": tag}
    )
    assert changed.status_code == 200
    assert changed.json()["serialNumbers"] == [issued.serial_number]
    assert int(changed.json()["lastUpdated"]) > int(tag)
    fresh = client.get(latest, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"], **_apple(token))
    assert fresh.status_code == 200
    assert fresh["Last-Modified"] != first["Last-Modified"]
    card = pkpass_open(fresh.content, chain.root_pem, tmp_path)["pass"]
    assert card["storeCard"]["primaryFields"][0]["value"] == "750"
    assert card["serialNumber"] == issued.serial_number

    assert client.delete(registration, **_apple(token)).status_code == 200
    assert not WalletRegistration.objects.for_workspace(workspace).exists()
    assert client.get(f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}").status_code == 204

    logged = client.post(
        f"{BASE}/log",
        '{"logs": ["Web service error for pass.x: 500"]}',
        content_type="application/json",
    )
    assert logged.status_code == 200


def test_web_service_refuses_a_wrong_token_and_another_workspaces_token(
    workspace, other_workspace, chain
):
    mine, my_token = _issued(workspace, chain)
    theirs, their_token = _issued(other_workspace, chain, external_id="rival")
    client = Client()
    latest = f"{BASE}/passes/{PASS_TYPE}/{mine.serial_number}"
    registration = f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{mine.serial_number}"
    body = '{"pushToken": "abc"}'
    for headers in (
        {},
        _apple(their_token),
        _apple("0" * 64),
        {"HTTP_AUTHORIZATION": f"Bearer {my_token}"},
    ):
        assert client.get(latest, **headers).status_code == 401
        assert (
            client.post(registration, body, content_type="application/json", **headers).status_code
            == 401
        )
        assert client.delete(registration, **headers).status_code == 401
    # The right token under another pass type names no pass of ours.
    assert (
        client.get(
            f"{BASE}/passes/pass.com.example.other/{mine.serial_number}", **_apple(my_token)
        ).status_code
        == 401
    )
    assert not WalletRegistration.objects.unscoped().exists()
    # A bad body is a 400 naming pushToken, once authorized.
    bad = client.post(
        registration, '{"push": 1}', content_type="application/json", **_apple(my_token)
    )
    assert bad.status_code == 400 and "pushToken" in bad.content.decode()
    # Each workspace's own token still works for its own pass.
    assert (
        client.get(
            f"{BASE}/passes/{PASS_TYPE}/{theirs.serial_number}", **_apple(their_token)
        ).status_code
        == 200
    )
    assert client.get(latest, **_apple(my_token)).status_code == 200
    assert Message.objects.unscoped().count() == 0


# ---- Google Wallet ------------------------------------------------------------------------------


def test_a_save_to_google_wallet_link_carries_the_customers_pass_signed_by_the_issuer(
    workspace, chain
):
    import json as jsonlib

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = {
        "type": "service_account",
        "client_email": "passes@acme-wallet.iam.gserviceaccount.com",
        "private_key_id": "k1",
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    with pytest.raises(ServiceValidationError) as refused:
        channel_create(
            workspace=workspace,
            channel="wallet",
            provider="google_wallet",
            name="Google",
            credentials={"service_account_json": jsonlib.dumps(account), "issuer_id": "acme"},
            settings=wallet_settings(),
        )
    assert "credentials.issuer_id" in refused.value.details
    channel_create(
        workspace=workspace,
        channel="wallet",
        provider="google_wallet",
        name="Google",
        credentials={"service_account_json": jsonlib.dumps(account), "issuer_id": "3388000000022"},
        settings=wallet_settings(),
    )
    _wallet(workspace, chain)  # Apple's beside it: one message offers both
    ada = make_customer(
        workspace, "ada", phone="+15555550100", attributes={"first_name": "Ada", "points": 40}
    )
    outcome = message_prepare(
        step=MessageStep(
            workspace=workspace,
            customer=ada,
            node_id="m",
            config={
                "channel": "sms",
                "content": {
                    "text": "Apple: {{ wallet.loyalty.apple_url }} Google: {{ wallet.loyalty.google_url }}"
                },
            },
        )
    )
    text = outcome.message.content["text"]
    assert LINK.search(text)
    google_url = re.search(r"https://pay\.google\.com/gp/v/save/(\S+)", text)
    assert google_url, text
    token = google_url.group(1)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="google")
    assert claims["iss"] == account["client_email"]
    assert claims["typ"] == "savetowallet"
    (klass,) = claims["payload"]["genericClasses"]
    (obj,) = claims["payload"]["genericObjects"]
    assert klass["id"] == "3388000000022.loyalty"
    assert klass["callbackOptions"]["url"].startswith("http://testserver/api/v1/hooks/wallet/google?c=")
    issued = WalletPass.objects.for_workspace(workspace).get(
        channel_config__provider="google_wallet"
    )
    assert obj["id"] == f"3388000000022.{issued.serial_number}"
    assert obj["classId"] == "3388000000022.loyalty"
    assert obj["state"] == "ACTIVE"
    assert obj["cardTitle"]["defaultValue"]["value"] == "Acme Coffee"
    assert obj["header"]["defaultValue"]["value"] == "Ada's Acme card"
    assert {"id": "points", "header": "Points", "body": "40"} in obj["textModulesData"]
    assert obj["barcode"] == {"type": "QR_CODE", "value": "member-ada", "alternateText": "ada"}
    assert obj["hexBackgroundColor"] == "#145aa0"
    # Signed by another key, the token does not verify.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, stranger.public_key(), algorithms=["RS256"], audience="google")


def test_web_service_answers_junk_with_4xx_never_a_server_error(workspace, chain, tmp_path):
    issued, token = _issued(workspace, chain)
    client = Client()
    registration = f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}/{issued.serial_number}"
    not_json = client.post(registration, "{", content_type="application/json", **_apple(token))
    assert not_json.status_code == 400
    long_device = f"{BASE}/devices/{'d' * 200}/registrations/{PASS_TYPE}/{issued.serial_number}"
    too_long = client.post(
        long_device, '{"pushToken": "abc"}', content_type="application/json", **_apple(token)
    )
    assert too_long.status_code == 400 and "deviceLibraryIdentifier" in too_long.content.decode()
    assert client.get(f"{BASE}/devices/{'d' * 300}/registrations/{PASS_TYPE}").status_code == 204
    assert client.get(f"{BASE}/passes/{PASS_TYPE}/{'s' * 300}", **_apple(token)).status_code == 401
    assert (
        client.get(f"{BASE}/passes/{PASS_TYPE}/{issued.serial_number}", **_apple("x")).status_code
        == 401
    )
    junk_date = client.get(
        f"{BASE}/passes/{PASS_TYPE}/{issued.serial_number}",
        HTTP_IF_MODIFIED_SINCE="yesterday",
        **_apple(token),
    )
    assert junk_date.status_code == 200
    assert (
        pkpass_open(junk_date.content, chain.root_pem, tmp_path)["pass"]["serialNumber"]
        == issued.serial_number
    )
    assert (
        client.post(
            registration,
            '{"pushToken": "a"}',
            content_type="application/json",
            **_apple(token),
        ).status_code
        == 201
    )
    assert client.get(
        f"{BASE}/devices/{DEVICE}/registrations/{PASS_TYPE}", {"passesUpdatedSince": "not-a-tag"}
    ).json()["serialNumbers"] == [issued.serial_number]
    assert client.post(f"{BASE}/log", "not json", content_type="text/plain").status_code == 200
    assert client.get(f"{BASE}/nothing").status_code == 404
    assert client.get(f"{BASE}/nothing")["Content-Type"].startswith("application/json")
