"""Localized content (API.md "Localized content"): a channel's `content.locales` holds variants
by locale tag, and the customer's locale picks the most specific one (`es-MX`, then `es`), else
the top-level fields. A variant gives its own text (template) fields; the others (push platforms,
data, a WhatsApp template's name…) carry over from the top level."""

from __future__ import annotations

import re
from typing import Any

from . import rendering

LOCALES_KEY = "locales"
# BCP 47 shape, loosely: a 2–3 letter language and optional subtags (es, es-MX, zh-Hant-TW);
# "_" is read as "-" (es_MX), and matching ignores case.
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}$")
MAX_LOCALES = 100


def _normal(tag: str) -> str:
    return tag.replace("_", "-").lower()


def _carried_over(channel: str, base: dict) -> dict:
    spec = rendering.CONTENT_SPECS.get(channel, {})
    return {
        k: v
        for k, v in base.items()
        if spec.get(k, rendering.FieldSpec(kind="text")).kind not in ("template", "templates")
    }


def top_level(content: Any) -> Any:
    """The content without its variants (what the default locale sends)."""
    if not isinstance(content, dict):
        return content
    return {k: v for k, v in content.items() if k != LOCALES_KEY}


def content_for_locale(channel: str, content: Any, locale: str | None) -> tuple[str, Any]:
    """(the locales key used, or "" for the top level; the content to render for `locale`)."""
    base = top_level(content)
    variants = content.get(LOCALES_KEY) if isinstance(content, dict) else None
    if not isinstance(variants, dict) or not variants or not locale:
        return "", base
    by_tag = {_normal(k): k for k in variants if isinstance(k, str)}
    wanted = _normal(locale)
    subtags = wanted.split("-")
    # es-419-x → es-419 → es: each step drops the last subtag.
    for n in range(len(subtags), 0, -1):
        key = by_tag.get("-".join(subtags[:n]))
        if key is not None and isinstance(variants[key], dict):
            return key, {**_carried_over(channel, base), **variants[key]}
    return "", base


def content_errors(channel: str, content: Any) -> list[tuple[str, str]]:
    """rendering.content_errors for the top level and for every variant (its fields named
    `locales.<tag>.<field>`), plus the shape of `locales` itself."""
    errors = rendering.content_errors(channel, top_level(content))
    if not isinstance(content, dict) or LOCALES_KEY not in content:
        return errors
    variants = content[LOCALES_KEY]
    if not isinstance(variants, dict):
        return [*errors, (LOCALES_KEY, "Must be an object of locale → content.")]
    if len(variants) > MAX_LOCALES:
        return [*errors, (LOCALES_KEY, f"At most {MAX_LOCALES} locales.")]
    seen: dict[str, str] = {}
    for tag, variant in variants.items():
        where = f"{LOCALES_KEY}.{tag}"
        if not LOCALE_RE.match(tag):
            errors.append((where, "Must be a locale tag such as ko, es or es-MX."))
            continue
        if _normal(tag) in seen:
            errors.append((where, f"The same locale as {seen[_normal(tag)]!r}."))
            continue
        seen[_normal(tag)] = tag
        if not isinstance(variant, dict):
            errors.append((where, "Must be an object of content fields."))
            continue
        if LOCALES_KEY in variant:
            errors.append((f"{where}.{LOCALES_KEY}", "Locales do not nest."))
            continue
        merged = {**_carried_over(channel, top_level(content)), **variant}
        errors += [
            (f"{where}.{field}" if field else where, message)
            for field, message in rendering.content_errors(channel, merged)
        ]
    return errors


def static_limit_errors(channel: str, content: Any, workspace_settings: dict | None) -> list[tuple[str, str]]:
    """rendering.static_limit_errors for the top level and every well-formed variant."""
    errors = rendering.static_limit_errors(channel, top_level(content), workspace_settings)
    variants = content.get(LOCALES_KEY) if isinstance(content, dict) else None
    for tag, variant in (variants or {}).items():
        if isinstance(variant, dict):
            errors += [
                (f"{LOCALES_KEY}.{tag}.{field}", message)
                for field, message in rendering.static_limit_errors(channel, variant, workspace_settings)
            ]
    return errors
