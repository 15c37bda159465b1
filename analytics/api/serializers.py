"""Shapes of the analytics endpoints (API.md "Analytics"), for validation and the OpenAPI schema."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from journeys.api.engine_views import EnrollmentHistorySerializer

from ..selectors import enrollment_messages
from ..services import MESSAGE_METRICS


class AnalyticsQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="A version number of the journey.")
    # `from` is a Python keyword, so both bounds are declared in __init__ under their API names.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        help_text = (
            "ISO date: days in the workspace's time zone, both ends inclusive (a date-time counts"
            " its whole day)."
        )
        self.fields["from"] = serializers.CharField(required=False, allow_blank=True, help_text=help_text)
        self.fields["to"] = serializers.CharField(required=False, allow_blank=True, help_text=help_text)


class MessageMetricsSerializer(serializers.Serializer):
    def get_fields(self):
        return {name: serializers.IntegerField() for name in MESSAGE_METRICS}


class GroupConversionSerializer(serializers.Serializer):
    started = serializers.IntegerField()
    goal_conversions = serializers.IntegerField()
    conversion_rate = serializers.FloatField()


class UpliftSerializer(serializers.Serializer):
    absolute = serializers.FloatField(help_text="Treatment rate − holdout rate.")
    relative = serializers.FloatField(allow_null=True, help_text="absolute / holdout rate; null when that is 0.")
    ci95 = serializers.ListField(child=serializers.FloatField(), help_text="Newcombe 95% interval of absolute.")
    p_value = serializers.FloatField(help_text="Two-sided: two-proportion z-test, Fisher's exact when counts are small.")


class GoalSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    conversions = serializers.IntegerField()
    rate = serializers.FloatField(help_text="conversions / started.")
    revenue = serializers.FloatField(help_text="Sum of the converting events' value.property.")


class HoldoutSerializer(serializers.Serializer):
    percent = serializers.FloatField()
    holdout = GroupConversionSerializer()
    treatment = GroupConversionSerializer()
    uplift = UpliftSerializer(
        allow_null=True, help_text="Treatment − holdout conversion rate; null until each group has a customer."
    )


class SummarySerializer(serializers.Serializer):
    counts = serializers.ChoiceField(
        choices=["runs"],
        help_text="What every figure counts: runs (enrollments), not distinct customers. A customer "
        "who enters again, or enters a keyed journey with two key values, counts once per run.",
    )
    key_property = serializers.CharField(
        allow_null=True,
        help_text="A keyed journey's key property (one run per value per customer); null otherwise.",
    )
    started = serializers.IntegerField(help_text="Runs that entered.")
    active = serializers.IntegerField(help_text="Runs in the journey now (active or waiting); ignores from/to.")
    completed = serializers.IntegerField()
    exited = serializers.IntegerField(help_text="Drop-offs: left early (exit conditions, goals that exit, stops…).")
    failed = serializers.IntegerField()
    goal_conversions = serializers.IntegerField(help_text="Runs that reached at least one goal.")
    conversion_rate = serializers.FloatField(help_text="goal_conversions / started.")
    avg_duration_seconds = serializers.FloatField(allow_null=True, help_text="Entry to completion, completed passes.")
    median_duration_seconds = serializers.FloatField(allow_null=True, help_text="Within 2.5% (log-scale histogram).")
    exited_by_reason = serializers.DictField(child=serializers.IntegerField())
    moved_in = serializers.IntegerField(
        required=False,
        help_text="With ?version= and no dates: customers moved into this version from earlier "
        "ones when it was published (they did not enter in it).",
    )
    revenue = serializers.FloatField(help_text="Every goal conversion's value, summed.")
    goals = serializers.DictField(child=GoalSummarySerializer(), help_text="Goal id → its conversions and revenue.")
    holdout = HoldoutSerializer(allow_null=True)


class SplitPathSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    entered = serializers.IntegerField()
    conversions = serializers.IntegerField(help_text="Of those who took the path, converted the experiment's goal.")
    rate = serializers.FloatField()
    ci95 = serializers.ListField(child=serializers.FloatField(), help_text="Wilson 95% interval of rate.")


class SplitExperimentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["running", "decided"])
    winner = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.ChoiceField(choices=["auto", "manual"], allow_null=True)
    p_value = serializers.FloatField(allow_null=True, help_text="Always-valid (mSPRT) p-value of the last look.")


class NodeAnalyticsSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    type = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    entered = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="Waiting at this node now.")
    active = serializers.IntegerField(help_text="At this node now, about to be advanced.")
    passed = serializers.IntegerField()
    exited = serializers.IntegerField(help_text="Left the journey early at this node.")
    failed = serializers.IntegerField()
    completed = serializers.IntegerField(help_text="Finished the journey at this node.")
    handles = serializers.DictField(child=serializers.IntegerField(), help_text="Output handle → passes through it.")
    handle_names = serializers.DictField(child=serializers.CharField(), help_text="Branch group / split path names.")
    exited_by_reason = serializers.DictField(child=serializers.IntegerField())
    moved_in = serializers.IntegerField(
        required=False,
        help_text="With ?version= and no dates: customers moved into this version from earlier "
        "ones when it was published (they did not enter in it).",
    )
    messages = MessageMetricsSerializer(allow_null=True, help_text="Message nodes only; null elsewhere.")
    paths = SplitPathSerializer(many=True, required=False, help_text="Split nodes with an experiment only.")
    experiment = SplitExperimentSerializer(required=False, help_text="Split nodes with an experiment only.")


class SeriesPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    goal_conversions = serializers.IntegerField()


class JourneyAnalyticsSerializer(serializers.Serializer):
    summary = SummarySerializer()
    nodes = NodeAnalyticsSerializer(many=True)
    series = SeriesPointSerializer(many=True)


class JourneySummaryRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    counts = serializers.ChoiceField(choices=["runs"], help_text="The figures count runs, not distinct customers.")
    key_property = serializers.CharField(allow_null=True, help_text="The draft's key property (keyed journeys).")
    started = serializers.IntegerField(help_text="Runs that entered.")
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    exited = serializers.IntegerField()
    goal_conversions = serializers.IntegerField()
    conversion_rate = serializers.FloatField()


class MessageStatusEventSerializer(serializers.Serializer):
    status = serializers.CharField()
    source = serializers.CharField()
    at = serializers.DateTimeField()


class TimelineMessageSerializer(serializers.Serializer):
    """A message of the enrollment's timeline (selectors.enrollment_messages)."""

    id = serializers.IntegerField()
    node_id = serializers.CharField()
    step_seq = serializers.IntegerField(allow_null=True, help_text="The history step that sent it.")
    channel = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField(help_text="The latest status.")
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    events = MessageStatusEventSerializer(many=True, help_text="Every status it went through, oldest first.")


# The debugger timeline: a pass with its history and the messages it sent.
class EnrollmentDetailSerializer(EnrollmentHistorySerializer):
    messages = serializers.SerializerMethodField()

    class Meta(EnrollmentHistorySerializer.Meta):
        fields = [*EnrollmentHistorySerializer.Meta.fields, "messages"]

    @extend_schema_field(TimelineMessageSerializer(many=True))
    def get_messages(self, enrollment) -> list[dict]:
        return TimelineMessageSerializer(enrollment_messages(enrollment=enrollment), many=True).data


class FunnelStepSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    reached = serializers.IntegerField(help_text="Enrollments that reached this step after every earlier one.")
    rate_from_previous = serializers.FloatField(allow_null=True, help_text="reached / the previous step's; null first.")
    median_seconds_from_previous = serializers.FloatField(allow_null=True)


class FunnelSerializer(serializers.Serializer):
    steps = FunnelStepSerializer(many=True)


class ChannelMetricsRowSerializer(serializers.Serializer):
    """One channel and provider's messages (GET /analytics/channels)."""

    channel = serializers.CharField()
    provider = serializers.CharField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    opened = serializers.IntegerField()
    read = serializers.IntegerField()
    clicked = serializers.IntegerField()
    replied = serializers.IntegerField()
    failed = serializers.IntegerField()
    bounced = serializers.IntegerField()
    failover = serializers.IntegerField(help_text="Sent through another channel instead (RCS as SMS, Kakao's SMS/LMS).")
    saved = serializers.IntegerField(help_text="Carried a wallet pass that was saved to a phone's wallet.")
    delivery_rate = serializers.FloatField()
    read_rate = serializers.FloatField()
    bounce_rate = serializers.FloatField()
    failover_rate = serializers.FloatField()


class ChannelMetricsSerializer(serializers.Serializer):
    results = ChannelMetricsRowSerializer(many=True)
