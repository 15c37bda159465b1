from __future__ import annotations

from rest_framework import serializers

from ..models import ChannelConfig, Message
from ..rendering import CHANNELS, CONFIG_CHANNELS
from ..services import RECEIPT_STATUSES


class ChannelConfigSerializer(serializers.ModelSerializer):
    """Credentials are write-only: responses say only which keys are set."""

    credential_keys = serializers.SerializerMethodField()
    callback_url = serializers.SerializerMethodField()

    class Meta:
        model = ChannelConfig
        fields = [
            "id",
            "channel",
            "provider",
            "name",
            "settings",
            "is_default",
            "rate_per_second",
            "credential_keys",
            "callback_url",
            "created_at",
            "updated_at",
        ]

    def get_credential_keys(self, obj) -> list[str]:
        from ..crypto import credentials_decrypt

        return sorted(credentials_decrypt(obj.credentials_encrypted))

    def get_callback_url(self, obj) -> str | None:
        from ..callback_urls import (
            google_wallet_callback_url,
            rbm_callback_url,
            sendgrid_events_url,
            twilio_callback_url,
            whatsapp_callback_url,
        )

        if obj.provider == "twilio":
            return twilio_callback_url(obj.pk)
        if obj.provider == "whatsapp_cloud":
            return whatsapp_callback_url(obj.pk)
        if obj.provider == "rbm":
            return rbm_callback_url(obj.pk)
        if obj.provider == "sendgrid":
            return sendgrid_events_url(obj.pk)
        if obj.provider == "google_wallet":
            return google_wallet_callback_url(obj.pk)
        return None


class ChannelConfigWriteSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CONFIG_CHANNELS)
    provider = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    credentials = serializers.JSONField(required=False, write_only=True)
    settings = serializers.JSONField(required=False)
    is_default = serializers.BooleanField(required=False, allow_null=True, default=None)
    rate_per_second = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100_000
    )


class ChannelConfigUpdateSerializer(ChannelConfigWriteSerializer):
    channel = serializers.ChoiceField(choices=CONFIG_CHANNELS, required=False)  # fixed once created


class ChannelTestSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=1000)
    content = serializers.JSONField()


class MessageListQuerySerializer(serializers.Serializer):
    """GET /messages filters: junk (a journey id that is not a number, an unknown status) is a 400
    naming the parameter, never a database error."""

    journey_id = serializers.IntegerField(required=False, min_value=1)
    customer_id = serializers.CharField(
        required=False, max_length=255, help_text="The customer's external_id."
    )
    node_id = serializers.CharField(required=False, max_length=100)
    status = serializers.ChoiceField(choices=Message.Status.choices, required=False)
    channel = serializers.ChoiceField(choices=[(c, c) for c in CHANNELS], required=False)


class MessageSerializer(serializers.ModelSerializer):
    customer_id = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "journey_id",
            "version",
            "node_id",
            "key",
            "customer_id",
            "channel",
            "channel_config_id",
            "provider",
            "to",
            "content",
            "locale",
            "variant",
            "category",
            "topic",
            "status",
            "error",
            "error_detail",
            "provider_message_id",
            "created_at",
            "sent_at",
            "delivered_at",
            "opened_at",
            "read_at",
            "clicked_at",
            "replied_at",
            "failed_at",
            "bounced_at",
        ]

    def get_customer_id(self, obj) -> str | None:
        return obj.customer.external_id if obj.customer_id else None


class InboxMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "content", "status", "created_at", "read_at", "clicked_at"]


class MessagePreviewSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CHANNELS)
    content = serializers.JSONField()
    customer_id = serializers.CharField(required=False, max_length=255)
    attributes = serializers.JSONField(required=False)
    event = serializers.JSONField(
        required=False, help_text="Sample properties of the trigger event, read as {{ event.* }}."
    )
    locale = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Render the content.locales variant this locale picks (es-MX, then es, else the "
        "top level); default: the customer's locale.",
    )

    def validate_attributes(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def validate_event(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object of the event's properties.")
        return value


class MessagePreviewResultSerializer(serializers.Serializer):
    channel = serializers.CharField()
    content = serializers.JSONField()


class MessageStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RECEIPT_STATUSES)
    at = serializers.DateTimeField(required=False)
    error = serializers.CharField(required=False, allow_blank=True, max_length=255)


class KakaoPairSerializer(serializers.Serializer):
    """An AlimTalk item-list part: a title and a description (#{name}s allowed)."""

    title = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField(required=False, help_text="item_highlight only: its image.")


class KakaoTemplateWriteSerializer(serializers.Serializer):
    """POST /channels/{id}/templates (checked by kakao.template_errors, naming each field)."""

    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=150)
    text = serializers.CharField()
    buttons = serializers.ListField(child=serializers.DictField(), required=False)
    emphasize_type = serializers.ChoiceField(
        choices=["NONE", "TEXT", "IMAGE", "ITEM_LIST"], required=False,
        help_text="NONE (a plain body), TEXT (an emphasized title), IMAGE, ITEM_LIST (header, highlight, items, summary).",
    )
    title = serializers.CharField(required=False, help_text="TEXT: the emphasized title (≤ 50 characters).")
    subtitle = serializers.CharField(required=False, help_text="TEXT: the line under the title (≤ 50).")
    header = serializers.CharField(required=False, help_text="ITEM_LIST: the header (≤ 16).")
    item_highlight = KakaoPairSerializer(required=False, help_text="ITEM_LIST: {title ≤ 30, description ≤ 19} (21/13 with image_url).")
    items = KakaoPairSerializer(many=True, required=False, help_text="ITEM_LIST: 2–10 {title ≤ 6, description ≤ 23}.")
    item_summary = KakaoPairSerializer(required=False, help_text="ITEM_LIST: {title ≤ 6, description ≤ 14}.")


class KakaoTemplateSerializer(KakaoTemplateWriteSerializer):
    variables = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=["approved", "pending", "rejected"])
    dealer_status = serializers.CharField()


class KakaoTemplateListSerializer(serializers.Serializer):
    results = KakaoTemplateSerializer(many=True)
