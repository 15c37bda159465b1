"""Field rules shared by the customer API and CSV import, so both accept exactly the same values."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

import phonenumbers

from .phones import fast_e164

# The WHATWG (HTML living standard) e-mail grammar: what browsers accept in <input type=email>.
EMAIL_RE = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
# BCP 47-ish: "en", "en-US", "pt_BR", "zh-Hant-TW".
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")
PUSH_PLATFORMS = ("android", "ios", "web")
CHANNELS = ("email", "sms", "push", "whatsapp", "rcs", "telegram", "kakao_alimtalk", "kakao_friendtalk", "in_app")
MAX_EXTERNAL_ID = 255
MAX_TAG = 100


class FieldError(ValueError):
    """A value a customer field cannot take; the message is shown to the client and `field`
    (when known) names the field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def external_id_clean(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise FieldError("external_id is required")
    value = value.strip()
    if len(value) > MAX_EXTERNAL_ID:
        raise FieldError(f"external_id must be at most {MAX_EXTERNAL_ID} characters")
    return value


def email_clean(value) -> str:
    """A valid address, lower-cased; "" clears it."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise FieldError("email must be a string")
    value = value.strip().lower()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise FieldError(f"email {value!r} is not a valid address")
    return value


def phone_clean(value, region: str | None = None) -> str:
    """An E.164 number ("+14155550123"), checked against the numbering plan; "" clears it. A
    number without "+" is read as a national number of `region` (ISO 3166 alpha-2: the workspace's
    default country); without a region it must be in E.164 form. A "+" number keeps its own country."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise FieldError("phone must be a string")
    raw = value.strip()
    if not raw.startswith("+") and not region:
        raise FieldError(
            f"phone {raw!r} must be in E.164 form, starting with + and the country code "
            "(or set the workspace's default country to read national numbers)"
        )
    fast = fast_e164(raw, region or None)  # no default country ("") reads as None; the library's answer for most numbers, precompiled (audiences/phones.py)
    if fast:
        return fast
    if fast == "":
        raise FieldError(f"phone {raw!r} is not a valid number")
    e164, problem = _library_e164(raw, region)
    if problem:
        raise FieldError(f"phone {raw!r} {problem}")
    return e164


# The library's own reading costs ~30 µs a number; files repeat their odd values ("+1 800 FLOWERS"),
# so the last answers are kept (a pure function of the text and region).
@lru_cache(maxsize=4096)
def _library_e164(raw: str, region: str | None) -> tuple[str, str]:
    """(the E.164 form, "") or ("", why it is refused), as phonenumbers reads `raw`."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return "", "is not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "", "is not a valid number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def timezone_clean(value) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value.strip() not in _timezones():
        raise FieldError(f"timezone {value!r} is not an IANA time zone (e.g. Europe/Paris)")
    return value.strip()


def locale_clean(value) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not LOCALE_RE.match(value.strip()):
        raise FieldError(f"locale {value!r} is not a locale (e.g. en-US)")
    return value.strip()


def tags_clean(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100:
        raise FieldError("tags must be a list of at most 100 strings")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG:
            raise FieldError(f"each tag must be a non-empty string of at most {MAX_TAG} characters")
        if tag.strip() not in tags:
            tags.append(tag.strip())
    return tags
