"""Writes for channels, one module per job; the public names are re-exported here so callers
import them from `channels_app.services` whatever module holds them."""

from .channels import (
    channel_config_resolve,
    channel_create,
    channel_delete,
    channel_update,
    provider_for,
)
from .consent import quiet_hours_end
from .dealer_results import dealer_results_poll
from .enqueue import SEND_BATCH, messages_enqueue, webhook_call_enqueue
from .kakao_templates import channel_template_register, channel_templates
from .preferences import customer_unsubscribe, preferences_for, preferences_save
from .prepare import MessageStep, StepOutcome, message_prepare
from .previews import channel_test_send, content_render_checked, message_preview
from .receipts import (
    FINAL_FAILURES,
    IMPLIES,
    RANK,
    RECEIPT_STATUSES,
    awaited_reached,
    inbox_read,
    message_receipt,
)
from .sending import (
    MAX_SEND_ATTEMPTS,
    RETRY_BACKOFF_SECONDS,
    SEND_BUDGET_SECONDS,
    messages_send,
    messages_send_batch,
    push_tokens_invalidate,
)
from .suppressions import address_suppress, address_suppressed, esp_events_record
from .wallet_passes import wallet_passes_update
from .webhooks import (
    WebhookOutcome,
    webhook_backoff,
    webhook_call_attempt,
    webhook_call_prepare,
    webhook_request,
)

__all__ = [
    "FINAL_FAILURES",
    "IMPLIES",
    "MAX_SEND_ATTEMPTS",
    "RANK",
    "RECEIPT_STATUSES",
    "RETRY_BACKOFF_SECONDS",
    "SEND_BATCH",
    "SEND_BUDGET_SECONDS",
    "MessageStep",
    "StepOutcome",
    "WebhookOutcome",
    "address_suppress",
    "address_suppressed",
    "awaited_reached",
    "channel_config_resolve",
    "channel_create",
    "channel_delete",
    "channel_template_register",
    "channel_templates",
    "channel_test_send",
    "channel_update",
    "content_render_checked",
    "customer_unsubscribe",
    "dealer_results_poll",
    "esp_events_record",
    "inbox_read",
    "message_prepare",
    "message_preview",
    "preferences_for",
    "preferences_save",
    "message_receipt",
    "messages_enqueue",
    "messages_send",
    "messages_send_batch",
    "provider_for",
    "push_tokens_invalidate",
    "quiet_hours_end",
    "wallet_passes_update",
    "webhook_backoff",
    "webhook_call_attempt",
    "webhook_call_enqueue",
    "webhook_call_prepare",
    "webhook_request",
]
