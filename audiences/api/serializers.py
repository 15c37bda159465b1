"""Shapes of the audiences API. Row-level rules of bulk bodies live in the services (per-row
errors); these describe the bodies for the schema and render the responses."""

from rest_framework import serializers

from ..models import Customer, CustomerList, ImportJob, Segment


class PushTokenSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=["android", "ios", "web"])
    token = serializers.CharField()
    valid = serializers.BooleanField(required=False)
    updated_at = serializers.CharField(read_only=True)


class CustomerSerializer(serializers.ModelSerializer):
    push_tokens = PushTokenSerializer(many=True, read_only=True)
    subscriptions = serializers.DictField(
        child=serializers.BooleanField(), read_only=True, help_text="Topic key → the customer's choice."
    )

    class Meta:
        model = Customer
        fields = [
            "external_id", "email", "phone", "timezone", "locale", "attributes", "tags",
            "push_tokens", "unsubscribed", "subscriptions", "created_at", "updated_at",
        ]
        read_only_fields = fields


class CustomerInSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=255)
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    phone = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text="E.164, e.g. +14155550123")
    timezone = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text="IANA, e.g. Europe/Paris")
    locale = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    attributes = serializers.DictField(required=False, help_text="Merged into the stored attributes; null removes one.")
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    push_tokens = PushTokenSerializer(many=True, required=False)
    unsubscribed = serializers.ListField(child=serializers.CharField(), required=False)
    subscriptions = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        required=False,
        help_text="Topic key → subscribed (true) or not (false); null returns to the topic's default.",
    )


class CustomerPatchSerializer(CustomerInSerializer):
    external_id = serializers.CharField(required=False)


class CustomersUpsertSerializer(serializers.Serializer):
    customers = CustomerInSerializer(many=True, help_text="At most 10,000.")


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    error = serializers.CharField()


class CustomersUpsertResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)


class EventInSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The customer's external_id; unknown ones are created.")
    name = serializers.CharField(max_length=200)
    properties = serializers.DictField(required=False)
    timestamp = serializers.DateTimeField(required=False, help_text="ISO-8601; default now.")
    id = serializers.CharField(required=False, help_text="Idempotency key: a repeated id is stored once.")


class EventsIngestSerializer(serializers.Serializer):
    events = EventInSerializer(many=True, help_text="At most 10,000.")


class EventsIngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored by this call.")
    duplicates = serializers.IntegerField(help_text="Events whose id was already stored (accepted before).")
    errors = RowErrorSerializer(many=True)


class EventPropertySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The property's path (`item_name`, or `cart.total` one level in).")
    example = serializers.JSONField(allow_null=True, help_text="Its value in the newest event that had one.")


class EventNameSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="Events received with this name, counted up to 10,000.")
    count_capped = serializers.BooleanField(help_text="True when there are more than `count`.")
    last_seen_at = serializers.DateTimeField()
    properties = EventPropertySerializer(many=True, help_text="What the latest 20 events of this name carried.")


class EventNameListSerializer(serializers.Serializer):
    results = EventNameSerializer(many=True, help_text="Most frequent first; at most 200 names.")


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "name", "condition", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class SegmentInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    condition = serializers.JSONField(help_text='The condition language (API.md), e.g. {"attribute": "plan", "op": "eq", "value": "pro"}.')


class ConditionInSerializer(serializers.Serializer):
    condition = serializers.JSONField()


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = CustomerSerializer(many=True)


class CustomerListSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = CustomerList
        fields = ["id", "name", "created_at", "member_count"]
        read_only_fields = ["id", "created_at", "member_count"]


class ListInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class MembersInSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(child=serializers.CharField(), help_text="External ids, at most 10,000.")


class MembersUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with an external_id (or customerId) column.")


class MembersAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    already = serializers.IntegerField(help_text="Already on the list.")
    not_found = serializers.ListField(child=serializers.CharField(), help_text="Unknown customer ids (first 1,000).")


class MembersRemovedSerializer(serializers.Serializer):
    removed = serializers.IntegerField()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="UTF-8 CSV (BOM allowed), ≤ 100 MB, with an external_id or customerId column.")


class ImportCreatedSerializer(serializers.Serializer):
    import_id = serializers.IntegerField()


class ImportLineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The file's own line number; the header is line 1.")
    error = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    list_id = serializers.IntegerField(source="customer_list_id", read_only=True, allow_null=True)
    errors = ImportLineErrorSerializer(many=True, read_only=True)
    number = serializers.IntegerField(read_only=True, help_text="This workspace's import #1, #2, … (ids count across workspaces).")

    class Meta:
        model = ImportJob
        fields = [
            "id", "number", "status", "total", "processed", "created", "updated", "failed", "errors", "message",
            "list_id", "file_size", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields


class EventPropertiesSerializer(serializers.Serializer):
    properties = serializers.ListField(child=serializers.CharField())
