"""RCS content rules (RCS Business Messaging's limits): a text, a standalone rich card or a
carousel of 2–10 cards, and up to 11 suggested replies or actions; checked at design time and
turned into RBM's contentMessage by providers/rbm.py."""

from __future__ import annotations

from typing import Any

MAX_TEXT = 3072
MAX_SUGGESTIONS = 11  # on the message
MAX_CARD_SUGGESTIONS = 4  # on one card
MAX_SUGGESTION_TEXT = 25
MAX_POSTBACK = 2048
MAX_CARD_TITLE = 200
MAX_CARD_DESCRIPTION = 2000
MIN_CAROUSEL, MAX_CAROUSEL = 2, 10
CARD_WIDTHS = ("SMALL", "MEDIUM")
MEDIA_HEIGHTS = ("SHORT", "MEDIUM", "TALL")
SUGGESTION_TYPES = {"reply": (), "url": ("url",), "dial": ("phone",)}
SUGGESTION_KEYS = {"type", "text", "postback_data", "url", "phone"}
CARD_KEYS = {"title", "description", "media_url", "media_height", "suggestions"}


def _text_error(value: Any, where: str, limit: int) -> list[tuple[str, str]]:
    if not isinstance(value, str):
        return [(where, "Must be a string.")]
    if len(value) > limit:
        return [(where, f"{len(value)} characters; RCS allows {limit}.")]
    return []


def _suggestion_errors(suggestions: Any, where: str, limit: int) -> list[tuple[str, str]]:
    if not isinstance(suggestions, list):
        return [(where, "Must be a list.")]
    errors: list[tuple[str, str]] = []
    if len(suggestions) > limit:
        errors.append((where, f"At most {limit} suggestions; got {len(suggestions)}."))
    for i, item in enumerate(suggestions):
        at = f"{where}.{i}"
        if not isinstance(item, dict):
            errors.append((at, "Must be an object with type and text."))
            continue
        errors += [(f"{at}.{k}", "Unknown field.") for k in item if k not in SUGGESTION_KEYS]
        kind = item.get("type", "reply")
        if kind not in SUGGESTION_TYPES:
            errors.append((f"{at}.type", f"Must be one of {', '.join(SUGGESTION_TYPES)}."))
            continue
        if not item.get("text"):
            errors.append((f"{at}.text", "This field is required."))
        else:
            errors += _text_error(item["text"], f"{at}.text", MAX_SUGGESTION_TEXT)
        if item.get("postback_data") is not None:
            errors += _text_error(item["postback_data"], f"{at}.postback_data", MAX_POSTBACK)
        for needed in SUGGESTION_TYPES[kind]:
            if not item.get(needed):
                errors.append((f"{at}.{needed}", f"A {kind} suggestion needs its {needed}."))
            elif not isinstance(item[needed], str):
                errors.append((f"{at}.{needed}", "Must be a string."))
    return errors


def _card_errors(card: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(card, dict):
        return [(where, "Must be an object with a title, description or media_url.")]
    errors = [(f"{where}.{k}", "Unknown field.") for k in card if k not in CARD_KEYS]
    if not any(card.get(k) for k in ("title", "description", "media_url")):
        errors.append((where, "A card needs a title, a description or a media_url."))
    for key, limit in (
        ("title", MAX_CARD_TITLE),
        ("description", MAX_CARD_DESCRIPTION),
        ("media_url", MAX_POSTBACK),
    ):
        if card.get(key) is not None:
            errors += _text_error(card[key], f"{where}.{key}", limit)
    if card.get("media_height") is not None and card["media_height"] not in MEDIA_HEIGHTS:
        errors.append((f"{where}.media_height", f"Must be one of {', '.join(MEDIA_HEIGHTS)}."))
    if card.get("suggestions") is not None:
        errors += _suggestion_errors(
            card["suggestions"], f"{where}.suggestions", MAX_CARD_SUGGESTIONS
        )
    return errors


def content_errors(content: dict) -> list[tuple[str, str]]:
    """RBM's structural rules; called by rendering.content_errors. `text` is the message, or with
    a card or carousel the fallback text (RBM's contentMessage.fallback, and the SMS fallback)."""
    errors: list[tuple[str, str]] = []
    if isinstance(content.get("text"), str):
        errors += _text_error(content["text"], "text", MAX_TEXT)
    if content.get("card") is not None and content.get("cards") is not None:
        errors.append(("cards", "Give either a card or cards (a carousel), not both."))
    if content.get("card") is not None:
        errors += _card_errors(content["card"], "card")
    cards = content.get("cards")
    if cards is not None:
        if not isinstance(cards, list):
            errors.append(("cards", "Must be a list."))
        else:
            if not MIN_CAROUSEL <= len(cards) <= MAX_CAROUSEL:
                errors.append(
                    (
                        "cards",
                        f"A carousel has {MIN_CAROUSEL}–{MAX_CAROUSEL} cards; got {len(cards)}.",
                    )
                )
            for i, card in enumerate(cards):
                errors += _card_errors(card, f"cards.{i}")
    if content.get("suggestions") is not None:
        errors += _suggestion_errors(content["suggestions"], "suggestions", MAX_SUGGESTIONS)
    return errors
