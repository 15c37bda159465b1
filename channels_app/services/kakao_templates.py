"""AlimTalk templates, which the Kakao dealers keep (Kakao reviews each one): list a channel's
templates from its dealer, and submit a new one for review."""

from __future__ import annotations

from rest_framework import status

from workspaces.errors import ServiceError, ServiceValidationError

from .. import kakao
from ..models import ChannelConfig
from ..providers import SendResult
from .channels import provider_for


class DealerRefused(ServiceError):
    """502: the dealer could not be reached or said no; the message carries its reason."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "dealer_error"


def _dealer(config: ChannelConfig):
    provider = provider_for(config, config.channel)
    if config.channel != kakao.ALIMTALK or not hasattr(provider, "templates_list"):
        raise ServiceValidationError(
            {
                "channel": [
                    "Templates are kept by a Kakao dealer: use a kakao_alimtalk channel "
                    "of ncloud_sens or nhn_bizmessage."
                ]
            }
        )
    return provider


def channel_templates(*, config: ChannelConfig) -> list[dict]:
    templates = _dealer(config).templates_list()
    if isinstance(templates, SendResult):
        raise DealerRefused(templates.detail or templates.error)
    return templates


def channel_template_register(*, config: ChannelConfig, data) -> dict:
    """Submits `data` ({code, name, text, buttons?, emphasize_type?, its parts}) for review; it is `pending` until approved."""
    provider = _dealer(config)
    if errors := kakao.template_errors(data):
        raise ServiceValidationError(errors)
    result = provider.template_register(data)
    if not result.ok:
        raise DealerRefused(result.detail or result.error)
    return kakao.template_view(
        data["code"], data["name"], data["text"], "", data.get("buttons") or [],
        {"emphasize_type": kakao.emphasize_type(data), **kakao.emphasis(data)},
    )
