"""Event webhooks, their deliveries, and how far the fan-out has read each source table."""

from __future__ import annotations

from django.db import models

from workspaces.models import WorkspaceModel

# Every event a webhook can subscribe to, with what it means: the API validates against these
# and lists them (GET /event-webhooks/event-types), and Settings offers them from that list.
EVENT_TYPE_DESCRIPTIONS = {
    "message.sent": "A message left Waymark for its provider.",
    "message.delivered": "The provider reported a message delivered.",
    "message.opened": "A customer opened a message.",
    "message.clicked": "A customer clicked a tracked link in a message.",
    "message.replied": "A customer replied to a message.",
    "message.bounced": "A message bounced.",
    "message.failed": "A message could not be sent.",
    "journey.entered": "A customer entered a journey.",
    "journey.completed": "A customer reached the end of a journey.",
    "journey.exited": "A customer left a journey before its end (an exit condition, a stop).",
    "goal.converted": "A customer in a journey reached one of its goals.",
    "customer.unsubscribed": "A customer opted out of a channel or topic.",
    "experiment.decided": "A split experiment picked its winning path.",
}
EVENT_TYPES = tuple(EVENT_TYPE_DESCRIPTIONS)
TEST_EVENT = "webhook.test"
# The `type` of a POST that carries several events (a webhook's batch_size > 1).
BATCH_EVENT = "batch"
# Events one POST may carry: ~500 bytes each, so a batch stays well under 100 KB.
MAX_BATCH_SIZE = 100


class EventWebhook(WorkspaceModel):
    """A URL that receives the workspace's events of the types in `events`."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # The HMAC key of Waymark-Signature, encrypted at rest like channel credentials.
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Since when every attempt failed (None while the URL answers); 24 hours of it disable it.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True, default="")
    # At most this many pending events go in one POST; 1 (the default) sends each on its own.
    batch_size = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.url} ({self.workspace_id})"


class EventDelivery(WorkspaceModel):
    """One event for one webhook: made once (unique event id per webhook), attempted until the
    receiver answers 2xx or the retry window ends."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    webhook = models.ForeignKey(EventWebhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=32)
    payload = models.JSONField()  # {"id", "type", "created_at", "data"}: the body sent
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The `id` of the batch POST that last carried this event ('' when it went on its own).
    batch_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event_id"], name="event_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="event_delivery_due",
            )
        ]


class FanoutCursor(models.Model):
    """How far a source table (step events, delivery events) has been turned into deliveries:
    every row with id <= closed_id has been. One row per source for the installation."""

    source = models.CharField(max_length=64, primary_key=True)
    closed_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.source} fanned out to id {self.closed_id}"
