"""Subscription topics (what marketing messages are about) and customers' choices about them:
the Topic model, its writes, and the rules for a customer's `subscriptions` map."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from workspaces.errors import Conflict, ServiceValidationError
from workspaces.models import Workspace, WorkspaceModel

from .normalize import FieldError

# Keys appear in URLs (/topics/{key}) and CSV headers (topic:<key>): lowercase, no spaces.
TOPIC_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
TOPIC_KEY_HELP = "1–64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
MAX_TOPICS = 200  # per workspace: the preference page lists every one of them
SUBSCRIBED, UNSUBSCRIBED = "subscribed", "unsubscribed"
# CSV cells of a topic:<key> column (API.md import), case-insensitive.
CSV_TRUE, CSV_FALSE = {"true", "yes", "1"}, {"false", "no", "0"}
CSV_COLUMN_PREFIX = "topic:"


class Topic(WorkspaceModel):
    """A subject customers opt in or out of; `default` holds for a customer who never chose."""

    class Default(models.TextChoices):
        SUBSCRIBED = SUBSCRIBED
        UNSUBSCRIBED = UNSUBSCRIBED

    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    default = models.CharField(max_length=16, choices=Default.choices, default=Default.SUBSCRIBED)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "audiences"
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="topic_unique_key")]

    def __str__(self) -> str:
        return self.key


# ---- Topics -------------------------------------------------------------------------------
def _topic_fields(data: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ServiceValidationError({"non_field_errors": ["Must be an object."]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    unknown = set(data) - {"key", "name", "description", "default"}
    for name in sorted(unknown):
        errors[name] = [f"Unknown field {name!r}."]
    if "key" in data or not partial:
        key = data.get("key")
        if not isinstance(key, str) or not TOPIC_KEY_RE.match(key):
            errors["key"] = [f"Must be a topic key: {TOPIC_KEY_HELP}."]
        else:
            cleaned["key"] = key
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["name"] = ["Must be a name of 1–200 characters."]
        else:
            cleaned["name"] = name.strip()
    if "description" in data:
        description = data["description"]
        if description is None:
            description = ""
        if not isinstance(description, str) or len(description) > 2000:
            errors["description"] = ["Must be text of at most 2,000 characters."]
        else:
            cleaned["description"] = description
    if "default" in data or not partial:
        default = data.get("default", SUBSCRIBED)
        if default not in (SUBSCRIBED, UNSUBSCRIBED):
            errors["default"] = [f"Must be {SUBSCRIBED} or {UNSUBSCRIBED}."]
        else:
            cleaned["default"] = default
    if errors:
        raise ServiceValidationError(errors)
    return cleaned


def topic_create(*, workspace: Workspace, data: Any) -> Topic:
    cleaned = _topic_fields(data, partial=False)
    topics = Topic.objects.for_workspace(workspace)
    if topics.count() >= MAX_TOPICS:
        raise Conflict(f"A workspace may have at most {MAX_TOPICS} topics.")
    try:
        with transaction.atomic():
            return topics.create(workspace=workspace, **cleaned)
    except IntegrityError:
        raise ServiceValidationError({"key": [f"A topic {cleaned['key']!r} already exists."]}) from None


def topic_update(*, workspace: Workspace, topic: Topic, data: Any) -> Topic:
    """PUT: name, description and default change; the key (customers' choices are filed under it)
    may be repeated but not changed."""
    cleaned = _topic_fields(data, partial=True)
    if cleaned.get("key", topic.key) != topic.key:
        raise ServiceValidationError({"key": ["Cannot be changed: customers' choices are filed under it."]})
    cleaned.pop("key", None)
    for name, value in cleaned.items():
        setattr(topic, name, value)
    topic.updated_at = timezone.now()
    topic.save(update_fields=[*cleaned, "updated_at"])
    return topic


def topic_delete(*, workspace: Workspace, topic: Topic) -> None:
    """Customers' choices stay filed under the key, so a topic created again with it finds them."""
    Topic.objects.for_workspace(workspace).filter(pk=topic.pk).delete()


def topic_get(*, workspace: Workspace | int, key: str) -> Topic | None:
    return Topic.objects.for_workspace(workspace).filter(key=key).first()


def topics_list(*, workspace: Workspace | int) -> list[Topic]:
    return list(Topic.objects.for_workspace(workspace).order_by("key"))


# ---- A customer's subscriptions -----------------------------------------------------------
def subscriptions_clean(value: Any) -> dict[str, bool | None]:
    """{topic_key: true|false|null} as given to the customer endpoints (null: back to the topic's
    default). Shape only; the customer services check the keys against topic_keys."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError("subscriptions must be an object of topic key → true or false")
    if len(value) > MAX_TOPICS:
        raise FieldError(f"subscriptions may name at most {MAX_TOPICS} topics")
    for key, choice in value.items():
        if not isinstance(key, str) or not TOPIC_KEY_RE.match(key):
            raise FieldError(f"subscriptions: {str(key)[:70]!r} is not a topic key")
        if choice is not None and not isinstance(choice, bool):
            raise FieldError(f"subscriptions.{key} must be true or false")
    return dict(value)


def topic_keys(*, workspace: Workspace | int) -> set[str]:
    return set(Topic.objects.for_workspace(workspace).values_list("key", flat=True))


def subscriptions_merge(current: dict | None, patch: dict[str, bool | None]) -> dict[str, bool]:
    """Given choices replace stored ones; null forgets the choice (the topic's default holds)."""
    merged = dict(current or {})
    for key, choice in patch.items():
        if choice is None:
            merged.pop(key, None)
        else:
            merged[key] = choice
    return merged


def topic_columns(names: list[str]) -> dict[int, str]:
    """The file's topic:<key> columns (prefix in any case): column index → topic key."""
    topics = {}
    for index, name in enumerate(names):
        if name.lower().startswith(CSV_COLUMN_PREFIX):
            key = name[len(CSV_COLUMN_PREFIX) :].strip()
            if not TOPIC_KEY_RE.match(key):
                raise FieldError(f"Column {name!r}: {key!r} is not a topic key ({TOPIC_KEY_HELP}).")
            topics[index] = key
    return topics


def topic_cells_clean(key: str, cells, refused: dict[int, str]) -> list[str]:
    """A topic:<key> column's cells as "true", "false" or "" (no change); a cell that is none of
    true/false/yes/no/1/0 puts its row in `refused` (unless an earlier column did)."""
    cleaned = []
    for i, cell in enumerate(cells):
        try:
            choice = subscription_csv_value(cell)
        except FieldError as exc:
            refused.setdefault(i, f"{CSV_COLUMN_PREFIX}{key}: {exc}")
            choice = None
        cleaned.append("" if choice is None else ("true" if choice else "false"))
    return cleaned


def subscription_csv_value(raw: str) -> bool | None:
    """A topic:<key> cell: true/yes/1 or false/no/0 (any case); empty leaves the choice as it is.
    Raises FieldError otherwise."""
    cell = raw.strip().lower()
    if not cell:
        return None
    if cell in CSV_TRUE:
        return True
    if cell in CSV_FALSE:
        return False
    raise FieldError(f"{raw[:40]!r} is not true/false/yes/no/1/0")


def topic_subscribed(*, customer, topic: Topic | None, topic_key: str) -> bool:
    """Whether the customer receives marketing on the topic: their own choice, else the topic's
    default. A topic deleted since the journey was published only honours an explicit opt-out."""
    choice = (customer.subscriptions or {}).get(topic_key)
    if isinstance(choice, bool):
        return choice
    return topic is None or topic.default == SUBSCRIBED
