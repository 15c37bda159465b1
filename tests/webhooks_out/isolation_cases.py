from tests.isolation import isolation_case, isolation_list
from webhooks_out.services import event_webhook_create


@isolation_case("event-webhook-detail", "event-webhook-test", "event-webhook-deliveries")
@isolation_list("event-webhook-list")
def event_webhook(workspace):
    webhook, _ = event_webhook_create(
        workspace=workspace,
        url="http://127.0.0.1:9/hidden-webhook-target",
        events=["message.sent"],
        description="hidden-webhook-description",
    )
    return {"pk": webhook.pk}, ["hidden-webhook-target", "hidden-webhook-description"]
