"""The channels and messages API: credentials write-only, owner-only writes, previews, receipts, inbox."""

from __future__ import annotations

import pytest

from channels_app.crypto import credentials_decrypt
from channels_app.models import ChannelConfig, Message

from .conftest import make_customer

pytestmark = pytest.mark.django_db

TWILIO = {
    "channel": "sms",
    "provider": "twilio",
    "name": "Twilio",
    "credentials": {"account_sid": "AC1", "auth_token": "super-secret", "from": "+1555"},
}


def test_credentials_are_encrypted_and_never_returned(api, workspace):
    created = api.post("/api/v1/channels", TWILIO, format="json")
    assert created.status_code == 201, created.content
    assert "super-secret" not in created.content.decode()
    assert created.json()["credential_keys"] == ["account_sid", "auth_token", "from"]
    assert created.json()["is_default"] is True  # the first of its channel
    row = ChannelConfig.objects.for_workspace(workspace).get()
    assert "super-secret" not in row.credentials_encrypted
    assert credentials_decrypt(row.credentials_encrypted)["auth_token"] == "super-secret"
    listed = api.get("/api/v1/channels")
    assert "super-secret" not in listed.content.decode() and len(listed.json()["results"]) == 1
    # PUT without credentials keeps them.
    put = api.put(
        f"/api/v1/channels/{row.pk}", {"provider": "twilio", "name": "Renamed"}, format="json"
    )
    assert put.status_code == 200 and put.json()["name"] == "Renamed"
    row.refresh_from_db()
    assert credentials_decrypt(row.credentials_encrypted)["auth_token"] == "super-secret"


def test_missing_credential_is_a_400_naming_it(api):
    bad = {**TWILIO, "credentials": {"account_sid": "AC1", "from": "+1"}}
    response = api.post("/api/v1/channels", bad, format="json")
    assert response.status_code == 400
    assert "credentials.auth_token" in response.json()["error"]["details"]


def test_channel_writes_need_the_owner_role(editor_api, viewer_api):
    assert editor_api.post("/api/v1/channels", TWILIO, format="json").status_code == 403
    assert viewer_api.get("/api/v1/channels").status_code == 200


def test_one_default_per_channel(api, workspace):
    first = api.post(
        "/api/v1/channels", {"channel": "email", "provider": "sandbox", "name": "A"}, format="json"
    ).json()
    second = api.post(
        "/api/v1/channels",
        {"channel": "email", "provider": "sandbox", "name": "B", "is_default": True},
        format="json",
    ).json()
    assert second["is_default"] is True
    assert api.get(f"/api/v1/channels/{first['id']}").json()["is_default"] is False


def test_preview_renders_with_customer(api, workspace):
    make_customer(workspace, external_id="ann", attributes={"first_name": "Ann"})
    response = api.post(
        "/api/v1/messages/preview",
        {
            "channel": "sms",
            "customer_id": "ann",
            "content": {"text": "Hi {{ customer.first_name | default: 'there' }}"},
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["content"]["text"] == "Hi Ann"


def test_an_emails_visual_design_is_kept_with_it_but_only_its_html_is_rendered(api):
    mjml = "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ customer.first_name }}</mj-text>"
    mjml += "</mj-column></mj-section></mj-body></mjml>"
    content = {"subject": "Hi", "html": "<p>Hi {{ customer.first_name }}</p>", "mjml": mjml}
    response = api.post(
        "/api/v1/messages/preview",
        {"channel": "email", "attributes": {"first_name": "Ann"}, "content": content},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["content"]["html"] == "<p>Hi Ann</p>"
    assert "mjml" not in response.json()["content"]
    bad = api.post(
        "/api/v1/messages/preview",
        {"channel": "email", "attributes": {}, "content": {**content, "mjml": 3}},
        format="json",
    )
    assert bad.status_code == 400
    assert "mjml" in bad.json()["error"]["details"]["content"]


def test_preview_reads_sample_trigger_event_properties(api, workspace):
    make_customer(workspace, external_id="ann", attributes={"first_name": "Ann"})
    content = {"text": "{{ customer.first_name }}, your {{ event.item_name }} is waiting"}
    response = api.post(
        "/api/v1/messages/preview",
        {"channel": "sms", "customer_id": "ann", "event": {"item_name": "Blue mug"}, "content": content},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["content"]["text"] == "Ann, your Blue mug is waiting"
    refused = api.post("/api/v1/messages/preview", {"channel": "sms", "event": [1], "content": content}, format="json")
    assert refused.status_code == 400
    assert "event" in refused.json()["error"]["details"]


def test_preview_names_the_template_error_and_position(api):
    response = api.post(
        "/api/v1/messages/preview",
        {
            "channel": "email",
            "attributes": {},
            "content": {"subject": "ok", "html": "line1\nHello {{ customer.name "},
        },
        format="json",
    )
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert "line 2, column 7" in details["content"]["html"][0]


def test_preview_enforces_workspace_push_limits(api, workspace):
    workspace.settings = {"push_title_max": 30, "push_body_max": 30}
    workspace.save()
    response = api.post(
        "/api/v1/messages/preview",
        {
            "channel": "push",
            "attributes": {"name": "x" * 40},
            "content": {"title": "Hi", "body": "{{ customer.name }}"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "push_body_max" in response.json()["error"]["details"]["content"]["body"][0]


def test_status_receipt_and_list_filters(api, workspace):
    customer = make_customer(workspace, external_id="bob")
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="email",
        to="b@x.test",
        status="sent",
        node_id="n1",
    )
    response = api.post(
        f"/api/v1/messages/{message.pk}/status", {"status": "clicked"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (
        body["status"] == "clicked" and body["opened_at"] and body["delivered_at"]
    )  # a click implies both
    assert (
        api.post(
            f"/api/v1/messages/{message.pk}/status", {"status": "nope"}, format="json"
        ).status_code
        == 400
    )
    listed = api.get("/api/v1/messages?customer_id=bob&status=clicked&node_id=n1").json()["results"]
    assert [m["id"] for m in listed] == [message.pk] and listed[0]["customer_id"] == "bob"
    assert api.get("/api/v1/messages?status=failed").json()["results"] == []


def test_inbox_newest_first_and_read(api, workspace):
    customer = make_customer(workspace, external_id="cat")
    older = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="in_app",
        content={"title": "1", "body": "a"},
        status="delivered",
    )
    newer = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="in_app",
        content={"title": "2", "body": "b"},
        status="delivered",
    )
    inbox = api.get("/api/v1/customers/cat/inbox").json()["results"]
    assert [m["id"] for m in inbox] == [newer.pk, older.pk]
    read = api.post(f"/api/v1/customers/cat/inbox/{older.pk}/read")
    assert read.status_code == 200 and read.json()["status"] == "read" and read.json()["read_at"]
    assert api.post("/api/v1/customers/nobody/inbox/1/read").status_code == 404


def test_open_pixel_click_redirect_and_unsubscribe(client, workspace):
    from channels_app import tracking

    customer = make_customer(workspace, external_id="dan", email="d@x.test")
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=customer, channel="email", to="d@x.test", status="sent"
    )
    pixel = client.get(tracking.open_url(message.pk).replace("http://testserver", ""))
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    click = client.get(
        tracking.click_url(message.pk, "https://acme.test/p").replace("http://testserver", "")
    )
    assert click.status_code == 302 and click["Location"] == "https://acme.test/p"
    message.refresh_from_db()
    assert message.status == "clicked" and message.opened_at
    assert client.get("/api/v1/hooks/click?t=forged").status_code == 404
    assert (
        client.post(
            tracking.unsubscribe_url(message.pk).replace("http://testserver", "")
        ).status_code
        == 200
    )
    customer.refresh_from_db()
    assert customer.unsubscribed == ["email"]


def test_twilio_callback_checks_signature(client, workspace):
    from channels_app.callbacks import twilio_callback_url
    from channels_app.providers.twilio import twilio_signature
    from channels_app.services import channel_create

    config = channel_create(
        workspace=workspace,
        channel="sms",
        provider="twilio",
        name="T",
        credentials={"account_sid": "AC1", "auth_token": "tok", "from": "+1"},
    )
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace, channel="sms", to="+1", status="sent", provider_message_id="SM9"
    )
    url = twilio_callback_url(config.pk)
    params = {"MessageSid": "SM9", "MessageStatus": "delivered"}
    path = url.replace("http://testserver", "")
    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE="wrong").status_code == 403
    ok = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=twilio_signature("tok", url, params))
    assert ok.status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered"


def test_whatsapp_webhook_checks_hub_signature(client, workspace):
    import hashlib
    import hmac
    import json

    from channels_app.callbacks import whatsapp_callback_url
    from channels_app.services import channel_create

    config = channel_create(
        workspace=workspace,
        channel="whatsapp",
        provider="whatsapp_cloud",
        name="W",
        credentials={"phone_number_id": "1", "access_token": "a", "app_secret": "shh"},
    )
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        channel="whatsapp",
        to="+1",
        status="sent",
        provider_message_id="wamid.A",
    )
    body = json.dumps(
        {
            "entry": [
                {
                    "changes": [
                        {
                            "value": {
                                "statuses": [
                                    {"id": "wamid.A", "status": "read", "timestamp": "1700000000"}
                                ]
                            }
                        }
                    ]
                }
            ]
        }
    ).encode()
    path = whatsapp_callback_url(config.pk).replace("http://testserver", "")
    bad = client.post(
        path, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256="sha256=00"
    )
    assert bad.status_code == 403
    sig = "sha256=" + hmac.new(b"shh", body, hashlib.sha256).hexdigest()
    assert (
        client.post(
            path, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sig
        ).status_code
        == 204
    )
    message.refresh_from_db()
    assert message.status == "read" and message.read_at.year == 2023
