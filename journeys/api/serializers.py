from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Journey, JourneyAuditEntry, JourneyVersion
from ..services import IN_FLIGHT_CHOICES
from ..templates import TEMPLATES

GRAPH_HELP = '{"nodes": [{"id", "type", "name"?, "position"?: {"x", "y"}, "config"}], "edges": [{"id"?, "source", "source_handle", "target"}]}'
SETTINGS_HELP = "entry, audience, window, re_entry, exit_conditions, goals, frequency_cap, quiet_hours, holdout (API.md Settings)"


@extend_schema_field(OpenApiTypes.OBJECT)
class AnyJSONField(serializers.JSONField):
    """Any JSON value; its shape is checked by the journey services, which name each field."""


class JourneySerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField(
        help_text="The live version number, or null before the first start."
    )
    graph = AnyJSONField(help_text=GRAPH_HELP)
    settings = AnyJSONField(help_text=SETTINGS_HELP)

    class Meta:
        model = Journey
        fields = [
            "id",
            "name",
            "description",
            "graph",
            "settings",
            "tags",
            "status",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_version(self, journey) -> int | None:
        return journey.live_version.number if journey.live_version_id else None


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagsField(serializers.JSONField):
    """Any JSON in, so the service's check answers a 400 naming `tags`; a list of strings in the schema."""


class JourneyWriteSerializer(serializers.Serializer):
    """PUT replaces name/description/graph/settings (name required); PATCH changes any of them."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    graph = AnyJSONField(required=False, help_text=GRAPH_HELP)
    settings = AnyJSONField(required=False, help_text=SETTINGS_HELP)
    tags = TagsField(required=False, help_text="Up to 20 strings of at most 50 characters each.")


class JourneyCreateSerializer(JourneyWriteSerializer):
    template = serializers.ChoiceField(
        choices=sorted(TEMPLATES),
        required=False,
        help_text="Create the draft from a built-in template.",
    )


class JourneyListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Journey.Status.choices, required=False)
    search = serializers.CharField(required=False, max_length=200, help_text="Part of the name.")
    tag = serializers.CharField(required=False, max_length=50, help_text="Journeys with this tag.")


class JourneyTagSerializer(serializers.Serializer):
    tag = serializers.CharField()
    journeys = serializers.IntegerField(help_text="How many of the workspace's journeys carry it.")


class ProblemSerializer(serializers.Serializer):
    node_id = serializers.CharField(allow_null=True)
    field = serializers.CharField()
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = ProblemSerializer(many=True)
    warnings = ProblemSerializer(
        many=True, help_text="Worth a look, but they do not block start (an unconnected failed)."
    )


class StartSerializer(serializers.Serializer):
    in_flight = serializers.ChoiceField(
        choices=IN_FLIGHT_CHOICES,
        default="move",
        help_text="On an active journey: move in-flight customers to the new version (default) or keep them on theirs.",
    )


class DuplicateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)


class JourneyVersionSerializer(serializers.ModelSerializer):
    published_by = serializers.SerializerMethodField()

    class Meta:
        model = JourneyVersion
        fields = ["number", "published_at", "published_by"]
        read_only_fields = fields

    def get_published_by(self, version) -> str | None:
        return version.published_by.email if version.published_by_id else None


class JourneyVersionDetailSerializer(JourneyVersionSerializer):
    graph = AnyJSONField()
    settings = AnyJSONField()

    class Meta(JourneyVersionSerializer.Meta):
        fields = [*JourneyVersionSerializer.Meta.fields, "graph", "settings"]
        read_only_fields = fields


class PublishImpactChangeSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="`config.<path>` (a setting), `outputs.<handle>` (where an output leads) or `type`."
    )
    before = serializers.JSONField(allow_null=True, help_text="null: not set (or not connected).")
    after = serializers.JSONField(allow_null=True)


class PublishImpactSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    change = serializers.ChoiceField(choices=["same", "changed", "removed", "added"])
    in_flight = serializers.IntegerField(
        help_text="Customers active or waiting at this node on the live version."
    )
    waiting = serializers.IntegerField(
        help_text="Of those, customers waiting here (a timer or an awaited event); with `move` "
        "they keep their timer, and the new settings apply to those who arrive later."
    )
    downstream = serializers.IntegerField(
        help_text="Customers now at earlier steps from which the draft leads here: they will reach "
        "this changed or added step (0 for same and removed steps)."
    )
    diff = PublishImpactChangeSerializer(many=True, help_text="What changed, field by field.")


class PublishImpactListSerializer(serializers.Serializer):
    live_version = serializers.IntegerField(allow_null=True)
    results = PublishImpactSerializer(many=True)
    affected = serializers.IntegerField(
        help_text="Customers in flight who meet the publish (with `move`), each counted once: at a "
        "changed or removed step, or at an earlier step from which the draft leads to a changed or "
        "added one."
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    version = serializers.IntegerField(source="version_number", allow_null=True)

    class Meta:
        model = JourneyAuditEntry
        fields = ["id", "action", "from_status", "to_status", "version", "actor", "at", "details"]
        read_only_fields = fields


class JourneyExportSerializer(serializers.Serializer):
    format = serializers.CharField(help_text='"waymark.journey"')
    format_version = serializers.IntegerField()
    exported_at = serializers.DateTimeField(required=False)
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    graph = AnyJSONField()
    settings = AnyJSONField()


class OutputWhenSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="A top-level config key.")
    equals = serializers.JSONField(required=False, help_text="Matches when config[field] equals this.")
    present = serializers.BooleanField(
        required=False, help_text="Matches when config[field] is (true) or is not (false) set."
    )


class OutputHandleSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, help_text="A fixed handle.")
    label = serializers.CharField(
        required=False, help_text="Its label; {a.b} is filled from config.a.b."
    )
    each = serializers.CharField(
        required=False,
        help_text="One handle per config[each][].id, labelled by the item's name.",
    )
    skip = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Ids an `each` list never yields."
    )
    unconnected = serializers.CharField(
        required=False,
        help_text="Left unconnected, this handle goes where this other handle leads (a failed "
        "send goes on along next); otherwise an unconnected handle ends the journey.",
    )


class OutputCaseSerializer(serializers.Serializer):
    when = OutputWhenSerializer(required=False, help_text="Absent: always matches.")
    handles = OutputHandleSerializer(many=True)


class NodePresetSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    hint = serializers.CharField(allow_blank=True)
    config = AnyJSONField()


class NodeTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    category = serializers.CharField(help_text="trigger, channel, flow, action or exit")
    icon = serializers.CharField(help_text="The monogram drawn on the node.")
    description = serializers.CharField(allow_blank=True)
    config_schema = AnyJSONField(help_text="JSON Schema of the node's config.")
    outputs = OutputCaseSerializer(
        many=True,
        help_text="How the output handles follow the config: the first case whose `when` "
        "matches gives them.",
    )
    handles = serializers.ListField(
        child=serializers.CharField(), help_text="Output handles of the default config."
    )
    has_input = serializers.BooleanField()
    default_config = AnyJSONField()
    presets = NodePresetSerializer(many=True, help_text="Palette entries for this type.")
    sends_messages = serializers.BooleanField()


class JourneyTemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    graph = AnyJSONField()
    settings = AnyJSONField()
