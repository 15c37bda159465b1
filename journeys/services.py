"""Writes for journey definitions: create, edit, publish, the status machine, archive, duplicate,
import, and the audit log of every status change and publish.

The status machine (anything else is a 409 naming the current status):

    draft  ──start──▶ active ──pause──▶ paused ──resume──▶ active
      │                 │ ▲               │
      │                 │ └─start (publishes the edited draft as a new version)
      │                 └──stop──▶ stopped ◀──stop──┘
      └──archive──▶ archived ◀──archive── stopped

A paused journey is resumed before it publishes again, so a publish always lands on a running
journey the engine can move. Stopped and archived journeys are read-only (duplicate one to
reuse it); active and paused ones cannot be deleted (they hold customers)."""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from workspaces.errors import Conflict, ServiceValidationError
from workspaces.models import User, Workspace

from . import lifecycle
from .fields import validating_for
from .graph import graph_parse
from .keys import entry_key_property
from .models import Journey, JourneyAuditEntry, JourneyVersion
from .selectors import journey_problems
from .settings_schema import DEFAULT_SETTINGS
from .templates import template_get

Status = Journey.Status
EXPORT_FORMAT = "waymark.journey"
EXPORT_FORMAT_VERSION = 1
IN_FLIGHT_CHOICES = ("move", "keep")
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
READ_ONLY = (Status.STOPPED, Status.ARCHIVED)


def _actor_user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def _actor_label(actor: Any) -> str:
    """A person's email, or "api-key:<prefix>" for a key (its principal's str)."""
    if actor is None:
        return ""
    return actor.email if isinstance(actor, User) else str(actor)[:200]


def _audit(
    *,
    journey: Journey,
    actor: Any,
    action: str,
    from_status: str = "",
    version_number: int | None = None,
    details: dict | None = None,
) -> JourneyAuditEntry:
    return JourneyAuditEntry.objects.unscoped().create(
        workspace_id=journey.workspace_id,
        journey=journey,
        action=action,
        from_status=from_status,
        to_status=journey.status,
        version_number=version_number,
        actor=_actor_user(actor),
        actor_label=_actor_label(actor),
        details=details or {},
    )


def _check_definition(
    *, graph: Any, settings: Any, workspace: Workspace | int, journey_id: int | None = None
) -> None:
    """A draft may be incomplete, but not malformed (API.md: 400 for a graph that is not nodes +
    edges, a node without an id or of an unknown type, duplicate ids), nor linked to another
    workspace's rows."""
    details: dict[str, list[str]] = {}
    if graph is not None:
        with validating_for(workspace, journey_id):
            problems = graph_parse(graph)
        for problem in problems:
            details.setdefault(problem.field, []).append(problem.message)
    if settings is not None and not isinstance(settings, dict):
        details["settings"] = ["The settings must be an object."]
    if details:
        raise ServiceValidationError(details)


def tags_clean(tags: Any) -> list[str]:
    """The journey's tags, stripped and de-duplicated in order; a 400 naming `tags` otherwise."""
    if not isinstance(tags, list):
        raise ServiceValidationError({"tags": ["Must be a list of strings."]})
    if len(tags) > MAX_TAGS:
        raise ServiceValidationError({"tags": [f"At most {MAX_TAGS} tags."]})
    cleaned: list[str] = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, str) or not tag.strip():
            raise ServiceValidationError({"tags": [f"Item {i}: must be a non-empty string."]})
        tag = tag.strip()
        if len(tag) > MAX_TAG_LENGTH:
            raise ServiceValidationError(
                {"tags": [f"Item {i}: at most {MAX_TAG_LENGTH} characters."]}
            )
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _locked(journey: Journey) -> Journey:
    """Re-reads the journey row under a lock, so two status changes never interleave."""
    return (
        Journey.objects.for_workspace(journey.workspace_id).select_for_update().get(pk=journey.pk)
    )


def _conflict(journey: Journey, doing: str) -> Conflict:
    return Conflict(
        f"Cannot {doing} a journey that is {journey.status}.",
        details={"status": journey.status},
    )


@transaction.atomic
def journey_create(
    *,
    workspace: Workspace,
    actor: Any,
    name: str,
    description: str = "",
    graph: Any = None,
    settings: Any = None,
    template: str | None = None,
    tags: Any = None,
) -> Journey:
    """A new draft, empty, from the given graph/settings, or from a built-in template."""
    if template is not None:
        found = template_get(key=template)
        if found is None:
            raise ServiceValidationError({"template": [f"Unknown template {template!r}."]})
        graph = graph if graph is not None else copy.deepcopy(found["graph"])
        settings = settings if settings is not None else copy.deepcopy(found["settings"])
        description = description or found["description"]
    tags = tags_clean(tags) if tags is not None else []
    _check_definition(graph=graph, settings=settings, workspace=workspace)
    journey = Journey.objects.unscoped().create(
        workspace=workspace,
        name=name,
        description=description,
        graph=graph if graph is not None else {"nodes": [], "edges": []},
        settings=settings if settings is not None else copy.deepcopy(DEFAULT_SETTINGS),
        tags=tags,
        created_by=_actor_user(actor),
    )
    _audit(
        journey=journey,
        actor=actor,
        action="created",
        details={"template": template} if template else None,
    )
    return journey


@transaction.atomic
def journey_update(*, journey: Journey, actor: Any, **changes: Any) -> Journey:
    """Edits the draft (name, description, graph, settings, tags). The live version is untouched
    until the next publish."""
    if "tags" in changes:
        changes["tags"] = tags_clean(changes["tags"])
    journey = _locked(journey)
    if journey.status in READ_ONLY:
        raise _conflict(journey, "edit")
    _check_definition(
        graph=changes.get("graph"),
        settings=changes.get("settings"),
        workspace=journey.workspace_id,
        journey_id=journey.pk,
    )
    fields = [
        key for key in ("name", "description", "graph", "settings", "tags") if key in changes
    ]
    for key in fields:
        setattr(journey, key, changes[key])
    journey.save(update_fields=[*fields, "updated_at"])
    return journey


@transaction.atomic
def journey_delete(*, journey: Journey, actor: Any) -> None:
    journey = _locked(journey)
    if journey.status in (Status.ACTIVE, Status.PAUSED):
        raise _conflict(journey, "delete")
    journey.delete()


def _publish(*, journey: Journey, actor: Any) -> JourneyVersion:
    """Freezes the draft into the next immutable version (journey row already locked)."""
    last = (
        JourneyVersion.objects.for_workspace(journey.workspace_id)
        .filter(journey=journey)
        .aggregate(n=Max("number"))["n"]
    )
    return JourneyVersion.objects.unscoped().create(
        workspace_id=journey.workspace_id,
        journey=journey,
        number=(last or 0) + 1,
        graph=copy.deepcopy(journey.graph),
        settings=copy.deepcopy(journey.settings),
        published_at=timezone.now(),
        published_by=_actor_user(actor),
    )


@transaction.atomic
def journey_start(*, journey: Journey, actor: Any, in_flight: str = "move") -> Journey:
    """Validates and publishes the draft. A draft becomes active on version 1; an active journey
    gets a new version and its in-flight customers move to it (or stay, with "keep")."""
    if in_flight not in IN_FLIGHT_CHOICES:
        raise ServiceValidationError({"in_flight": [f"Must be one of {', '.join(IN_FLIGHT_CHOICES)}."]})
    journey = _locked(journey)
    if journey.status not in (Status.DRAFT, Status.ACTIVE):
        raise _conflict(journey, "start")
    problems = journey_problems(journey=journey)
    if problems:
        raise Conflict(
            f"The journey is not valid ({len(problems)} problem{'s' if len(problems) != 1 else ''}).",
            code="invalid_journey",
            details={"errors": [p.as_dict() for p in problems]},
        )
    previous, from_status = journey.live_version, journey.status
    version = _publish(journey=journey, actor=actor)
    journey.live_version = version
    journey.status = Status.ACTIVE
    journey.save(update_fields=["live_version", "status", "updated_at"])
    if previous is None:
        _audit(
            journey=journey,
            actor=actor,
            action="started",
            from_status=from_status,
            version_number=version.number,
        )
        lifecycle.journey_activated(journey=journey, version=version)
    else:
        _audit(
            journey=journey,
            actor=actor,
            action="published",
            from_status=from_status,
            version_number=version.number,
            details={"in_flight": in_flight, "previous_version": previous.number},
        )
        lifecycle.journey_version_published(
            journey=journey, previous=previous, version=version, in_flight=in_flight
        )
    return journey


def _transition(
    *, journey: Journey, actor: Any, doing: str, allowed: tuple[str, ...], to: str
) -> Journey:
    journey = _locked(journey)
    if journey.status not in allowed:
        raise _conflict(journey, doing)
    from_status = journey.status
    journey.status = to
    journey.save(update_fields=["status", "updated_at"])
    version_number = journey.live_version.number if journey.live_version_id else None
    # The audit action is the status reached ("paused", "stopped", "archived"), except that
    # returning to active is a resume.
    action = "resumed" if to == Status.ACTIVE else to
    _audit(
        journey=journey,
        actor=actor,
        action=action,
        from_status=from_status,
        version_number=version_number,
    )
    return journey


@transaction.atomic
def journey_pause(*, journey: Journey, actor: Any) -> Journey:
    journey = _transition(
        journey=journey, actor=actor, doing="pause", allowed=(Status.ACTIVE,), to=Status.PAUSED
    )
    lifecycle.journey_paused(journey=journey)
    return journey


@transaction.atomic
def journey_resume(*, journey: Journey, actor: Any) -> Journey:
    journey = _transition(
        journey=journey, actor=actor, doing="resume", allowed=(Status.PAUSED,), to=Status.ACTIVE
    )
    lifecycle.journey_resumed(journey=journey)
    return journey


@transaction.atomic
def journey_stop(*, journey: Journey, actor: Any) -> Journey:
    journey = _transition(
        journey=journey,
        actor=actor,
        doing="stop",
        allowed=(Status.ACTIVE, Status.PAUSED),
        to=Status.STOPPED,
    )
    lifecycle.journey_stopped(journey=journey)
    return journey


@transaction.atomic
def journey_archive(*, journey: Journey, actor: Any) -> Journey:
    journey = _transition(
        journey=journey,
        actor=actor,
        doing="archive",
        allowed=(Status.DRAFT, Status.STOPPED),
        to=Status.ARCHIVED,
    )
    return journey


@transaction.atomic
def journey_duplicate(*, journey: Journey, actor: Any, name: str | None = None) -> Journey:
    """A new draft with a copy of the journey's draft graph and settings (works in any status)."""
    copy_ = journey_create(
        workspace=journey.workspace,
        actor=actor,
        name=name or f"Copy of {journey.name}"[:200],
        description=journey.description,
        graph=copy.deepcopy(journey.graph),
        settings=copy.deepcopy(journey.settings),
        tags=list(journey.tags),
    )
    JourneyAuditEntry.objects.for_workspace(journey.workspace_id).filter(journey=copy_).update(
        action="duplicated", details={"from_journey": journey.pk}
    )
    return copy_


def journey_export(*, journey: Journey) -> dict:
    """A portable JSON of the draft; ids of segments, lists and hand-off journeys stay as they
    are and are checked against the importing workspace when it validates. A keyed journey's
    key travels in `settings.entry.key` and is repeated as `key` for readers of the file."""
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "name": journey.name,
        "description": journey.description,
        "tags": list(journey.tags),
        "key": entry_key_property(journey.settings),
        "graph": journey.graph,
        "settings": journey.settings,
    }


def journey_import(
    *, workspace: Workspace, actor: Any, data: dict, name: str | None = None
) -> Journey:
    """A new draft from `journey_export`'s JSON."""
    if data.get("format") != EXPORT_FORMAT:
        raise ServiceValidationError(
            {"format": [f"Must be {EXPORT_FORMAT!r} (a Waymark journey export)."]}
        )
    if data.get("format_version") != EXPORT_FORMAT_VERSION:
        raise ServiceValidationError(
            {"format_version": [f"Only version {EXPORT_FORMAT_VERSION} can be imported."]}
        )
    journey_name = name or data.get("name")
    if not isinstance(journey_name, str) or not journey_name.strip():
        raise ServiceValidationError({"name": ["A name is required."]})
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ServiceValidationError({"description": ["Must be a string."]})
    missing = {
        key: ["Required in an export."] for key in ("graph", "settings") if data.get(key) is None
    }
    if missing:
        raise ServiceValidationError(missing)
    settings = data.get("settings")
    key = data.get("key")
    if key is not None and (
        not isinstance(settings, dict) or entry_key_property(settings) != key
    ):
        # An export written by hand (or edited) must not silently drop or change the key:
        # a keyed journey imported unkeyed would run one pass per customer instead of per key.
        raise ServiceValidationError(
            {"key": ["Must equal settings.entry.key.property (the journey's key property)."]}
        )
    journey = journey_create(
        workspace=workspace,
        actor=actor,
        name=journey_name[:200],
        description=description,
        graph=data.get("graph"),
        settings=settings,
        tags=data.get("tags"),
    )
    JourneyAuditEntry.objects.for_workspace(workspace).filter(journey=journey).update(
        action="imported"
    )
    return journey
