"""Channel configs: create, update and delete a workspace's provider setups, and resolve the
config (and provider) a message goes out through."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from workspaces.errors import ServiceValidationError
from workspaces.models import Workspace

from ..crypto import credentials_decrypt, credentials_encrypt
from ..models import ChannelConfig
from ..providers import PROVIDERS, Provider


def _config_errors(
    channel: str, provider: str, credentials: Any, settings: Any
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    cls = PROVIDERS.get(provider)
    if cls is None or provider == "in_app":
        names = ", ".join(k for k in PROVIDERS if k != "in_app")
        return {"provider": [f"Must be one of {names}."]}
    if channel not in cls.channels:
        errors["provider"] = [f"{provider} cannot send {channel}."]
    errors.update(cls.credential_errors(credentials))
    if settings is not None and not isinstance(settings, dict):
        errors["settings"] = ["Must be an object."]
    else:
        errors.update(cls.settings_errors(settings or {}))
        if provider == "smtp" and not (settings or {}).get("from_email"):
            errors["settings.from_email"] = ["SMTP needs a from_email setting."]
    return errors


def _default_set(config: ChannelConfig) -> None:
    ChannelConfig.objects.for_workspace(config.workspace_id).filter(
        channel=config.channel, is_default=True
    ).exclude(pk=config.pk).update(is_default=False)


@transaction.atomic
def channel_create(
    *,
    workspace: Workspace,
    channel: str,
    provider: str,
    name: str,
    credentials: dict | None = None,
    settings: dict | None = None,
    is_default: bool | None = None,
    rate_per_second: int | None = None,
) -> ChannelConfig:
    credentials = credentials or {}
    errors = _config_errors(channel, provider, credentials, settings)
    if errors:
        raise ServiceValidationError(errors)
    credentials, settings = PROVIDERS[provider].config_complete(credentials, settings or {})
    first = not ChannelConfig.objects.for_workspace(workspace).filter(channel=channel).exists()
    config = ChannelConfig(
        workspace=workspace,
        channel=channel,
        provider=provider,
        name=name,
        credentials_encrypted=credentials_encrypt(credentials),
        settings=settings or {},
        is_default=first if is_default is None else is_default,
        rate_per_second=rate_per_second,
    )
    if config.is_default:
        _default_set(config)
    config.save()
    return config


@transaction.atomic
def channel_update(
    *,
    config: ChannelConfig,
    name: str,
    provider: str,
    credentials: dict | None = None,
    settings: dict | None = None,
    is_default: bool | None = None,
    rate_per_second: int | None = None,
) -> ChannelConfig:
    """A PUT; credentials are write-only, so leaving them out keeps the stored ones."""
    config = (
        ChannelConfig.objects.for_workspace(config.workspace_id)
        .select_for_update()
        .get(pk=config.pk)
    )
    if credentials is None:
        if provider != config.provider:
            raise ServiceValidationError({"credentials": ["Changing the provider needs its credentials."]})
        credentials = credentials_decrypt(config.credentials_encrypted)
    errors = _config_errors(config.channel, provider, credentials, settings)
    if errors:
        raise ServiceValidationError(errors)
    credentials, settings = PROVIDERS[provider].config_complete(credentials, settings or {})
    config.name = name
    config.provider = provider
    config.credentials_encrypted = credentials_encrypt(credentials)
    config.settings = settings or {}
    config.rate_per_second = rate_per_second
    if is_default is not None:
        config.is_default = is_default
    if config.is_default:
        _default_set(config)
    config.save()
    return config


def channel_delete(*, config: ChannelConfig) -> None:
    config.delete()


def provider_for(config: ChannelConfig | None, channel: str) -> Provider:
    if config is None:  # only in-app works without a config: its inbox is our own table
        return PROVIDERS["in_app"]({}, {})
    return PROVIDERS[config.provider](
        credentials_decrypt(config.credentials_encrypted), config.settings
    )


def channel_config_resolve(
    *, workspace_id: int, channel: str, channel_id: int | None
) -> ChannelConfig | None:
    configs = ChannelConfig.objects.for_workspace(workspace_id).filter(channel=channel)
    if channel_id is not None:
        return configs.filter(pk=channel_id).first()
    return configs.filter(is_default=True).first()
