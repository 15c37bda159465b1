"""Wallet passes follow their customer: a change to what a pass shows is pushed to every device
that registered it (APNs over HTTP/2 + TLS, authenticated by the pass type certificate, topic
the pass type identifier, payload `{}`, against a local APNs that refuses clients without that
certificate), the devices then list the updated serial numbers and fetch the new pass (checked
as Wallet checks it); a saved Google Wallet object is PATCHed through the Wallet REST API with
a service-account token; and each save is a `saved` event on the message that carried the pass."""

from __future__ import annotations

import re

import httpx
import pytest
from django.test import Client

from channels_app.models import DeliveryEvent, WalletPass, WalletRegistration
from channels_app.services import (
    MessageStep,
    channel_create,
    message_prepare,
    wallet_passes_update,
)
from channels_app.services.wallet_passes import authentication_token
from channels_app.wallet import push
from tests.conftest import wait_for

from .apns_server import apns_server_start, tls_server_context
from .conftest import make_customer
from .test_wallet_links import _send_email
from .wallet_certs import PASS_TYPE, chain_make, credentials_for, pkpass_open, wallet_settings

BASE = "/wallet/v1"
LINK = re.compile(r"http://testserver(/api/v1/hooks/wallet/apple\?t=\S+)")
PHONE, WATCH, OLD_PHONE = "1a" * 32, "2b" * 32, "3c" * 32


@pytest.fixture(scope="module")
def chain():
    return chain_make()


@pytest.fixture
def apns(chain, settings):
    """The certificate-authenticated APNs: trusts Apple's root (here the test root) for client
    certificates; its own server certificate's CA is trusted beside the system's roots."""
    context, server_ca = tls_server_context(client_roots_pem=chain.root_pem)
    settings.APNS_EXTRA_CA_PEM = server_ca
    server, listener = apns_server_start(tls=context)
    yield server
    listener.close()
    push._client_context.cache_clear()


def _wallet(workspace, chain, apns):
    return channel_create(
        workspace=workspace,
        channel="wallet",
        provider="apple_wallet",
        name="Passes",
        credentials={**credentials_for(chain), "base_url": apns.url},
        settings=wallet_settings(),
    )


def _email(workspace, customer):
    outcome = _send_email(workspace, customer, "Add it: {{ wallet.loyalty.apple_url }}")
    assert outcome.kind == "queued", outcome.reason
    return outcome.message


def _apple(token):
    return {"HTTP_AUTHORIZATION": f"ApplePass {token}"}


def _register(client, serial, token, device, push_token):
    return client.post(
        f"{BASE}/devices/{device}/registrations/{PASS_TYPE}/{serial}",
        f'{{"pushToken": "{push_token}"}}',
        content_type="application/json",
        **_apple(token),
    ).status_code


def _card(answer, chain, tmp_path) -> dict:
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/vnd.apple.pkpass"
    return pkpass_open(answer.content, chain.root_pem, tmp_path)["pass"]


def test_the_local_apns_refuses_a_client_without_the_pass_certificate(chain, apns):
    """The push only gets through because it presents the certificate: without one (or with a
    certificate the server does not trust) the TLS handshake fails."""
    with pytest.raises(httpx.HTTPError):
        with httpx.Client(http2=True, verify=False) as client:  # noqa: S501 (the server's CA is not the point)
            client.post(f"{apns.url}/3/device/{PHONE}", content=b"{}")
    # The server thread counts the refusal after the client has already seen the alert.
    wait_for(lambda: apns.refused_handshakes >= 1, timeout=5)
    assert apns.requests == []


def test_a_customer_change_is_pushed_to_the_passs_devices_which_fetch_the_new_pass(
    celery_worker, api, workspace, chain, apns, tmp_path
):
    _wallet(workspace, chain, apns)
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    ada = make_customer(
        workspace, "ada", email="ada@x.test", attributes={"first_name": "Ada", "points": 5}
    )
    message = _email(workspace, ada)
    client = Client()
    card = _card(client.get(LINK.search(message.content["text"]).group(1)), chain, tmp_path)
    assert card["storeCard"]["primaryFields"][0]["value"] == "5"
    serial = card["serialNumber"]
    token = authentication_token(serial, workspace.signing_secret)

    # Two devices add the pass: one save, recorded on the message that carried it.
    assert _register(client, serial, token, "phone", PHONE) == 201
    assert _register(client, serial, token, "watch", WATCH) == 201
    assert _register(client, serial, token, "watch", WATCH) == 200
    saves = DeliveryEvent.objects.for_workspace(workspace).filter(status="saved")
    assert [(e.message_id, e.source) for e in saves.all()] == [(message.pk, "apple_wallet")]
    listed = client.get(f"{BASE}/devices/phone/registrations/{PASS_TYPE}").json()
    tag = listed["lastUpdated"]
    assert apns.requests == []  # registering pushes nothing

    # The customer's points change through the API: each device gets an empty push.
    assert api.patch(
        "/api/v1/customers/ada", {"attributes": {"points": 750}}, format="json"
    ).status_code == 200
    wait_for(lambda: len(apns.requests) == 2)
    wait_for(lambda: _told(workspace))
    assert {r.headers[":path"] for r in apns.requests} == {f"/3/device/{PHONE}", f"/3/device/{WATCH}"}
    for request in apns.requests:
        assert request.headers["apns-topic"] == PASS_TYPE
        assert request.json() == {} and request.body == b"{}"
        assert request.client_certificate == chain.pass_certificate
        assert "authorization" not in request.headers  # the certificate is the credential

    # What a device does next: the serial numbers updated since its tag, then the pass.
    updated = client.get(
        f"{BASE}/devices/phone/registrations/{PASS_TYPE}", {"passesUpdatedSince": tag}
    )
    assert updated.status_code == 200 and updated.json()["serialNumbers"] == [serial]
    fresh = _card(client.get(f"{BASE}/passes/{PASS_TYPE}/{serial}", **_apple(token)), chain, tmp_path)
    assert fresh["storeCard"]["primaryFields"][0]["value"] == "750"
    assert fresh["serialNumber"] == serial

    # The watch is gone (APNs 410 Unregistered): the next change unregisters it.
    apns.answers[WATCH] = (410, "Unregistered")
    api.patch("/api/v1/customers/ada", {"attributes": {"points": 900}}, format="json")
    wait_for(
        lambda: list(
            WalletRegistration.objects.for_workspace(workspace).values_list(
                "device_library_identifier", flat=True
            )
        )
        == ["phone"]
    )
    assert len(apns.requests) == 4
    assert saves.count() == 1  # no new save: the pass was already on a device
    wait_for(lambda: _told(workspace))  # the update ends by recording that the devices know


def _told(workspace) -> bool:
    wallet_pass = WalletPass.objects.for_workspace(workspace).get()
    return wallet_pass.notified_hash == wallet_pass.content_hash


@pytest.mark.django_db
def test_only_a_change_is_pushed_and_apns_answers_are_acted_on(workspace, chain, apns):
    _wallet(workspace, chain, apns)
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    bo = make_customer(workspace, "bo", email="bo@x.test", attributes={"first_name": "Bo"})
    _email(workspace, bo)
    client = Client()
    issued = WalletPass.objects.for_workspace(workspace).get()
    token = authentication_token(issued.serial_number, workspace.signing_secret)
    client.get(f"{BASE}/passes/{PASS_TYPE}/{issued.serial_number}", **_apple(token))
    for device, push_token in (("phone", PHONE), ("old", OLD_PHONE), ("watch", WATCH)):
        assert _register(client, issued.serial_number, token, device, push_token) == 201

    # Nothing the pass shows changed (an attribute it does not use): no push.
    bo.attributes = {**bo.attributes, "favourite": "tea"}
    bo.save(update_fields=["attributes"])
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[bo.pk]) == {"unchanged": 1}
    assert apns.requests == []

    # APNs is down for one device: the update is to be tried again, and nobody is unregistered;
    # another device's token is bad (400 BadDeviceToken): that registration goes.
    apns.answers[WATCH] = (503, "ServiceUnavailable")
    apns.answers[OLD_PHONE] = (400, "BadDeviceToken")
    bo.attributes = {**bo.attributes, "points": 40}
    bo.save(update_fields=["attributes"])
    counts = wallet_passes_update(workspace_id=workspace.pk, customer_ids=[bo.pk])
    assert counts == {"failed": 1, "retry": 1}
    assert len(apns.requests) == 3
    assert sorted(
        WalletRegistration.objects.for_workspace(workspace).values_list(
            "device_library_identifier", flat=True
        )
    ) == ["phone", "watch"]
    # Tried again when APNs is back: both devices hear of it once, then nothing is left to say.
    del apns.answers[WATCH]
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[bo.pk]) == {"pushed": 1}
    assert len(apns.requests) == 5
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[bo.pk]) == {"unchanged": 1}
    assert len(apns.requests) == 5


# ---- Google Wallet: the saved object follows the customer ----------------------------------------

ISSUER = "3388000000022"
WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"


@pytest.fixture
def google_account():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from channels_app.providers import google as google_auth

    google_auth._token_cache.clear()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    yield key, pem
    google_auth._token_cache.clear()


def _google_wallet(workspace, server, pem):
    import json

    account = {
        "type": "service_account",
        "client_email": "passes@acme-wallet.iam.gserviceaccount.com",
        "private_key_id": "k1",
        "private_key": pem,
        "token_uri": f"{server.url}/token",
    }
    return channel_create(
        workspace=workspace,
        channel="wallet",
        provider="google_wallet",
        name="Google",
        credentials={
            "service_account_json": json.dumps(account),
            "issuer_id": ISSUER,
            "base_url": server.url,
        },
        settings=wallet_settings(),
    )


def _google_server(server, key, state):
    """Google's token endpoint (the JWT bearer grant, its RS256 assertion checked with the
    account's public key) and the Wallet REST API's genericObject PATCH (bearer token checked;
    objects Google holds are `state["saved"]`, others are 404 as Google answers them)."""
    import jwt

    def token(req):
        form = req.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"], key.public_key(), algorithms=["RS256"],
                audience=f"{server.url}/token",
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}
        assert claims["iss"] == "passes@acme-wallet.iam.gserviceaccount.com"
        assert claims["scope"] == WALLET_SCOPE
        state["tokens"] += 1
        return 200, {"access_token": f"ya29.token{state['tokens']}", "expires_in": 3600, "token_type": "Bearer"}

    def patch(req):
        object_id = req.path.rsplit("/", 1)[1]
        if req.headers.get("Authorization") not in state["valid_tokens"](state["tokens"]):
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}
        if state.get("answer"):
            return state["answer"]
        if object_id not in state["saved"]:
            return 404, {"error": {"code": 404, "message": f"Resource not found: {object_id}", "status": "NOT_FOUND"}}
        body = req.json()
        assert body["id"] == object_id and body["classId"] == f"{ISSUER}.loyalty"
        state["saved"][object_id] = body
        return 200, body

    server.route("POST", "/token", 200, token)
    state["patch"] = patch


def _route_object(server, state, serial):
    server.route("PATCH", f"/walletobjects/v1/genericObject/{ISSUER}.{serial}", 200, state["patch"])


def _points(body) -> str:
    return next(m["body"] for m in body["textModulesData"] if m["id"] == "points")


@pytest.mark.django_db
def test_a_saved_google_object_is_patched_when_the_customer_changes(
    workspace, http_server, google_account
):
    key, pem = google_account
    state = {"tokens": 0, "saved": {}, "valid_tokens": lambda n: {f"Bearer ya29.token{n}"}}
    _google_server(http_server, key, state)
    _google_wallet(workspace, http_server, pem)
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    ada = make_customer(workspace, "ada", email="ada@x.test", attributes={"first_name": "Ada", "points": 40})
    outcome = message_prepare(
        step=MessageStep(
            workspace=workspace, customer=ada, node_id="m",
            config={"channel": "email", "content": {"subject": "Your card", "text": "Save it: {{ wallet.loyalty.google_url }}"}},
        )
    )
    assert outcome.kind == "queued", outcome.reason
    issued = WalletPass.objects.for_workspace(workspace).get()
    object_id = f"{ISSUER}.{issued.serial_number}"
    _route_object(http_server, state, issued.serial_number)

    # Not saved yet: Google has no object (404); nothing to update, the link carries the news.
    ada.attributes = {**ada.attributes, "points": 45}
    ada.save(update_fields=["attributes"])
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"not_saved": 1}

    # Saved: the change is PATCHed, with a service-account token, once.
    state["saved"][object_id] = {}
    ada.attributes = {**ada.attributes, "points": 750}
    ada.save(update_fields=["attributes"])
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"patched": 1}
    assert _points(state["saved"][object_id]) == "750"
    patches = [r for r in http_server.requests if r.method == "PATCH"]
    assert patches[-1].headers["Authorization"] == "Bearer ya29.token1"
    assert patches[-1].json()["header"]["defaultValue"]["value"] == "Ada's Acme card"
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"unchanged": 1}
    assert len([r for r in http_server.requests if r.method == "PATCH"]) == len(patches)

    # Google stops taking the cached token (revoked): one new token, and the PATCH goes through.
    state["valid_tokens"] = lambda n: {"Bearer ya29.token2"}
    ada.attributes = {**ada.attributes, "points": 800}
    ada.save(update_fields=["attributes"])
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"patched": 1}
    assert state["tokens"] == 2 and _points(state["saved"][object_id]) == "800"

    # Google's refusals are named; an outage is to be tried again, a bad object is not.
    ada.attributes = {**ada.attributes, "points": 900}
    ada.save(update_fields=["attributes"])
    state["answer"] = (400, {"error": {"code": 400, "message": "Invalid barcode value", "status": "INVALID_ARGUMENT"}})
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"failed": 1}
    from channels_app.services.wallet_passes import wallet_pass_notify

    issued = WalletPass.objects.for_workspace(workspace).select_related("channel_config", "customer").get()
    notice = wallet_pass_notify(wallet_pass=issued)
    assert notice.detail == "content_invalid: Google Wallet 400: Invalid barcode value"
    assert not notice.retryable
    state["answer"] = (503, {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"failed": 1, "retry": 1}
    state["answer"] = (403, {"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}})
    notice = wallet_pass_notify(wallet_pass=issued)
    assert notice.detail.startswith("provider_auth_failed: Google Wallet 403: The caller does not have permission")
    state.pop("answer")
    assert wallet_passes_update(workspace_id=workspace.pk, customer_ids=[ada.pk]) == {"patched": 1}
    assert _points(state["saved"][object_id]) == "900"


# ---- Google Wallet: save callbacks -------------------------------------------------------------


def _der_b64(private_key) -> str:
    import base64

    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(
        private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()


def _hook_config(url: str) -> int:
    """The channel a signed hook URL names (its token is timestamped, so read, not compared)."""
    from urllib.parse import parse_qs, urlsplit

    from django.core import signing

    from channels_app.callback_urls import CHANNEL_SALT

    parts = urlsplit(url)
    assert parts.path == "/api/v1/hooks/wallet/google"
    return signing.loads(parse_qs(parts.query)["c"][0], salt=CHANNEL_SALT)


def _lv(*parts: str) -> bytes:
    return b"".join(len(p.encode()).to_bytes(4, "little") + p.encode() for p in parts)


def _signed_callback(root, intermediate, recipient, message, *, key_expires_ms=None) -> bytes:
    """A callback as Google sends it (ECv2SigningOnly, as Tink's PaymentMethodTokenSender makes
    it): the intermediate key signed by the root key, the message by the intermediate key."""
    import base64
    import json
    import time

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    def sign(key, data: bytes) -> str:
        return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()

    expires = key_expires_ms if key_expires_ms is not None else int(time.time() * 1000) + 86_400_000
    signed_key = json.dumps({"keyValue": _der_b64(intermediate), "keyExpiration": str(expires)})
    signed_message = json.dumps(message)
    return json.dumps(
        {
            "protocolVersion": "ECv2SigningOnly",
            "signature": sign(
                intermediate, _lv("GooglePayPasses", recipient, "ECv2SigningOnly", signed_message)
            ),
            "intermediateSigningKey": {
                "signedKey": signed_key,
                "signatures": [sign(root, _lv("GooglePayPasses", "ECv2SigningOnly", signed_key))],
            },
            "signedMessage": signed_message,
        }
    ).encode()


@pytest.mark.django_db
def test_a_google_save_callback_is_verified_and_recorded_once_on_the_message(
    api, workspace, http_server, google_account, settings
):
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from channels_app.wallet import google_callbacks

    key, pem = google_account
    root, intermediate = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    http_server.route(
        "GET", "/gp/m/issuer/keys", 200,
        {"keys": [{"keyValue": _der_b64(root), "protocolVersion": "ECv2SigningOnly"}]},
    )
    settings.GOOGLE_WALLET_KEYS_URL = f"{http_server.url}/gp/m/issuer/keys"
    google_callbacks._keys_cache.clear()
    config = _google_wallet(workspace, http_server, pem)
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    ada = make_customer(workspace, "ada", email="ada@x.test", attributes={"first_name": "Ada"})
    outcome = message_prepare(
        step=MessageStep(
            workspace=workspace, customer=ada, node_id="m",
            config={"channel": "email", "content": {"subject": "Your card", "text": "Save it: {{ wallet.loyalty.google_url }}"}},
        )
    )
    issued = WalletPass.objects.for_workspace(workspace).get()

    # The Save link's class tells Google where to call back: the channel's callback URL.
    callback_url = api.get(f"/api/v1/channels/{config.pk}").json()["callback_url"]
    assert "/api/v1/hooks/wallet/google?c=" in callback_url
    token = re.search(r"/gp/v/save/(\S+)", outcome.message.content["text"]).group(1)
    (klass,) = jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="google")["payload"]["genericClasses"]
    assert set(klass["callbackOptions"]) == {"url"}
    assert _hook_config(klass["callbackOptions"]["url"]) == _hook_config(callback_url) == config.pk
    path = klass["callbackOptions"]["url"][callback_url.index("/api/"):]

    def post(body):
        return Client().post(path, body, content_type="application/json").status_code

    now_ms = int(time.time() * 1000)
    save = {
        "classId": f"{ISSUER}.loyalty", "objectId": f"{ISSUER}.{issued.serial_number}",
        "eventType": "save", "expTimeMillis": now_ms + 60_000, "count": 1, "nonce": "n-1",
    }
    saves = DeliveryEvent.objects.for_workspace(workspace).filter(status="saved")

    # Forged or stale: another root, an expired intermediate key, signed for another issuer, an
    # expired message, or a message changed after signing. None counts.
    stranger = ec.generate_private_key(ec.SECP256R1())
    tampered = _signed_callback(root, intermediate, ISSUER, save).replace(b'\\"save\\"', b'\\"del\\"')
    assert tampered != _signed_callback(root, intermediate, ISSUER, save)
    for forged in (
        _signed_callback(stranger, intermediate, ISSUER, save),
        _signed_callback(root, intermediate, ISSUER, save, key_expires_ms=now_ms - 1),
        _signed_callback(root, intermediate, "9999999999999", save),
        _signed_callback(root, intermediate, ISSUER, {**save, "expTimeMillis": now_ms - 1}),
        tampered,
        b"{}",
    ):
        assert post(forged) == 403
    assert not saves.exists()

    assert post(_signed_callback(root, intermediate, ISSUER, save)) == 200
    assert [(e.message_id, e.source, e.data["nonce"]) for e in saves.all()] == [
        (outcome.message.pk, "google_wallet", "n-1")
    ]
    # Google delivers again (same nonce): still one save. A delete is no save.
    assert post(_signed_callback(root, intermediate, ISSUER, save)) == 200
    assert post(_signed_callback(root, intermediate, ISSUER, {**save, "eventType": "del", "nonce": "n-2"})) == 200
    assert saves.count() == 1
    # Saved again later (a new nonce): a second save.
    assert post(_signed_callback(root, intermediate, ISSUER, {**save, "nonce": "n-3"})) == 200
    assert saves.count() == 2
    # The keys were fetched once (kept for an hour).
    assert len([r for r in http_server.requests if r.path == "/gp/m/issuer/keys"]) == 1
