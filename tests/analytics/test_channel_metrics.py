"""Per-channel metrics as the providers report them: RCS reads through RBM's signed webhook, RCS
sent as SMS to a phone without RCS, SendGrid bounces through its signed Event Webhook, and wallet
passes saved (a device registering the pass with the PassKit web service); per channel and
provider for the workspace (GET /analytics/channels) and per message node on a journey's
dashboard (the rollups)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics.services import rollups_refresh
from channels_app.models import DeliveryEvent, Message, WalletPass
from channels_app.services import (
    MessageStep,
    channel_create,
    channel_test_send,
    message_prepare,
    messages_send,
)
from channels_app.services.wallet_passes import (
    authentication_token,
    wallet_pass_issue,
    wallet_passes_linked,
)
from tests.channels.conftest import (
    http_server,  # noqa: F401  (fixture: the local providers)
    make_customer,
)
from tests.channels.test_rbm import (
    PHONE,
    _hook,
    rbm,  # noqa: F401  (fixture: the local RBM)
)
from tests.channels.test_rbm import _channel as rbm_channel
from tests.channels.test_sendgrid import _channel as sendgrid_channel
from tests.channels.test_sendgrid import _post_events, sendgrid, signing_key  # noqa: F401
from tests.channels.wallet_certs import PASS_TYPE, chain_make, credentials_for, wallet_settings
from tests.conftest import make_client
from workspaces.models import Role

pytestmark = pytest.mark.django_db

NO_RCS = "+15557654321"


def _fallback_ready(workspace, server):
    """An RBM channel that sends SMS to phones without RCS, and the SMS channel it sends through."""
    server.route("GET", f"/v1/phones/{PHONE}/capabilities", 200, {"features": []})
    server.route("GET", f"/v1/phones/{NO_RCS}/capabilities", 404, {"error": {"code": 404}})
    server.route("POST", "/2010-04-01/Accounts/AC1/Messages.json", 201, {"sid": "SM1"})
    channel_create(
        workspace=workspace, channel="sms", provider="twilio", name="SMS",
        credentials={"account_sid": "AC1", "auth_token": "t", "from": "+1555", "base_url": server.url},
    )
    return rbm_channel(workspace, server, {"fallback": "sms"})


@pytest.fixture(scope="module")
def chain():
    return chain_make()


def _wallet(workspace, chain):
    return channel_create(
        workspace=workspace, channel="wallet", provider="apple_wallet", name="Passes",
        credentials=credentials_for(chain), settings=wallet_settings(),
    )


def _device_adds(workspace, wallet_pass: WalletPass, device: str) -> None:
    """A phone adds the pass: Wallet registers the device with the pass's web service (PassKit),
    which records `saved` on the message that carried the pass."""
    token = authentication_token(wallet_pass.serial_number, workspace.signing_secret)
    answer = Client().post(
        f"/wallet/v1/devices/{device}/registrations/{PASS_TYPE}/{wallet_pass.serial_number}",
        '{"pushToken": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}', content_type="application/json",
        HTTP_AUTHORIZATION=f"ApplePass {token}",
    )
    assert answer.status_code == 201, answer.content


def _rows(api, **query) -> dict:
    answer = api.get("/api/v1/analytics/channels", query)
    assert answer.status_code == 200, answer.content
    return {(r["channel"], r["provider"]): r for r in answer.json()["results"]}


def test_channel_metrics_count_rcs_reads_and_fallback_sendgrid_bounces_and_saved_passes(
    api, workspace, other_workspace, rbm, signing_key, chain  # noqa: F811
):
    config = _fallback_ready(workspace, rbm)
    read = channel_test_send(config=config, to=PHONE, content={"text": "Your order shipped"})
    unread = channel_test_send(config=config, to=PHONE, content={"text": "Still there?"})
    moved = channel_test_send(config=config, to=NO_RCS, content={"text": "Shipped"})
    assert (read.status, unread.status, moved.status) == ("sent", "sent", "sent")
    assert moved.content["failover"] == "sms"
    answer = _hook(api, config, {"eventType": "READ", "messageId": f"waymark-{read.pk}", "eventId": "e1"})
    assert answer.status_code == 200

    rbm.route("POST", "/v3/mail/send", 202, None, headers={"X-Message-Id": "sg-1"})
    mail = sendgrid_channel(workspace, rbm, signing_key)
    bounced = channel_test_send(config=mail, to="gone@example.com", content={"subject": "Hi", "text": "Hi"})
    _wallet(workspace, chain)
    ada = make_customer(workspace, "ada", email="ada@example.com", attributes={"first_name": "Ada"})
    carried = message_prepare(step=MessageStep(
        workspace=workspace, customer=ada, node_id="m",
        config={"channel": "email", "channel_id": mail.pk,
                "content": {"subject": "Your card", "text": "{{ wallet.loyalty.apple_url }}"}},
    ))
    assert carried.kind == "queued", carried.reason
    messages_send(message_ids=[carried.message.pk], workspace_id=workspace.pk)
    carried.message.refresh_from_db()
    assert (carried.message.status, carried.message.provider) == ("sent", "sendgrid"), (carried.message.error, carried.message.error_detail)
    events = [{"event": "bounce", "type": "bounce", "reason": "550 no such user",
               "waymark_message_id": str(bounced.pk), "timestamp": int(timezone.now().timestamp())}]
    assert _post_events(mail, events, signing_key).status_code == 200
    _device_adds(workspace, WalletPass.objects.for_workspace(workspace).get(), "device-one")

    rows = _rows(api)
    rcs = rows[("rcs", "rbm")]
    assert {k: rcs[k] for k in ("sent", "delivered", "read", "bounced", "failover", "saved")} == {
        "sent": 3, "delivered": 1, "read": 1, "bounced": 0, "failover": 1, "saved": 0,
    }
    assert rcs["read_rate"] == 1.0 and rcs["failover_rate"] == round(1 / 3, 4)
    email = rows[("email", "sendgrid")]
    assert {k: email[k] for k in ("sent", "delivered", "read", "bounced", "failover", "saved")} == {
        "sent": 2, "delivered": 0, "read": 0, "bounced": 1, "failover": 0, "saved": 1,
    }
    assert email["bounce_rate"] == 0.5
    assert set(rows) == {("rcs", "rbm"), ("email", "sendgrid")}  # the fallback SMS is the RCS message's

    # Days are the workspace's; another workspace sees none of it.
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()
    assert _rows(api, **{"from": tomorrow}) == {}
    assert _rows(api, **{"to": tomorrow})[("email", "sendgrid")]["bounced"] == 1
    assert _rows(make_client(other_workspace, Role.VIEWER)) == {}
    assert api.get("/api/v1/analytics/channels", {"from": "soon"}).status_code == 400


def test_journey_dashboard_counts_rcs_fallback_and_saved_passes_per_node(api, workspace, rbm, chain):  # noqa: F811
    config = _fallback_ready(workspace, rbm)
    ada = make_customer(workspace, "ada", phone=PHONE, attributes={"first_name": "Ada"})
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "rcs", "type": "message", "config": {"channel": "rcs", "content": {"text": "Shipped"}}},
        ],
        "edges": [{"source": "start", "source_handle": "next", "target": "rcs"}],
    }
    journey = api.post("/api/v1/journeys", {"name": "Ship", "graph": graph, "settings": {"entry": {"type": "api"}}},
                       format="json").json()
    messages = [
        Message.objects.for_workspace(workspace).create(
            workspace=workspace, customer=ada, journey_id=journey["id"], version=1, node_id="rcs", channel="rcs",
            channel_config=config, provider="rbm", to=to, targets=[to], content={"text": "Shipped"},
        )
        for to in (PHONE, NO_RCS, NO_RCS)
    ]
    messages_send(message_ids=[m.pk for m in messages], workspace_id=workspace.pk)
    assert [m.status for m in Message.objects.for_workspace(workspace).order_by("pk")] == ["sent"] * 3
    # The first message carried Ada's pass; two of her phones add it: one save of one message.
    wallet_pass = wallet_pass_issue(workspace=workspace, customer=ada, config=_wallet(workspace, chain),
                                    template_key="loyalty")
    wallet_passes_linked(message=messages[0], content="Your card: {{ wallet.loyalty.apple_url }}")
    _device_adds(workspace, wallet_pass, "phone")
    _device_adds(workspace, wallet_pass, "tablet")
    assert DeliveryEvent.objects.for_workspace(workspace).filter(status=DeliveryEvent.SAVED).count() == 1
    rollups_refresh()

    answer = api.get(f"/api/v1/journeys/{journey['id']}/analytics")
    node = next(n for n in answer.json()["nodes"] if n["node_id"] == "rcs")
    assert {k: node["messages"][k] for k in ("sent", "failover", "saved")} == {"sent": 3, "failover": 2, "saved": 1}
    events = DeliveryEvent.objects.for_workspace(workspace).filter(message=messages[1], status="sent")
    assert [e.data for e in events] == [{"failover": "sms"}]
