"""The built-in journey templates: complete, valid graphs + settings modelled on the journeys
marketers build most (Braze/Customer.io playbooks). `POST /journeys {"template"}` copies one."""

from __future__ import annotations

import copy
from typing import Any

DAY = "days"
HOUR = "hours"
SINCE_ENTRY = "since_entry"
QUIET_NIGHTS = {"start": "21:00", "end": "08:00"}


def _duration(value: int, unit: str) -> dict:
    return {"value": value, "unit": unit}


def _did(event: str, within: Any = SINCE_ENTRY) -> dict:
    """The condition "the customer did `event` (since entering the journey)"."""
    return {"event": event, "within": within}


def _graph(nodes: list[tuple], edges: list[tuple]) -> dict:
    """nodes: (id, type, name, config) laid out top to bottom in order; edges: (source, handle, target)."""
    return {
        "nodes": [
            {
                "id": node_id,
                "type": kind,
                "name": name,
                "position": {"x": 0, "y": 140 * i},
                "config": config,
            }
            for i, (node_id, kind, name, config) in enumerate(nodes)
        ],
        "edges": [
            {
                "id": f"{source}-{handle}-{target}",
                "source": source,
                "source_handle": handle,
                "target": target,
            }
            for source, handle, target in edges
        ],
    }


def _email(subject: str, html: str) -> dict:
    return {"channel": "email", "content": {"subject": subject, "html": html}}


def _sms(text: str) -> dict:
    return {"channel": "sms", "content": {"text": text}}


def _push(title: str, body: str, url: str = "") -> dict:
    content = {"title": title, "body": body, "platforms": ["android", "ios"]}
    if url:
        content["url"] = url
    return {"channel": "push", "content": content}


def _settings(entry: dict, **overrides: Any) -> dict:
    settings = {
        "entry": entry,
        "audience": None,
        "window": None,
        "re_entry": {"policy": "never"},
        "exit_conditions": [],
        "goals": [],
        "frequency_cap": {"max": 3, "per": _duration(1, DAY)},
        "quiet_hours": QUIET_NIGHTS,
        "holdout": None,
    }
    settings.update(overrides)
    return settings


HI = '{{ customer.first_name | default: "there" }}'

TEMPLATES: dict[str, dict] = {
    "onboarding": {
        "name": "Onboarding",
        "description": "Welcome new sign-ups, nudge those who have not completed their profile, "
        "and tag customers who activate.",
        "graph": _graph(
            [
                ("start", "start", "Signed up", {}),
                (
                    "welcome",
                    "message",
                    "Welcome email",
                    _email(
                        "Welcome aboard, " + HI + "!",
                        "<p>Hi " + HI + ", thanks for joining. Here is how to get started.</p>",
                    ),
                ),
                (
                    "wait_2d",
                    "wait",
                    "Wait 2 days",
                    {"mode": "duration", "duration": _duration(2, DAY)},
                ),
                (
                    "profile_done",
                    "event_branch",
                    "Completed profile?",
                    {"event": "profile_completed", "within": SINCE_ENTRY},
                ),
                (
                    "tips",
                    "message",
                    "Tips email",
                    _email(
                        "3 tips to get more out of your account",
                        "<p>Nice work, " + HI + "! Three tips for your first week…</p>",
                    ),
                ),
                (
                    "nudge",
                    "message",
                    "Profile nudge",
                    _push("Finish your profile", "It takes one minute, " + HI + "."),
                ),
                (
                    "wait_3d",
                    "wait",
                    "Wait 3 days",
                    {"mode": "duration", "duration": _duration(3, DAY)},
                ),
                ("tag", "update_profile", "Tag onboarded", {"add_tags": ["onboarded"]}),
                ("done", "exit", "Done", {}),
            ],
            [
                ("start", "next", "welcome"),
                ("welcome", "next", "wait_2d"),
                ("wait_2d", "next", "profile_done"),
                ("profile_done", "yes", "tips"),
                ("profile_done", "no", "nudge"),
                ("nudge", "next", "wait_3d"),
                ("tips", "next", "tag"),
                ("wait_3d", "next", "tag"),
                ("tag", "next", "done"),
            ],
        ),
        "settings": _settings(
            {"type": "event", "events": [{"name": "signed_up"}]},
            goals=[
                {
                    "id": "activated",
                    "name": "Activated",
                    "condition": _did("first_project_created"),
                    "exit": False,
                }
            ],
        ),
    },
    "abandoned_cart": {
        "name": "Abandoned cart",
        "description": "Customers who update a cart or start checkout and do not buy within an hour "
        "get an email reminder, then an SMS (or a push when there is no phone) a day later.",
        "graph": _graph(
            [
                ("start", "start", "Cart updated / checkout started", {}),
                (
                    "wait_order",
                    "wait",
                    "Wait 1 hour for an order",
                    {
                        "mode": "event",
                        "event": "order_completed",
                        "timeout": _duration(1, HOUR),
                    },
                ),
                (
                    "reminder",
                    "message",
                    "Reminder email",
                    _email(
                        "You left something in your cart",
                        "<p>Hi " + HI + ", your cart is waiting. "
                        "<a href=\"{{ event.cart_url | default: 'https://example.com/cart' }}\">Complete your order</a>.</p>",
                    ),
                ),
                (
                    "wait_1d",
                    "wait",
                    "Wait 1 day",
                    {"mode": "duration", "duration": _duration(1, DAY)},
                ),
                (
                    "bought",
                    "event_branch",
                    "Ordered since?",
                    {"event": "order_completed", "within": SINCE_ENTRY},
                ),
                (
                    "has_phone",
                    "branch",
                    "Has a phone?",
                    {
                        "groups": [
                            {
                                "id": "phone",
                                "name": "Has a phone",
                                "condition": {"attribute": "phone", "op": "exists"},
                            },
                        ]
                    },
                ),
                (
                    "sms",
                    "message",
                    "SMS follow-up",
                    _sms("Still thinking it over, " + HI + "? Your cart is saved for 24h."),
                ),
                (
                    "push",
                    "message",
                    "Push follow-up",
                    _push("Your cart is waiting", "Complete your order before it expires."),
                ),
                ("purchased", "exit", "Purchased", {}),
                ("done", "exit", "Done", {}),
            ],
            [
                ("start", "next", "wait_order"),
                ("wait_order", "event", "purchased"),
                ("wait_order", "timeout", "reminder"),
                ("reminder", "next", "wait_1d"),
                ("wait_1d", "next", "bought"),
                ("bought", "yes", "purchased"),
                ("bought", "no", "has_phone"),
                ("has_phone", "phone", "sms"),
                ("has_phone", "else", "push"),
                ("sms", "next", "done"),
            ],
        ),
        "settings": _settings(
            {"type": "event", "events": [{"name": "cart_updated"}, {"name": "checkout_started"}]},
            re_entry={"policy": "after", "cooldown": _duration(1, DAY)},
            exit_conditions=[_did("order_completed")],
            goals=[
                {
                    "id": "purchase",
                    "name": "Purchase",
                    "condition": _did("order_completed"),
                    "exit": True,
                }
            ],
        ),
    },
    "promotion": {
        "name": "Promotion",
        "description": "A one-off campaign to opted-in customers: an A/B test of two emails, then a "
        "last-chance SMS to those who have not bought two days later.",
        "graph": _graph(
            [
                ("start", "start", "Opted-in customers", {}),
                (
                    "ab",
                    "split",
                    "A/B test",
                    {
                        "paths": [
                            {"id": "a", "name": "Discount", "percent": 50},
                            {"id": "b", "name": "Free shipping", "percent": 50},
                        ]
                    },
                ),
                (
                    "email_a",
                    "message",
                    "Email A: 20% off",
                    _email(
                        "20% off everything this weekend", "<p>Hi " + HI + ", use code SAVE20.</p>"
                    ),
                ),
                (
                    "email_b",
                    "message",
                    "Email B: free shipping",
                    _email("Free shipping this weekend", "<p>Hi " + HI + ", no minimum order.</p>"),
                ),
                (
                    "wait_2d",
                    "wait",
                    "Wait 2 days",
                    {"mode": "duration", "duration": _duration(2, DAY)},
                ),
                (
                    "bought",
                    "event_branch",
                    "Purchased?",
                    {"event": "order_completed", "within": SINCE_ENTRY},
                ),
                (
                    "last_chance",
                    "message",
                    "Last-chance SMS",
                    _sms("Last chance, " + HI + ": the offer ends tonight."),
                ),
                ("done", "exit", "Done", {}),
            ],
            [
                ("start", "next", "ab"),
                ("ab", "a", "email_a"),
                ("ab", "b", "email_b"),
                ("email_a", "next", "wait_2d"),
                ("email_b", "next", "wait_2d"),
                ("wait_2d", "next", "bought"),
                ("bought", "yes", "done"),
                ("bought", "no", "last_chance"),
                ("last_chance", "next", "done"),
            ],
        ),
        "settings": _settings(
            {
                "type": "segment",
                "condition": {"attribute": "marketing_opt_in", "op": "eq", "value": True},
            },
            goals=[
                {
                    "id": "purchase",
                    "name": "Purchase",
                    "condition": _did("order_completed"),
                    "exit": True,
                }
            ],
        ),
    },
    "post_purchase": {
        "name": "Post-purchase",
        "description": "Thank buyers, ask for a review a week later, and tag those who click through.",
        "graph": _graph(
            [
                ("start", "start", "Order completed", {}),
                (
                    "thanks",
                    "message",
                    "Thank-you email",
                    _email(
                        "Thanks for your order, " + HI,
                        "<p>Your order {{ event.order_id }} is on its way.</p>",
                    ),
                ),
                (
                    "wait_7d",
                    "wait",
                    "Wait 7 days",
                    {"mode": "duration", "duration": _duration(7, DAY)},
                ),
                ("morning", "wait", "Until 10:00", {"mode": "until", "time": "10:00"}),
                (
                    "review",
                    "message",
                    "Review request",
                    {
                        **_email(
                            "How did we do?",
                            '<p>Tell us about your order: <a href="https://example.com/review">leave a review</a>.</p>',
                        ),
                        "await": {"status": "clicked", "within": _duration(3, DAY)},
                    },
                ),
                ("reviewer", "update_profile", "Tag reviewer", {"add_tags": ["reviewer"]}),
                (
                    "reminder",
                    "message",
                    "Review push",
                    _push("Got a minute?", "Your review helps other shoppers."),
                ),
                ("done", "exit", "Done", {}),
            ],
            [
                ("start", "next", "thanks"),
                ("thanks", "next", "wait_7d"),
                ("wait_7d", "next", "morning"),
                ("morning", "next", "review"),
                ("review", "yes", "reviewer"),
                ("review", "no", "reminder"),
                ("reviewer", "next", "done"),
            ],
        ),
        "settings": _settings(
            {"type": "event", "events": [{"name": "order_completed"}]},
            re_entry={"policy": "always"},
            goals=[
                {
                    "id": "review",
                    "name": "Review submitted",
                    "condition": _did("review_submitted"),
                    "exit": True,
                }
            ],
        ),
    },
    "re_engagement": {
        "name": "Re-engagement",
        "description": "Win back customers with no session in 30 days: an email offer, then a push; "
        "those who come back are untagged, the rest tagged dormant.",
        "graph": _graph(
            [
                ("start", "start", "Inactive 30 days", {}),
                (
                    "miss_you",
                    "message",
                    "We miss you",
                    _email(
                        "We miss you, " + HI,
                        "<p>Here is 15% off to welcome you back: COMEBACK15.</p>",
                    ),
                ),
                (
                    "wait_session",
                    "wait",
                    "Wait 3 days for a session",
                    {
                        "mode": "event",
                        "event": "session_started",
                        "timeout": _duration(3, DAY),
                    },
                ),
                ("came_back", "update_profile", "Untag dormant", {"remove_tags": ["dormant"]}),
                (
                    "push",
                    "message",
                    "Push offer",
                    _push("Your 15% off expires soon", "Come back and see what's new."),
                ),
                (
                    "wait_4d",
                    "wait",
                    "Wait 4 days",
                    {"mode": "duration", "duration": _duration(4, DAY)},
                ),
                (
                    "returned",
                    "event_branch",
                    "Came back?",
                    {"event": "session_started", "within": SINCE_ENTRY},
                ),
                ("dormant", "update_profile", "Tag dormant", {"add_tags": ["dormant"]}),
                ("done", "exit", "Done", {}),
            ],
            [
                ("start", "next", "miss_you"),
                ("miss_you", "next", "wait_session"),
                ("wait_session", "event", "came_back"),
                ("wait_session", "timeout", "push"),
                ("push", "next", "wait_4d"),
                ("wait_4d", "next", "returned"),
                ("returned", "no", "dormant"),
                ("dormant", "next", "done"),
            ],
        ),
        "settings": _settings(
            {
                "type": "segment",
                "condition": {"not": {"event": "session_started", "within": _duration(30, DAY)}},
                "recurring": True,
            },
            re_entry={"policy": "after", "cooldown": _duration(90, DAY)},
            goals=[
                {
                    "id": "reactivated",
                    "name": "Reactivated",
                    "condition": _did("session_started"),
                    "exit": False,
                }
            ],
        ),
    },
    "birthday": {
        "name": "Birthday",
        "description": "A birthday email with a coupon at 09:00 in the customer's time zone, and an "
        "SMS reminder three days later if the coupon is unused.",
        "graph": _graph(
            [
                ("start", "start", "Birthday", {}),
                (
                    "greeting",
                    "message",
                    "Birthday email",
                    _email(
                        "Happy birthday, " + HI + "! 🎂",
                        "<p>Celebrate with 25% off today: BDAY25.</p>",
                    ),
                ),
                (
                    "mark",
                    "update_profile",
                    "Remember the coupon",
                    {"set": {"birthday_coupon": "BDAY25"}},
                ),
                (
                    "wait_3d",
                    "wait",
                    "Wait 3 days",
                    {"mode": "duration", "duration": _duration(3, DAY)},
                ),
                (
                    "redeemed",
                    "event_branch",
                    "Coupon used?",
                    {
                        "event": "coupon_redeemed",
                        "where": [{"property": "code", "op": "eq", "value": "BDAY25"}],
                        "within": SINCE_ENTRY,
                    },
                ),
                (
                    "reminder",
                    "message",
                    "SMS reminder",
                    _sms("Your birthday coupon BDAY25 is still waiting, " + HI + "!"),
                ),
                ("done", "exit", "Done", {}),
            ],
            [
                ("start", "next", "greeting"),
                ("greeting", "next", "mark"),
                ("mark", "next", "wait_3d"),
                ("wait_3d", "next", "redeemed"),
                ("redeemed", "no", "reminder"),
                ("redeemed", "yes", "done"),
            ],
        ),
        "settings": _settings(
            {"type": "date_attribute", "attribute": "birthday", "offset_days": 0, "time": "09:00"},
            re_entry={"policy": "always"},  # once a year: the date entry fires yearly
            goals=[
                {
                    "id": "redeemed",
                    "name": "Coupon redeemed",
                    "condition": {
                        "event": "coupon_redeemed",
                        "where": [{"property": "code", "op": "eq", "value": "BDAY25"}],
                        "within": SINCE_ENTRY,
                    },
                    "exit": False,
                }
            ],
        ),
    },
}


def templates_list() -> list[dict]:
    return [{"key": key, **copy.deepcopy(template)} for key, template in TEMPLATES.items()]


def template_get(*, key: str) -> dict | None:
    template = TEMPLATES.get(key)
    return {"key": key, **copy.deepcopy(template)} if template else None
