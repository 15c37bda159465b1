"""Segment's message spec mapped onto Waymark: who a message is about (userId, anonymousId and the
merge of the two), what it changes on the profile (traits, context) and which events it stores.

Identity. A `userId` is the customer's external_id. A message with only an `anonymousId` belongs to
the customer whose `anonymous_ids` attribute lists it, or else to a customer of its own with the
external_id "anon:<anonymousId>": an ordinary customer, so anonymous visitors can enter journeys,
be segmented and be messaged like anyone else. When a message links the two (identify or track
carrying both ids, or alias previousId → userId), the anonymous customer is merged into the known
one: its events, list memberships, enrollments and messages move over (so journeys continue where
they were), its profile fills the known customer's gaps, it is deleted, and its anonymous id is
appended to the known customer's `anonymous_ids` attribute so later anonymous-only messages from
that device land on the known customer. No table of our own: the attribute is indexed by the
customers' GIN index on attributes (`@>`), and it is visible and editable like any other attribute.

Every write goes through the audiences services (customers_upsert, customers_ensure,
events_ingest, customer_erase), so a `track` is stored and handed to the journey engine exactly as
POST /api/v1/events does it, and a whole call is one transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, UniqueConstraint
from django.utils import timezone

from workspaces.models import Workspace
from workspaces.parsers import json_problem

from .. import hooks
from ..models import Customer
from ..normalize import (
    MAX_EXTERNAL_ID,
    FieldError,
    email_clean,
    locale_clean,
    phone_clean,
    timezone_clean,
)
from ..services import (
    MAX_EVENT_NAME,
    MAX_IDEMPOTENCY_ID,
    customer_erase,
    customers_delete_lock,
    customers_ensure,
    customers_upsert,
    events_ingest,
)

logger = logging.getLogger(__name__)

# Segment's HTTP Tracking API limits: 500 KB per batch call, 32 KB per message (segment.com/docs,
# "HTTP Tracking API → Max request size"). The official SDKs size their batches to fit them.
MAX_CALL_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024

ANON_PREFIX = "anon:"
ANONYMOUS_IDS = "anonymous_ids"  # attribute: the anonymous ids merged into this customer
MAX_ANONYMOUS_IDS = 50  # the most recent are kept; an older device starts a fresh anonymous profile
MAX_ID = MAX_EXTERNAL_ID - len(ANON_PREFIX)  # so "anon:<id>" still fits the external_id column

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
EVENT_TYPES = {"track": None, "page": "page_viewed", "screen": "screen_viewed"}
# Segment's reserved traits that are Customer fields; names become snake_case attributes.
FIELD_TRAITS = {"email": email_clean, "phone": phone_clean}
NAME_TRAITS = {
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
}
IGNORED_TRAITS = {"id"}  # Segment's copy of userId
IOS_NAMES = ("ios", "iphone os", "ipados", "tvos", "watchos")
MAX_PUSH_TOKEN = 4096  # audiences' push token limit


class TrackingError(ValueError):
    """A call the API refuses as a whole (Segment answers 400): nothing of it is stored."""

    def __init__(self, field: str, message: str, code: str = "invalid_request"):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.code = field, message, code


@dataclass(frozen=True)
class Message:
    """One Segment message, checked and with its time already corrected for clock skew."""

    type: str
    user_id: str | None
    anonymous_id: str | None
    message_id: str | None
    occurred_at: datetime
    event: str = ""  # the stored event's name (track, page, screen)
    properties: dict = field(default_factory=dict)
    traits: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    previous_id: str | None = None  # alias
    group_id: str | None = None  # group


@dataclass
class TrackingResult:
    events: int = 0  # stored now
    duplicates: int = 0  # messageIds seen before
    profiles: int = 0  # customers created or changed by traits and context
    merged: int = 0  # anonymous customers merged into known ones


# ---- Parsing -------------------------------------------------------------------------------
def _id(value: Any, where: str, limit: int = MAX_ID) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TrackingError(where, "must be a string")
    value = str(value).strip()
    if len(value) > limit:
        raise TrackingError(where, f"must be at most {limit} characters")
    return value or None


def _object(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TrackingError(where, "must be an object")
    return value


def _moment(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TrackingError(where, "must be an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise TrackingError(where, f"{value!r} is not an ISO-8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_time(
    *,
    received_at: datetime,
    sent_at: datetime | None,
    original: datetime | None,
    timestamp: datetime | None,
) -> datetime:
    """When the event happened, as Segment computes it: the device's clock is trusted for the
    interval between the call and the send, never for the absolute time, so
    timestamp = receivedAt - (sentAt - originalTimestamp). Server SDKs put the call time in
    `timestamp` (Segment reads it as originalTimestamp). Without sentAt the time is taken as given."""
    device_time = original or timestamp
    if device_time is None:
        return received_at
    if sent_at is None:
        return device_time
    return received_at - (sent_at - device_time)


def _page_properties(raw: dict, properties: dict, context: dict, where: str) -> dict:
    """page/screen events carry their properties plus the page's name (and category, url)."""
    merged = dict(properties)
    for key in ("name", "category"):
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise TrackingError(f"{where}{key}", "must be a string")
            merged[key] = value
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    url = properties.get("url") or page.get("url")
    if url:
        merged["url"] = url
    return merged


def message_parse(
    raw: Any, *, path: str, kind: str | None, received_at: datetime, sent_at: datetime | None
) -> Message:
    """One message; `kind` is the endpoint's type (None inside a batch, where `type` says it)."""
    where = f"{path}." if path else ""
    if not isinstance(raw, dict):
        raise TrackingError(path or "body", "must be a JSON object")
    # Values PostgreSQL cannot store (NUL, lone surrogates, NaN, 1e400, deep nesting), named.
    found = json_problem(raw, path)
    if found:
        raise TrackingError(found[0], found[1])
    size = len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_MESSAGE_BYTES:
        raise TrackingError(
            path or "body",
            f"message is {size} bytes; at most {MAX_MESSAGE_BYTES // 1024} KB",
            code="message_too_large",
        )
    type_ = kind or raw.get("type")
    if type_ not in MESSAGE_TYPES:
        raise TrackingError(f"{where}type", f"must be one of {', '.join(MESSAGE_TYPES)}")
    user_id = _id(raw.get("userId"), f"{where}userId")
    anonymous_id = _id(raw.get("anonymousId"), f"{where}anonymousId")
    context = _object(raw.get("context"), f"{where}context")
    properties = _object(raw.get("properties"), f"{where}properties")
    sent_at = _moment(raw.get("sentAt"), f"{where}sentAt") or sent_at
    try:
        occurred_at = event_time(
            received_at=received_at,
            sent_at=sent_at,
            original=_moment(raw.get("originalTimestamp"), f"{where}originalTimestamp"),
            timestamp=_moment(raw.get("timestamp"), f"{where}timestamp"),
        )
    except OverflowError:
        # receivedAt - (sentAt - timestamp) fell outside the calendar: the device clock is junk.
        raise TrackingError(f"{where}sentAt", "is too far from timestamp to correct the clock") from None
    fields: dict[str, Any] = {
        "type": type_,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "message_id": _id(raw.get("messageId"), f"{where}messageId", MAX_IDEMPOTENCY_ID),
        "occurred_at": occurred_at,
        "context": context,
    }
    if type_ == "alias":
        fields["previous_id"] = _id(raw.get("previousId"), f"{where}previousId")
        if fields["previous_id"] is None or user_id is None:
            raise TrackingError(
                f"{where}previousId" if user_id else f"{where}userId", "is required for alias"
            )
        return Message(**fields)
    if user_id is None and anonymous_id is None:
        raise TrackingError(f"{where}userId", "userId or anonymousId is required")
    if type_ == "track":
        name = raw.get("event")
        if not isinstance(name, str) or not name.strip():
            raise TrackingError(f"{where}event", "is required for track")
        if len(name) > MAX_EVENT_NAME:
            raise TrackingError(f"{where}event", f"must be at most {MAX_EVENT_NAME} characters")
        fields.update(event=name, properties=properties)
    elif type_ in ("page", "screen"):
        fields.update(
            event=EVENT_TYPES[type_], properties=_page_properties(raw, properties, context, where)
        )
    elif type_ == "identify":
        # RudderStack's SDKs send identify traits in context.traits; Segment's at the top level.
        context_traits = _object(context.get("traits"), f"{where}context.traits")
        fields["traits"] = {**context_traits, **_object(raw.get("traits"), f"{where}traits")}
    elif type_ == "group":
        fields["group_id"] = _id(raw.get("groupId"), f"{where}groupId")
        if fields["group_id"] is None:
            raise TrackingError(f"{where}groupId", "is required for group")
        fields["traits"] = _object(raw.get("traits"), f"{where}traits")
    return Message(**fields)


def tracking_parse(*, body: Any, kind: str, received_at: datetime) -> tuple[list[Message], list[dict]]:
    """The messages of one call, and the errors of the batch messages left out. `kind` is "batch"
    or a message type. A single message's problem, or the call's own (no batch list), raises
    TrackingError naming it; in a batch a bad message is reported as {"index", "error"} (e.g.
    "batch[3].event: is required for track") and the others are kept, as POST /events does."""
    if not isinstance(body, dict):
        raise TrackingError("body", "must be a JSON object")
    sent_at = _moment(body.get("sentAt"), "sentAt")
    if kind != "batch":
        return [message_parse(body, path="", kind=kind, received_at=received_at, sent_at=sent_at)], []
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise TrackingError("batch", "must be a list of messages")
    messages, errors = [], []
    for i, raw in enumerate(batch):
        try:
            messages.append(message_parse(raw, path=f"batch[{i}]", kind=None, received_at=received_at, sent_at=sent_at))
        except TrackingError as exc:
            errors.append({"index": i, "error": str(exc)})
    return messages, errors


# ---- Identity -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Link:
    previous: str  # an anonymousId, or alias's previousId
    user_id: str
    from_alias: bool  # alias may also name a former userId: that customer is merged too


def _links(messages: list[Message]) -> dict[str, _Link]:
    """Anonymous id → the user it now belongs to; a later message in the call wins."""
    links: dict[str, _Link] = {}
    for m in messages:
        if m.type == "alias" and m.previous_id != m.user_id:
            links[m.previous_id] = _Link(m.previous_id, m.user_id, True)
        elif m.user_id and m.anonymous_id:
            links[m.anonymous_id] = _Link(m.anonymous_id, m.user_id, False)
    return links


def _with_anonymous_ids(anonymous_ids) -> Q:
    """Customers holding any of these anonymous ids, in the form the partial index
    customer_anonymous_ids_gin (audiences/models.py) answers."""
    wanted = Q()
    for anonymous_id in anonymous_ids:
        wanted |= Q(**{f"attributes__{ANONYMOUS_IDS}__contains": [anonymous_id]})
    return Q(attributes__has_key=ANONYMOUS_IDS) & wanted


def _known_anonymous(workspace: Workspace, anonymous_ids: set[str]) -> dict[str, str]:
    """anonymousId → external_id of the customer it was merged into (the latest, if several)."""
    if not anonymous_ids:
        return {}
    found: dict[str, str] = {}
    rows = Customer.objects.for_workspace(workspace).filter(_with_anonymous_ids(anonymous_ids)).order_by("updated_at", "id")
    for external_id, attributes in rows.values_list("external_id", "attributes"):
        for anonymous_id in set(attributes.get(ANONYMOUS_IDS) or []) & anonymous_ids:
            found[anonymous_id] = external_id
    return found


def _targets(workspace: Workspace, messages: list[Message], links: dict[str, _Link]) -> list[str]:
    """The external_id each message is about."""
    unlinked = {m.anonymous_id for m in messages if not m.user_id and m.anonymous_id not in links}
    known = _known_anonymous(workspace, unlinked)
    targets = []
    for m in messages:
        if m.user_id:
            targets.append(m.user_id)
        elif m.anonymous_id in links:
            targets.append(links[m.anonymous_id].user_id)
        else:
            targets.append(known.get(m.anonymous_id) or ANON_PREFIX + m.anonymous_id)
    return targets


def _customers_changed_on_commit(workspace_id: int, ids: list[int]) -> None:
    if ids:
        transaction.on_commit(
            lambda: hooks.customers_changed(workspace_id=workspace_id, customer_ids=ids)
        )


def _repoint(source: Customer, target: Customer) -> None:
    """Moves every row that points at `source` (events, list memberships, enrollments, messages…)
    to `target`, found through Django's reverse relations so the apps above audiences need not be
    imported. A row that would break a unique constraint of its table (the target is already in
    that list, or already active in that journey) stays and is erased with the source."""
    for relation in Customer._meta.related_objects:
        if relation.many_to_many:
            continue
        model, fk = relation.related_model, relation.field.name
        rows = model._base_manager.filter(**{fk: source})
        for constraint in model._meta.constraints:
            if not isinstance(constraint, UniqueConstraint) or fk not in constraint.fields:
                continue
            peers = model._base_manager.filter(**{fk: target}).filter(
                **{name: OuterRef(name) for name in constraint.fields if name != fk}
            )
            if constraint.condition is not None:
                rows = rows.exclude(
                    constraint.condition, Exists(peers.filter(constraint.condition))
                )
            else:
                rows = rows.exclude(Exists(peers))
        rows.update(**{fk: target})


def _merge_profile(source: Customer, target: Customer) -> None:
    """The known customer keeps what it has; the anonymous one fills the gaps."""
    for name in ("email", "phone", "timezone", "locale"):
        if not getattr(target, name):
            setattr(target, name, getattr(source, name))
    anonymous_ids = [
        *(target.attributes.get(ANONYMOUS_IDS) or []),
        *(source.attributes.get(ANONYMOUS_IDS) or []),
    ]
    target.attributes = {**source.attributes, **target.attributes, ANONYMOUS_IDS: anonymous_ids}
    target.tags = [*target.tags, *(t for t in source.tags if t not in target.tags)]
    have = {t.get("token") for t in target.push_tokens}
    target.push_tokens = [
        *target.push_tokens,
        *(t for t in source.push_tokens if t.get("token") not in have),
    ]
    target.unsubscribed = sorted({*target.unsubscribed, *source.unsubscribed})
    # Consent only narrows: a topic either side left is left, else the known customer's choice.
    subscriptions = {**(source.subscriptions or {}), **(target.subscriptions or {})}
    for topic, choice in (source.subscriptions or {}).items():
        if choice is False:
            subscriptions[topic] = False
    target.subscriptions = subscriptions


def customer_merge(*, workspace: Workspace, source: Customer, target: Customer) -> Customer:
    """Merges `source` into `target` (both of `workspace`, locked by the caller): profile gaps,
    events, memberships, enrollments and messages move over; `source` is erased."""
    _merge_profile(source, target)
    target.updated_at = timezone.now()
    target.save(
        update_fields=[
            "email",
            "phone",
            "timezone",
            "locale",
            "attributes",
            "tags",
            "push_tokens",
            "unsubscribed",
            "subscriptions",
            "updated_at",
        ]
    )
    _repoint(source, target)
    customer_erase(workspace=workspace, customer=source)
    return target


def _merge_links(workspace: Workspace, links: dict[str, _Link]) -> int:
    """Merges the anonymous customers these links name into their users and records the links.
    Cheap when there is nothing to do (two reads), which is every call after the first one."""
    if not links:
        return 0
    sources_wanted = {ANON_PREFIX + link.previous: link for link in links.values()}
    sources_wanted |= {link.previous: link for link in links.values() if link.from_alias}
    sources = {
        c.external_id: c.pk
        for c in Customer.objects.for_workspace(workspace)
        .filter(external_id__in=list(sources_wanted))
        .only("id", "external_id")
    }
    recorded = {
        external_id: set(attributes.get(ANONYMOUS_IDS) or [])
        for external_id, attributes in Customer.objects.for_workspace(workspace)
        .filter(external_id__in=[link.user_id for link in links.values()])
        .values_list("external_id", "attributes")
    }
    todo = [
        link
        for link in links.values()
        if link.previous not in recorded.get(link.user_id, set())
        or ANON_PREFIX + link.previous in sources
        or (link.from_alias and link.previous in sources)
    ]
    if not todo:
        return 0
    customers_delete_lock(workspace_id=workspace.pk, exclusive=True)  # before any row lock: it merges
    ids, created = customers_ensure(
        workspace_id=workspace.pk, external_ids=[link.user_id for link in todo], now=timezone.now()
    )
    _customers_changed_on_commit(workspace.pk, created)
    merged, changed = 0, []
    # Lock in id order (sources and targets together) so concurrent calls cannot deadlock.
    lock_ids = sorted({ids[link.user_id] for link in todo} | set(sources.values()))
    locked = {
        c.pk: c
        for c in Customer.objects.for_workspace(workspace)
        .filter(pk__in=lock_ids)
        .order_by("id")
        .select_for_update()
    }
    by_target: dict[str, list[_Link]] = {}
    for link in todo:
        by_target.setdefault(link.user_id, []).append(link)
    for user_id, group in by_target.items():
        target = locked.get(ids[user_id])
        if target is None:  # itself merged away by an alias earlier in this call
            continue
        for link in group:
            names = [ANON_PREFIX + link.previous] + ([link.previous] if link.from_alias else [])
            for name in names:
                source_pk = sources.get(name)
                if source_pk is None or source_pk == target.pk or source_pk not in locked:
                    continue
                customer_merge(workspace=workspace, source=locked.pop(source_pk), target=target)
                merged += 1
        kept = [
            a
            for a in target.attributes.get(ANONYMOUS_IDS) or []
            if a not in {link.previous for link in group}
        ]
        target.attributes = {
            **target.attributes,
            ANONYMOUS_IDS: [*kept, *(link.previous for link in group)][-MAX_ANONYMOUS_IDS:],
        }
        target.updated_at = timezone.now()
        target.save(update_fields=["attributes", "updated_at"])
        changed.append(target.pk)
        _forget_elsewhere(workspace, [link.previous for link in group], keep=target.pk)
    _customers_changed_on_commit(workspace.pk, changed)
    return merged


def _forget_elsewhere(workspace: Workspace, anonymous_ids: list[str], keep: int) -> None:
    """A device now linked to another user (a shared computer) stops resolving to the old one."""
    others = (
        Customer.objects.for_workspace(workspace)
        .filter(_with_anonymous_ids(anonymous_ids))
        .exclude(pk=keep)
        .select_for_update()
    )
    for other in others:
        other.attributes = {
            **other.attributes,
            ANONYMOUS_IDS: [
                a for a in other.attributes.get(ANONYMOUS_IDS) or [] if a not in anonymous_ids
            ],
        }
        other.save(update_fields=["attributes"])


# ---- Profiles -------------------------------------------------------------------------------
def _clean_or_drop(clean, value: Any, what: str) -> str | None:
    """Segment accepts any trait value; one we cannot store in a field is dropped, not the call."""
    try:
        return clean(value)
    except FieldError as exc:
        logger.info("tracking: ignoring %s: %s", what, exc)
        return None


def _platform(os_name: str) -> str:
    name = os_name.strip().lower()
    if "android" in name:
        return "android"
    if name in IOS_NAMES or name.startswith("ios"):
        return "ios"
    return "web"


def _context_patch(context: dict) -> dict:
    """context.timezone / context.locale → fields; context.device.token (+ os.name) → a push token."""
    patch: dict[str, Any] = {}
    for name, clean in (("timezone", timezone_clean), ("locale", locale_clean)):
        if context.get(name):
            value = _clean_or_drop(clean, context[name], f"context.{name}")
            if value:
                patch[name] = value
    device = context.get("device") if isinstance(context.get("device"), dict) else {}
    token = device.get("token")
    if isinstance(token, str) and token.strip() and len(token) <= MAX_PUSH_TOKEN:
        os_info = context.get("os") if isinstance(context.get("os"), dict) else {}
        os_name = os_info.get("name") if isinstance(os_info.get("name"), str) else ""
        patch["push_tokens"] = [{"platform": _platform(os_name), "token": token.strip()}]
    return patch


def _traits_patch(traits: dict, region: str) -> dict:
    """email/phone → Customer fields (a phone without "+" read in `region`, the workspace's default
    country); firstName/lastName → first_name/last_name; the rest as is."""
    patch: dict[str, Any] = {"attributes": {}}
    for key, value in traits.items():
        if key in FIELD_TRAITS:
            clean = partial(phone_clean, region=region) if key == "phone" else FIELD_TRAITS[key]
            cleaned = _clean_or_drop(clean, value, f"trait {key}")
            if cleaned is not None:
                patch[key] = cleaned
        elif key not in IGNORED_TRAITS:
            patch["attributes"][NAME_TRAITS.get(key, key)] = value
    return patch


def _add_patch(into: dict, patch: dict) -> None:
    for key, value in patch.items():
        if key == "attributes":
            into.setdefault("attributes", {}).update(value)
        elif key == "push_tokens":
            into.setdefault("push_tokens", []).extend(value)
        else:
            into[key] = value


def _unchanged_removed(patch: dict, current: Customer) -> dict:
    """Only what differs from the stored profile, so an SDK resending the same context on every
    call does not rewrite the row or wake the engine's profile hooks."""
    changed = {
        k: v
        for k, v in patch.items()
        if k not in ("attributes", "push_tokens") and getattr(current, k) != v
    }
    attributes = {
        k: v
        for k, v in patch.get("attributes", {}).items()
        if current.attributes.get(k, object()) != v
    }
    if attributes:
        changed["attributes"] = attributes
    stored = {
        (t.get("platform"), t.get("token")) for t in current.push_tokens if t.get("valid", True)
    }
    tokens = [t for t in patch.get("push_tokens", []) if (t["platform"], t["token"]) not in stored]
    if tokens:
        changed["push_tokens"] = tokens
    return changed


def _profiles_apply(workspace: Workspace, messages: list[Message], targets: list[str]) -> int:
    patches: dict[str, dict] = {}
    for m, external_id in zip(messages, targets, strict=True):
        if m.type == "alias":
            continue
        patch = _context_patch(m.context)
        if m.type == "identify":
            patch = {**_traits_patch(m.traits, workspace.default_country), **patch}
            patches.setdefault(external_id, {})  # identify creates the customer even without traits
        elif m.type == "group":
            patch["attributes"] = {"group_id": m.group_id, "group": m.traits}
        if patch:
            _add_patch(patches.setdefault(external_id, {}), patch)
    if not patches:
        return 0
    current = {
        c.external_id: c
        for c in Customer.objects.for_workspace(workspace).filter(external_id__in=list(patches))
    }
    rows = []
    for external_id, patch in patches.items():
        if external_id in current:
            patch = _unchanged_removed(patch, current[external_id])
            if not patch:
                continue
        rows.append({"external_id": external_id, **patch})
    if not rows:
        return 0
    result = customers_upsert(workspace=workspace, customers=rows)
    for error in result.errors:
        logger.warning(
            "tracking: profile %r not stored: %s",
            rows[error["index"]]["external_id"],
            error["error"],
        )
    return result.created + result.updated


# ---- The call -------------------------------------------------------------------------------
def _event_rows(messages: list[Message], targets: list[str]) -> list[dict]:
    rows = []
    for m, external_id in zip(messages, targets, strict=True):
        if m.type in EVENT_TYPES:
            row = {
                "customer_id": external_id,
                "name": m.event,
                "properties": m.properties,
                "timestamp": m.occurred_at.isoformat(),
            }
            if m.message_id:
                row["id"] = m.message_id  # Segment's idempotency key is the event's
            rows.append(row)
    return rows


def tracking_apply(*, workspace: Workspace, messages: list[Message]) -> TrackingResult:
    """Applies one call's messages in one transaction: identity merges first (so events land on
    the known customer), then profile changes, then events through `events_ingest`."""
    result = TrackingResult()
    if not messages:
        return result
    with transaction.atomic():
        links = _links(messages)
        targets = _targets(workspace, messages, links)
        result.merged = _merge_links(workspace, links)
        # events_ingest takes this lock too; taken here, before the profiles' row locks, so a
        # concurrent merge (lock, then rows) and this call (rows, then lock) cannot deadlock.
        customers_delete_lock(workspace_id=workspace.pk, exclusive=False)
        result.profiles = _profiles_apply(workspace, messages, targets)
        rows = _event_rows(messages, targets)
        if rows:
            ingest = events_ingest(workspace=workspace, events=rows)
            for error in ingest.errors:
                logger.warning(
                    "tracking: event %r not stored: %s",
                    rows[error["index"]]["name"],
                    error["error"],
                )
            result.events, result.duplicates = ingest.accepted, ingest.duplicates
    return result
