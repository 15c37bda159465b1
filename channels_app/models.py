"""Channels: per-workspace provider configs (credentials encrypted), messages and their receipts."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from audiences.models import Customer
from journeys.models import Enrollment, Journey
from workspaces.models import WorkspaceModel

from .rendering import CONFIG_CHANNELS


class ChannelConfig(WorkspaceModel):
    channel = models.CharField(max_length=32, choices=[(c, c) for c in CONFIG_CHANNELS])
    provider = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    # Fernet token of the credentials JSON (channels_app.crypto); never returned by the API.
    credentials_encrypted = models.TextField(blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    # Sends per second through this config (Redis token bucket); null means unlimited.
    rate_per_second = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel"],
                condition=models.Q(is_default=True),
                name="channel_config_one_default_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel}/{self.provider})"


class Message(WorkspaceModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        DELIVERED = "delivered"
        OPENED = "opened"
        READ = "read"
        CLICKED = "clicked"
        REPLIED = "replied"
        FAILED = "failed"
        BOUNCED = "bounced"

    # Sends update every index of this table per row, so indexes the composite ones below already
    # lead with (workspace; customer) are left out.
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Erasing a customer erases their messages (content and address are personal data); an
    # enrollment or journey that goes away leaves the message for analytics.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    enrollment = models.ForeignKey(
        Enrollment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    step_seq = models.PositiveIntegerField(null=True, blank=True)
    journey = models.ForeignKey(
        Journey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(null=True, blank=True)  # the journey version number
    node_id = models.CharField(max_length=100, blank=True, default="")
    key = models.CharField(max_length=200, blank=True, default="")  # a keyed journey's pass key
    channel_config = models.ForeignKey(
        ChannelConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=32)
    provider = models.CharField(max_length=32, blank=True, default="")
    to = models.TextField(blank=True, default="")
    # Push: [{"platform", "token"}] resolved at creation; other channels: [to].
    targets = models.JSONField(default=list, blank=True)
    content = models.JSONField(default=dict, blank=True)  # as rendered
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # marketing (counted by frequency caps, held by quiet hours and opt-outs) or transactional.
    category = models.CharField(max_length=16, default="marketing", db_default="marketing")
    topic = models.CharField(max_length=64, blank=True, default="", db_default="")  # the node's topic key
    # The content.locales key the content came from ("" for the top-level fields).
    locale = models.CharField(max_length=32, blank=True, default="", db_default="")
    # The id of the node's variant this message sent (config.variants); null (JSON null in the
    # API) when the node has no variants, and added without rewriting the table.
    variant = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    error = models.CharField(
        max_length=255, blank=True, default=""
    )  # a reason code, e.g. unsubscribed
    error_detail = models.TextField(blank=True, default="")
    # {"status", "until"} when the journey waits for a receipt; the status reaching it signals.
    awaiting = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A retried step never sends twice.
            models.UniqueConstraint(
                fields=["enrollment", "step_seq"],
                condition=models.Q(enrollment__isnull=False),
                name="message_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "journey", "node_id"], name="message_journey_node"),
            # Frequency caps count a customer's recent messages; the inbox lists them.
            models.Index(fields=["customer", "created_at"], name="message_customer_created"),
            models.Index(fields=["workspace", "provider_message_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} message {self.pk} ({self.status})"


class DeliveryEvent(WorkspaceModel):
    """The append-only history of a message's statuses, with where each came from."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    # A message's statuses, and `saved`: a wallet pass it carried was added to a wallet (an Apple
    # device registered it, or Google said it was saved); it moves no message status.
    SAVED = "saved"
    status = models.CharField(max_length=16, choices=[*Message.Status.choices, (SAVED, "Saved")])
    source = models.CharField(
        max_length=32
    )  # send, api, twilio, whatsapp, fcm, pixel, click, inbox, apple_wallet, google_wallet…
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["message", "at"], name="delivery_event_message_at")]


class SuppressedAddress(WorkspaceModel):
    """An address the provider said cannot take mail (hard bounce, block) or whose owner marked
    mail as spam: later sends to it fail at once with `undeliverable` instead of hurting the
    sender's reputation again. Deleting the row lifts it."""

    class Reason(models.TextChoices):
        BOUNCE = "bounce"
        BLOCKED = "blocked"
        COMPLAINT = "complaint"

    channel = models.CharField(max_length=32)
    address = models.CharField(max_length=320)  # as sent (Message.to), compared case-folded
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=255, blank=True, default="")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "address"], name="suppressed_address_unique"
            ),
        ]


class WebhookCall(WorkspaceModel):
    """One webhook node visit's call: the unique (enrollment, step_seq) key makes "called once" a
    database fact (a redelivered or duplicated task finds the row finished, or locked and skips),
    and the row carries the rendered request, so tasks only take its id."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its (next) attempt
        OK = "ok"
        FAILED = "failed"

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    step_seq = models.PositiveIntegerField()
    # The request holds rendered personal data, so erasing the customer erases the call.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    node_id = models.CharField(max_length=100, blank=True, default="")
    request = models.JSONField(default=dict)  # {method, url, headers, body, timeout_seconds, …}
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step_seq"], name="webhook_call_idempotency_key"
            ),
        ]

    def __str__(self) -> str:
        return f"webhook call {self.pk} ({self.status})"


class WalletPass(WorkspaceModel):
    """One customer's pass of one template of a wallet channel: its serial number is what Wallet
    asks for again; `updated_at` moves only when the rendered pass changes (Last-Modified and the
    web service's passesUpdatedSince read it). The authentication token is not stored: it is an
    HMAC of the serial number under the workspace's key (channels_app/services/wallet_passes.py)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel_config = models.ForeignKey(ChannelConfig, on_delete=models.CASCADE, related_name="+")
    template_key = models.CharField(max_length=40)
    serial_number = models.CharField(max_length=64, unique=True)
    content_hash = models.CharField(max_length=64, blank=True, default="")
    # The content_hash the holder's wallet last got (the pass or Save link it was given, or a
    # push / object update since): content past it is pushed (Apple) or patched (Google).
    notified_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The message that last carried a link to the pass: its save is recorded on that message.
    last_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel_config", "customer", "template_key"],
                name="wallet_pass_one_per_customer_template",
            ),
        ]


class WalletRegistration(WorkspaceModel):
    """A device that installed a pass and asked for its updates (PassKit web service)."""

    wallet_pass = models.ForeignKey(WalletPass, on_delete=models.CASCADE, related_name="+")
    device_library_identifier = models.CharField(max_length=128)
    # Copied from the channel's (encrypted) credentials when the device registers: a device asks
    # for its serial numbers by pass type.
    pass_type_identifier = models.CharField(max_length=128)
    push_token = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wallet_pass", "device_library_identifier"],
                name="wallet_registration_one_per_device",
            ),
        ]
        indexes = [
            models.Index(
                fields=["device_library_identifier", "pass_type_identifier"],
                name="wallet_registration_device",
            )
        ]
