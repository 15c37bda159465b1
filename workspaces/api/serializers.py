from rest_framework import serializers

from ..models import ApiKey, ApiKeyKind, Invitation, Role
from ..origins import MAX_ALLOWED_ORIGINS, origin_normalize


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "kind", "allowed_origins", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class OriginField(serializers.CharField):
    """A web origin as browsers send it in `Origin`: scheme://host[:port], nothing after."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        origin = origin_normalize(text)
        if origin is None:
            raise serializers.ValidationError(
                f"{text!r} is not an origin; write it like https://shop.example or http://localhost:3000."
            )
        return origin


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.OWNER)
    kind = serializers.ChoiceField(choices=ApiKeyKind.choices, required=False, default=ApiKeyKind.SECRET)
    allowed_origins = serializers.ListField(
        child=OriginField(max_length=300),
        required=False,
        default=list,
        max_length=MAX_ALLOWED_ORIGINS,
        help_text="Publishable keys: the web origins whose pages may use the key.",
    )

    def validate(self, attrs):
        if attrs.get("allowed_origins") and attrs.get("kind") != ApiKeyKind.PUBLISHABLE:
            raise serializers.ValidationError({"allowed_origins": ["Only a publishable key has allowed origins."]})
        return attrs


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret; shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)


class MembershipSerializer(serializers.Serializer):
    workspace_id = serializers.IntegerField(source="workspace.id")
    name = serializers.CharField(source="workspace.name")
    slug = serializers.CharField(source="workspace.slug")
    timezone = serializers.CharField(source="workspace.timezone")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    workspaces = MembershipSerializer(many=True)


def _validate_timezone(value: str) -> str:
    from zoneinfo import available_timezones

    if value not in available_timezones():
        raise serializers.ValidationError(f"Unknown IANA timezone {value!r}.")
    return value


def _validate_country(value: str) -> str:
    import phonenumbers

    if value and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise serializers.ValidationError(f"{value!r} is not an ISO 3166 alpha-2 country code (e.g. KR, US).")
    return value.upper()


class CountryField(serializers.CharField):
    """An ISO 3166 alpha-2 country the phone numbering plans know, upper-cased; "" or null for none."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2, allow_blank=True, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        return _validate_country(super().to_internal_value(data))

    def validate_empty_values(self, data):
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class WorkspaceSettingsSerializer(serializers.Serializer):
    push_title_max = serializers.IntegerField(min_value=1, max_value=500, required=False, allow_null=True)
    push_body_max = serializers.IntegerField(min_value=1, max_value=4000, required=False, allow_null=True)


class WholeObjectSerializer(serializers.Serializer):
    """A nested object that is replaced whole: its fields stay required in a partial PATCH (DRF
    skips required checks below a partial root; a half object failed later as a 500)."""

    def validate(self, attrs):
        missing = {n: ["This field is required."] for n, f in self.fields.items() if f.required and n not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class DurationSerializer(WholeObjectSerializer):
    value = serializers.IntegerField(min_value=1, max_value=3650)
    unit = serializers.ChoiceField(choices=["seconds", "minutes", "hours", "days", "weeks"])


class FrequencyCapSerializer(WholeObjectSerializer):
    """Marketing messages per customer across all journeys (API.md "Consent")."""

    max = serializers.IntegerField(min_value=1, max_value=1000)
    per = DurationSerializer()


class QuietHoursSerializer(WholeObjectSerializer):
    """Customer-local window in which marketing sends wait; it may cross midnight."""

    start = serializers.RegexField(r"^([01]\d|2[0-3]):[0-5]\d$", help_text="HH:MM")
    end = serializers.RegexField(r"^([01]\d|2[0-3]):[0-5]\d$", help_text="HH:MM")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError({"end": ["Quiet hours must not start and end at the same time."]})
        return attrs


class WorkspaceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.CharField(read_only=True)
    timezone = serializers.CharField(max_length=64, required=False, validators=[_validate_timezone])
    settings = WorkspaceSettingsSerializer(required=False)
    event_retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    step_retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    frequency_cap = FrequencyCapSerializer(required=False, allow_null=True)
    quiet_hours = QuietHoursSerializer(required=False, allow_null=True)
    default_country = CountryField(
        required=False,
        help_text='ISO 3166 alpha-2 ("KR", "US"): phone numbers without "+" are read as this country\'s '
        'national numbers. "" (the default) requires E.164.',
    )
    created_at = serializers.DateTimeField(read_only=True)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    user_id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField(read_only=True)


class MemberCreateSerializer(serializers.Serializer):
    """Invites a person: they get an emailed link and choose their own password (or sign in)."""

    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.EDITOR)

    def validate(self, attrs):
        # Refused, not ignored: a caller relying on the old behaviour must learn it changed.
        if "password" in self.initial_data:
            raise serializers.ValidationError(
                {"password": ["Not accepted: the invited person chooses their own password from the emailed link."]}
            )
        return attrs


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="pending or expired (open invitations only are listed)")
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields


class InvitationPreviewSerializer(serializers.Serializer):
    """What an invitation link offers, shown before accepting."""

    workspace = serializers.CharField(source="workspace.name")
    workspace_slug = serializers.CharField(source="workspace.slug")
    email = serializers.EmailField()
    role = serializers.CharField()
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True, default=None)
    expires_at = serializers.DateTimeField()
    has_account = serializers.BooleanField(help_text="The address has an account: sign in to accept.")
    signed_in_as = serializers.EmailField(allow_null=True, help_text="The session's user, if any.")


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=100)
    password = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False, max_length=200,
        help_text="A new account's password; not used when signed in.",
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
