"""Delivery results of the Kakao dealers, which report by being asked: poll sent messages in
batches, record delivered or failed with the dealer's reason, and an SMS/LMS failover."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import ChannelConfig, Message
from ..providers import PROVIDERS, SendResult
from .channels import provider_for
from .receipts import message_receipt

POLL_BATCH = 200  # messages asked about per run (each is one dealer call)
POLL_WINDOW = timedelta(days=3)  # the dealers keep results longer; a result this late is lost
POLLED_PROVIDERS = tuple(key for key, cls in PROVIDERS.items() if hasattr(cls, "outcome"))


def dealer_results_poll(*, limit: int = POLL_BATCH) -> dict:
    """Asks the dealers about messages still `sent` (oldest first) and records what they say."""
    since = timezone.now() - POLL_WINDOW
    pending = list(
        Message.objects.unscoped()
        .filter(provider__in=POLLED_PROVIDERS, status=Message.Status.SENT, sent_at__gte=since)
        .exclude(provider_message_id="")
        .order_by("sent_at")[:limit]
    )
    configs = ChannelConfig.objects.unscoped().in_bulk({m.channel_config_id for m in pending})
    counts = {"delivered": 0, "failed": 0, "pending": 0}
    for message in pending:
        config = configs.get(message.channel_config_id)
        if config is None or config.workspace_id != message.workspace_id:
            continue
        provider = provider_for(config, message.channel)
        results = provider.results(message.channel, message.provider_message_id)
        outcome = None
        if not isinstance(results, SendResult) and results:
            outcome = provider.outcome(results[0])
        if outcome is None:  # in flight, or the dealer did not answer: ask again next run
            counts["pending"] += 1
            continue
        status, reason, failover = outcome
        _outcome_record(message, status=status, reason=reason, failover=failover)
        counts[status] += 1
    return counts


def _outcome_record(message: Message, *, status: str, reason: str, failover: str) -> None:
    with transaction.atomic():
        if failover:
            # KakaoTalk could not deliver; the dealer sent the SMS/LMS instead.
            Message.objects.for_workspace(message.workspace_id).filter(pk=message.pk).update(
                content={**message.content, "failover": failover}
            )
        message_receipt(
            message=message,
            status=status,
            source="dealer_poll",
            error=reason if status == "failed" else "",
            data={k: v for k, v in (("reason", reason), ("failover", failover)) if v},
        )
