"""Request and response shapes of the tracking API, for the OpenAPI schema only: the views parse
bodies with services.tracking_parse, which speaks Segment's spec (camelCase, extra keys ignored)."""

from __future__ import annotations

from rest_framework import serializers


class _Common(serializers.Serializer):
    userId = serializers.CharField(required=False, help_text="The customer's external_id.")
    anonymousId = serializers.CharField(
        required=False,
        help_text="A device or browser id; stored as customer 'anon:<id>' until merged into a userId.",
    )
    messageId = serializers.CharField(
        required=False, help_text="Idempotency key: a repeat is stored once."
    )
    timestamp = serializers.DateTimeField(required=False)
    originalTimestamp = serializers.DateTimeField(required=False)
    sentAt = serializers.DateTimeField(
        required=False,
        help_text="With sentAt, time = receivedAt - (sentAt - originalTimestamp or timestamp).",
    )
    context = serializers.DictField(
        required=False,
        help_text="context.timezone, context.locale → customer fields; context.device.token with "
        "context.os.name → a push token (android, ios, else web).",
    )
    integrations = serializers.DictField(required=False)
    writeKey = serializers.CharField(
        required=False, help_text="The API key, if not sent as Basic auth user name."
    )


class TrackingIdentifySerializer(_Common):
    traits = serializers.DictField(
        required=False,
        help_text="email, phone → customer fields; firstName/lastName → attributes first_name/last_name; "
        "other traits → attributes.",
    )


class TrackingTrackSerializer(_Common):
    event = serializers.CharField(max_length=200)
    properties = serializers.DictField(required=False)


class TrackingPageSerializer(_Common):
    name = serializers.CharField(required=False)
    category = serializers.CharField(required=False)
    properties = serializers.DictField(required=False)


class TrackingGroupSerializer(_Common):
    groupId = serializers.CharField()
    traits = serializers.DictField(required=False)


class TrackingAliasSerializer(_Common):
    previousId = serializers.CharField(
        help_text="The anonymous (or former) id now known as userId."
    )


class TrackingBatchSerializer(serializers.Serializer):
    batch = serializers.ListField(
        child=serializers.DictField(),
        help_text="Messages of any type, each with its `type` (identify, track, page, screen, group, alias).",
    )
    sentAt = serializers.DateTimeField(required=False)
    context = serializers.DictField(required=False)
    writeKey = serializers.CharField(required=False)


class TrackingMessageErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The message's position in `batch`.")
    error = serializers.CharField(help_text='Names the field, e.g. "batch[3].event: is required for track".')


class TrackingSuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    errors = TrackingMessageErrorSerializer(
        many=True, required=False, help_text="Batch only: the messages left out (the others were stored)."
    )


class TrackingErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    code = serializers.CharField()
    message = serializers.CharField()
