from rest_framework import serializers

from ..models import EVENT_TYPES, MAX_BATCH_SIZE, EventDelivery, EventWebhook


class EventWebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventWebhook
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "batch_size",
            "disabled_reason",
            "failing_since",
            "created_at",
        ]
        read_only_fields = fields


class EventWebhookCreatedSerializer(EventWebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Signs Waymark-Signature; shown only in this response."
    )

    class Meta(EventWebhookSerializer.Meta):
        fields = [*EventWebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EventWebhookWriteSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        allow_empty=False,
        max_length=len(EVENT_TYPES),
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    batch_size = serializers.IntegerField(
        min_value=1,
        max_value=MAX_BATCH_SIZE,
        required=False,
        help_text="At most this many pending events in one POST (a `batch` body); 1, the "
        "default, sends every event in a POST of its own.",
    )


class EventDeliverySerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="event_type", read_only=True)

    class Meta:
        model = EventDelivery
        fields = [
            "id",
            "event_id",
            "type",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "batch_id",
            "payload",
        ]
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EVENT_TYPES, read_only=True)
    description = serializers.CharField(read_only=True)
