from audiences.models import Customer
from channels_app.models import Message
from channels_app.services import channel_create
from tests.isolation import isolation_case, isolation_list


def _channel(workspace):
    return channel_create(
        workspace=workspace,
        channel="sms",
        provider="twilio",
        name="secret-channel-name",
        credentials={"account_sid": "ACsecret", "auth_token": "tok-secret", "from": "+15550001"},
    )


@isolation_case("channel-detail", "channel-test", "channel-templates")
@isolation_list("channel-list")
def channel(workspace):
    config = _channel(workspace)
    return {"pk": config.pk}, ["secret-channel-name", "ACsecret", "tok-secret"]


def _message(workspace):
    customer = Customer.objects.for_workspace(workspace).create(
        workspace=workspace, external_id="secret-customer", email="secret@example.com"
    )
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace,
        customer=customer,
        channel="in_app",
        to="secret-customer",
        content={"title": "secret-title", "body": "secret-body"},
        status="delivered",
    )
    return customer, message


@isolation_case("message-detail", "message-status")
@isolation_list("message-list")
def message(workspace):
    _, msg = _message(workspace)
    return {"pk": msg.pk}, ["secret-title", "secret-body", "secret-customer"]


@isolation_case("customer-inbox")
def inbox(workspace):
    customer, _ = _message(workspace)
    return {"external_id": customer.external_id}, ["secret-title", "secret-body"]


@isolation_case("customer-inbox-read")
def inbox_read(workspace):
    customer, msg = _message(workspace)
    return {"external_id": customer.external_id, "pk": msg.pk}, ["secret-title", "secret-body"]
