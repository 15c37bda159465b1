"""Provider callbacks: the WhatsApp Cloud subscription handshake, and Twilio signatures checked
against the URL Twilio was given (its token carries a timestamp, so a later second must verify)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from channels_app.callbacks import twilio_callback_url, whatsapp_callback_url
from channels_app.models import Message
from channels_app.providers.twilio import twilio_signature
from channels_app.services import channel_create


def _whatsapp(workspace, **credentials):
    return channel_create(
        workspace=workspace,
        channel="whatsapp",
        provider="whatsapp_cloud",
        name="W",
        credentials={"phone_number_id": "1", "access_token": "a", **credentials},
    )


def _handshake(client, config, **params):
    # The URL given to Meta names the channel in a signed `c` parameter; Meta adds the hub.* ones.
    url = urlsplit(whatsapp_callback_url(config.pk))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    return client.get(
        url.path, {**query, "hub.mode": "subscribe", "hub.challenge": "1158201444", **params}
    )


def test_whatsapp_handshake_echoes_the_challenge_for_the_right_verify_token(client, workspace):
    config = _whatsapp(workspace, verify_token="open-sesame")
    response = _handshake(client, config, **{"hub.verify_token": "open-sesame"})
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_whatsapp_handshake_refuses_a_wrong_or_missing_verify_token(client, workspace):
    config = _whatsapp(workspace, verify_token="open-sesame")
    assert _handshake(client, config, **{"hub.verify_token": "guess"}).status_code == 403
    assert _handshake(client, config).status_code == 403
    unset = _whatsapp(workspace)  # no verify_token configured: nothing can subscribe
    assert _handshake(client, unset, **{"hub.verify_token": ""}).status_code == 403


def test_whatsapp_handshake_refuses_a_forged_channel_token(client, workspace):
    config = _whatsapp(workspace, verify_token="open-sesame")
    response = client.get(
        "/api/v1/hooks/whatsapp",
        {
            "c": f"{config.pk}:forged",
            "hub.mode": "subscribe",
            "hub.verify_token": "open-sesame",
            "hub.challenge": "1",
        },
    )
    assert response.status_code == 403


def test_twilio_callback_verifies_in_a_later_second(client, workspace):
    config = channel_create(
        workspace=workspace,
        channel="sms",
        provider="twilio",
        name="T",
        credentials={"account_sid": "AC1", "auth_token": "tok", "from": "+1"},
    )
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace, channel="sms", to="+1", status="sent", provider_message_id="SM7"
    )
    url = twilio_callback_url(config.pk)  # given to Twilio with the send
    time.sleep(1.1)  # the receipt comes later; a regenerated URL would carry a new timestamp
    params = {"MessageSid": "SM7", "MessageStatus": "delivered"}
    response = client.post(
        url.replace("http://testserver", ""),
        params,
        HTTP_X_TWILIO_SIGNATURE=twilio_signature("tok", url, params),
    )
    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered"
