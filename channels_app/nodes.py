"""The message and webhook node types (registered into journeys.nodes.base.REGISTRY)."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

import templating
from audiences.topics import TOPIC_KEY_RE, topic_get
from journeys.experiments import experiment_node_register
from journeys.fields import (
    current_workspace,
    duration_errors,
    is_int,
    is_number,
    nonempty_str,
    unique_ids_errors,
    unknown_keys,
)
from journeys.nodes import describe
from journeys.nodes.base import ConfigError, NodeType, Result, register
from journeys.nodes.split import experiment_errors

from . import kakao, locales, rendering
from .guard import header_forbidden

AWAIT_STATUSES = ("delivered", "opened", "read", "clicked", "replied")
# Which receipts each channel can produce, so an `await` cannot wait for what never comes
# (an SMS is never "opened"; a push has no "replied").
CHANNEL_AWAITABLE: dict[str, tuple[str, ...]] = {
    "email": ("delivered", "opened", "clicked", "replied"),
    "sms": ("delivered", "clicked", "replied"),
    "push": ("delivered", "opened", "clicked"),
    "whatsapp": ("delivered", "read", "clicked", "replied"),
    "rcs": ("delivered", "read", "clicked", "replied"),
    "telegram": ("delivered", "clicked", "replied"),
    "kakao_alimtalk": ("delivered", "read", "clicked"),
    "kakao_friendtalk": ("delivered", "read", "clicked"),
    "in_app": ("delivered", "read", "clicked"),
}
CHANNEL_LABELS = {
    "email": "Email",
    "sms": "SMS",
    "push": "Push",
    "whatsapp": "WhatsApp",
    "rcs": "RCS",
    "telegram": "Telegram",
    "kakao_alimtalk": "Kakao Alimtalk",
    "kakao_friendtalk": "Kakao Friendtalk",
    "in_app": "In-app",
}
# API.md: transactional messages ignore caps, quiet hours and topic opt-outs; marketing is default.
CATEGORIES = ("marketing", "transactional")
# Message variants (A/B/n content): each customer gets one, sticky, by percent.
MIN_VARIANTS, MAX_VARIANTS = 2, 10
# Besides the journey's goals, a message experiment may be won by the receipt rate.
EXPERIMENT_RECEIPTS = ("opened", "clicked")


def _article(label: str) -> str:
    """'an Email', 'an SMS' (es-em-es), 'a WhatsApp': by how the name is said."""
    return "an" if label[0] in "AEIOU" or label in ("SMS", "RCS") else "a"


WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_WEBHOOK_TIMEOUT = 30  # seconds: a worker thread is held for the whole call
MAX_WEBHOOK_RETRIES = 5


def _channel_config_errors(channel_id: Any, channel: Any) -> list[ConfigError]:
    if channel_id is None:
        return []
    if not is_int(channel_id):
        return [ConfigError("channel_id", "Must be a channel id (integer).")]
    workspace = current_workspace()
    if workspace is None:
        return []
    from .models import ChannelConfig

    found = (
        ChannelConfig.objects.for_workspace(workspace)
        .filter(pk=channel_id)
        .values_list("channel", flat=True)
        .first()
    )
    if found is None:
        return [ConfigError("channel_id", "No such channel in this workspace.")]
    if isinstance(channel, str) and found != channel:
        return [ConfigError("channel_id", f"That channel sends {found}, not {channel}.")]
    return []


def _consent_errors(category: Any, topic: Any) -> list[ConfigError]:
    errors = []
    if category is not None and category not in CATEGORIES:
        errors.append(ConfigError("category", f"Must be one of {', '.join(CATEGORIES)}."))
    if topic is None:
        return errors
    if not isinstance(topic, str) or not TOPIC_KEY_RE.match(topic):
        return [*errors, ConfigError("topic", "Must be a topic key.")]
    workspace = current_workspace()
    if workspace is not None and topic_get(workspace=workspace, key=topic) is None:
        errors.append(ConfigError("topic", f"No topic {topic!r} in this workspace."))
    return errors


def _default_channel_errors(channel: Any) -> list[ConfigError]:
    """A message without channel_id sends through the workspace's default for its channel: with
    none set up every send would fail (no_channel_configured), so it cannot be published."""
    workspace = current_workspace()
    if workspace is None or channel not in CHANNEL_LABELS or channel == "in_app":
        return []
    from .services import channel_config_resolve

    if (
        channel_config_resolve(workspace_id=workspace.pk, channel=channel, channel_id=None)
        is not None
    ):
        return []
    return [
        ConfigError(
            "channel",
            f"No {CHANNEL_LABELS[channel]} channel set up: add one in Channels, or every send fails.",
        )
    ]


def _brand_message_errors(config: dict, channel: Any) -> list[ConfigError]:
    """A Brand Message goes through a FriendTalk channel set up for it (NHN Cloud, setting
    product: brand_message); any other channel would send it as a plain FriendTalk."""
    workspace = current_workspace()
    wanted = any(
        isinstance(c, dict) and c.get("product") == kakao.BRAND_MESSAGE
        for c in message_contents(config)
    )
    if workspace is None or channel != kakao.FRIENDTALK or not wanted:
        return []
    from .services import channel_config_resolve

    channel_id = config.get("channel_id")
    found = channel_config_resolve(
        workspace_id=workspace.pk,
        channel=channel,
        channel_id=channel_id if is_int(channel_id) else None,
    )
    if found is None or (found.settings or {}).get("product") == kakao.BRAND_MESSAGE:
        return []  # no channel at all is said on channel / channel_id already
    return [
        ConfigError(
            "channel_id",
            f"“{found.name}” sends FriendTalk, not Brand Message: pick a channel set up for "
            "Brand Message (NHN Cloud, product brand_message).",
        )
    ]


def message_contents(config: dict) -> list[Any]:
    """The contents a message node can send: its variants' or its one content."""
    variants = config.get("variants")
    if isinstance(variants, list):
        return [v.get("content") for v in variants if isinstance(v, dict)]
    return [config.get("content")]


def _content_errors(channel: str, content: Any, field: str) -> list[ConfigError]:
    problems = locales.content_errors(channel, content)
    if not problems and isinstance(content, dict):
        workspace = current_workspace()
        problems = locales.static_limit_errors(channel, content, getattr(workspace, "settings", None))
    return [ConfigError(f"{field}.{f}" if f else field, m) for f, m in problems]


def _variants_errors(channel: str, variants: Any) -> list[ConfigError]:
    if not isinstance(variants, list) or not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        return [ConfigError("variants", f"Must be a list of {MIN_VARIANTS}–{MAX_VARIANTS} variants.")]
    errors = unique_ids_errors(variants, "variants")
    total, all_whole = 0, True
    for i, variant in enumerate(variants):
        if not isinstance(variant, dict):
            all_whole = False
            continue
        errors += unknown_keys(variant, {"id", "name", "percent", "content"}, f"variants.{i}")
        if "name" in variant and not isinstance(variant["name"], str):
            errors.append(ConfigError(f"variants.{i}.name", "Must be a string."))
        percent = variant.get("percent")
        if not is_int(percent) or not 1 <= percent <= 100:
            errors.append(ConfigError(f"variants.{i}.percent", "Must be a whole number from 1 to 100."))
            all_whole = False
        else:
            total += percent
        if variant.get("content") is None:
            errors.append(ConfigError(f"variants.{i}.content", "Content is required."))
        else:
            errors += _content_errors(channel, variant["content"], f"variants.{i}.content")
    if all_whole and total != 100:
        errors.append(ConfigError("variants", f"Percents must sum to 100 (they sum to {total})."))
    return errors


@register
class MessageNode(NodeType):
    type = "message"
    label = "Message"
    category = "channel"
    sends_messages = True
    default_config: ClassVar[dict] = {"channel": "email", "content": {"subject": "", "html": ""}}

    # GET /node-types: one palette entry per channel, its required content fields empty.
    icon = "MSG"
    description = "Send a message"
    config_schema: ClassVar[dict] = describe.object_schema(
        {
            "channel": {"enum": list(rendering.CHANNELS), "title": "Channel"},
            "content": {"type": "object", "title": "Content"},
            "variants": {
                "type": "array",
                "title": "Variants (instead of content)",
                "minItems": MIN_VARIANTS,
                "maxItems": MAX_VARIANTS,
                "items": describe.object_schema(
                    {
                        "id": {"type": "string", "minLength": 1, "maxLength": 100},
                        "name": {"type": "string"},
                        "percent": {"type": "integer", "minimum": 1, "maximum": 100},
                        "content": {"type": "object", "title": "Content"},
                    },
                    ("id", "percent", "content"),
                ),
            },
            "experiment": describe.object_schema(
                {
                    "goal_id": {"type": "string", "minLength": 1, "title": "Goal id, opened or clicked"},
                    "min_per_path": {"type": "integer", "minimum": 1, "default": 100},
                    "decide_after": describe.DURATION,
                    "confidence": {"type": "number", "minimum": 0.5, "exclusiveMaximum": 1, "default": 0.95},
                },
                ("goal_id", "decide_after"),
            ),
            "channel_id": {"type": "integer", "title": "Channel config id"},
            "category": {"enum": list(CATEGORIES), "title": "Category", "default": "marketing"},
            "topic": {"type": "string", "minLength": 1, "maxLength": 64, "title": "Topic key"},
            "await": describe.object_schema(
                {"status": {"enum": list(AWAIT_STATUSES)}, "within": describe.DURATION},
                ("status", "within"),
            ),
        },
        ("channel",),
        # Content or variants, never both (validate says so naming the field).
        anyOf=[{"required": ["content"]}, {"required": ["variants"]}],
    )
    outputs: ClassVar[list[dict]] = [
        {
            "when": {"field": "await", "present": True},
            "handles": [
                {"id": "yes", "label": "{await.status}"},
                {"id": "no", "label": "Not {await.status}"},
                {**describe.FAILED, "unconnected": "no"},
            ],
        },
        {"handles": [describe.NEXT, describe.FAILED_GOES_ON]},
    ]
    presets: ClassVar[list[dict]] = [
        {
            "key": channel,
            "label": label,
            "hint": f"Send {_article(label)} {label} message",
            "config": {
                "channel": channel,
                "content": {
                    **{k: "" for k, f in rendering.CONTENT_SPECS[channel].items() if f.required},
                    **({"platforms": ["android", "ios"]} if channel == "push" else {}),
                },
            },
        }
        for channel, label in CHANNEL_LABELS.items()
    ] + [
        {
            "key": "kakao_brand_message",
            "label": "Kakao Brand Message",
            "hint": "Send a Kakao Brand Message (an ad, to channel friends)",
            "config": {
                "channel": kakao.FRIENDTALK,
                "content": {"text": "", "product": kakao.BRAND_MESSAGE},
            },
        }
    ]

    def validate(
        self, config: dict[str, Any], *, in_journey_settings: dict | None = None
    ) -> list[ConfigError]:
        if not isinstance(config, dict):
            return [ConfigError("", "Must be an object.")]
        errors = unknown_keys(
            config,
            {"channel", "content", "variants", "experiment", "channel_id", "await", "category", "topic"},
        )
        if "experiment" in config:
            if "variants" not in config:
                errors.append(ConfigError("experiment", "An experiment needs variants."))
            errors += experiment_errors(
                config["experiment"], in_journey_settings, also_goals=EXPERIMENT_RECEIPTS
            )
        channel = config.get("channel")
        if channel not in rendering.CHANNELS:
            errors.append(
                ConfigError("channel", f"Must be one of {', '.join(rendering.CHANNELS)}.")
            )
        elif "variants" in config:
            if "content" in config:
                errors.append(
                    ConfigError("content", "Give either content or variants, not both.")
                )
            errors += _variants_errors(channel, config["variants"])
        elif config.get("content") is None:
            errors.append(ConfigError("content", "Content is required."))
        else:
            errors += _content_errors(channel, config["content"], "content")
        errors += _channel_config_errors(config.get("channel_id"), channel)
        errors += _brand_message_errors(config, channel)
        errors += _consent_errors(config.get("category"), config.get("topic"))
        if config.get("category") == "transactional" and any(
            kakao.is_ad(channel, content)  # ads are held at night; transactional is not
            for content in message_contents(config)
            if isinstance(content, dict)
        ):
            errors.append(ConfigError("category", "An ad FriendTalk is marketing (Korea's ad rules)."))
        if config.get("channel_id") is None:
            errors += _default_channel_errors(channel)
        awaited = config.get("await")
        if awaited is not None:
            if not isinstance(awaited, dict):
                errors.append(ConfigError("await", 'Must be {"status", "within"}.'))
            else:
                errors += unknown_keys(awaited, {"status", "within"}, "await")
                allowed = CHANNEL_AWAITABLE.get(channel, AWAIT_STATUSES)
                if awaited.get("status") not in allowed:
                    errors.append(
                        ConfigError("await.status", f"Must be one of {', '.join(allowed)}.")
                    )
                errors += duration_errors(awaited.get("within"), "await.within")
        return errors

    def execute(self, ctx) -> Result:
        from .executors import message_execute

        return message_execute(ctx, self)

    def resume(self, ctx, wake) -> Result:
        from .executors import message_resume

        return message_resume(ctx, wake)


def _variant_experiment_counts(**kwargs):
    from .selectors import variant_experiment_counts  # models load after the registry

    return variant_experiment_counts(**kwargs)


# A message experiment's arms are its variants (journeys.experiments decides the winner).
experiment_node_register("message", arms="variants", counts=_variant_experiment_counts)


def _static_url_error(url: str) -> str | None:
    if templating.has_liquid(url):
        return None  # checked again after rendering, by the outbound guard
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an http(s) URL."
    return None


@register
class WebhookNode(NodeType):
    type = "webhook"
    label = "Webhook"
    category = "channel"
    default_config: ClassVar[dict] = {
        "method": "POST",
        "url": "",
        "headers": {},
        "body": "",
        "timeout_seconds": 10,
        "retries": 2,
    }

    # GET /node-types
    icon = "WH"
    description = "Call an external HTTP endpoint"
    config_schema: ClassVar[dict] = describe.object_schema(
        {
            "method": {"enum": list(WEBHOOK_METHODS), "title": "Method"},
            "url": {"type": "string", "minLength": 1, "title": "URL"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"type": "string", "title": "Body (Liquid)"},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
            "retries": {"type": "integer", "minimum": 0, "maximum": 5},
            "save_as": {"type": "string", "minLength": 1, "maxLength": 100},
        },
        ("url",),
    )
    outputs: ClassVar[list[dict]] = describe.fixed(describe.NEXT, describe.FAILED_GOES_ON)

    def validate(
        self, config: dict[str, Any], *, in_journey_settings: dict | None = None
    ) -> list[ConfigError]:
        if not isinstance(config, dict):
            return [ConfigError("", "Must be an object.")]
        errors = unknown_keys(
            config, {"method", "url", "headers", "body", "timeout_seconds", "retries", "save_as"}
        )
        if config.get("method", "POST") not in WEBHOOK_METHODS:
            errors.append(ConfigError("method", f"Must be one of {', '.join(WEBHOOK_METHODS)}."))
        url = config.get("url")
        if not nonempty_str(url):
            errors.append(ConfigError("url", "A URL is required."))
        elif problem := (templating.template_error(url) or _static_url_error(url)):
            errors.append(ConfigError("url", problem))
        headers = config.get("headers")
        if headers is not None:
            if not isinstance(headers, dict) or not all(
                isinstance(v, str) for v in headers.values()
            ):
                errors.append(ConfigError("headers", "Must be an object of header name → string."))
            elif forbidden := [name for name in headers if header_forbidden(name)]:
                errors.append(
                    ConfigError(
                        "headers",
                        f"{', '.join(forbidden)} cannot be set: hop-by-hop and framing headers "
                        "(Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, "
                        "Upgrade, TE, Trailer, Proxy-*) come from the URL and body.",
                    )
                )
            else:
                errors += [
                    ConfigError(f, m) for f, m in templating.template_errors_in(headers, "headers")
                ]
        body = config.get("body")
        if body is not None:
            errors += [ConfigError(f, m) for f, m in templating.template_errors_in(body, "body")]
        timeout = config.get("timeout_seconds")
        if timeout is not None and (
            not is_number(timeout) or not 0 < timeout <= MAX_WEBHOOK_TIMEOUT
        ):
            errors.append(
                ConfigError(
                    "timeout_seconds", f"Must be a number of seconds in (0, {MAX_WEBHOOK_TIMEOUT}]."
                )
            )
        retries = config.get("retries")
        if retries is not None and (not is_int(retries) or not 0 <= retries <= MAX_WEBHOOK_RETRIES):
            errors.append(
                ConfigError("retries", f"Must be a whole number from 0 to {MAX_WEBHOOK_RETRIES}.")
            )
        save_as = config.get("save_as")
        if save_as is not None and (not nonempty_str(save_as) or len(save_as) > 100):
            errors.append(ConfigError("save_as", "Must be an attribute name of 1–100 characters."))
        return errors

    def execute(self, ctx) -> Result:
        from .executors import webhook_execute

        return webhook_execute(ctx)

    def resume(self, ctx, wake) -> Result:
        from .executors import webhook_resume

        return webhook_resume(ctx, wake)
