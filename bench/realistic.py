"""Data shaped like users' own, for the benchmarks and the phone test: phone numbers in the forms
people type them (E.164, spaced international, national US, Korean 010-…, broken ones), locales,
time zones, tags and event properties of realistic size. Deterministic for a given seed."""

from __future__ import annotations

import random

import phonenumbers

# Where customers' numbers come from, weighted: mostly a few big markets, then a long tail
# (multi-region calling codes +1, +7, +44 and codes whose regions use leading digits included).
REGIONS = (["US"] * 30 + ["KR"] * 12 + ["GB"] * 8 + ["FR"] * 6 + ["DE"] * 6 + ["BR"] * 5 + ["IN"] * 5
           + ["JP"] * 4 + ["CA"] * 4 + ["IT"] * 3 + ["ES"] * 3 + ["MX"] * 3 + ["AU"] * 2 + ["NL"] * 2
           + ["RU", "KZ", "JM", "PR", "GG", "IM", "AR", "CN", "SG", "ZA", "NG", "AE", "SE", "CH", "PL", "TR"])
LOCALES = {"US": "en-US", "KR": "ko-KR", "GB": "en-GB", "FR": "fr-FR", "DE": "de-DE", "BR": "pt-BR", "IN": "hi-IN",
           "JP": "ja-JP", "CA": "en-CA", "IT": "it-IT", "ES": "es-ES", "MX": "es-MX", "AU": "en-AU", "NL": "nl-NL"}
TIMEZONES = {"US": "America/New_York", "KR": "Asia/Seoul", "GB": "Europe/London", "FR": "Europe/Paris",
             "DE": "Europe/Berlin", "BR": "America/Sao_Paulo", "IN": "Asia/Kolkata", "JP": "Asia/Tokyo",
             "CA": "America/Toronto", "IT": "Europe/Rome", "ES": "Europe/Madrid", "MX": "America/Mexico_City",
             "AU": "Australia/Sydney", "NL": "Europe/Amsterdam"}
TAGS = ["newsletter", "vip", "beta", "churn-risk", "b2b", "mobile", "web", "referral", "trial", "holiday-2025"]
_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


def _example(region: str, kind) -> str | None:
    number = phonenumbers.example_number_for_type(region, kind)
    return None if number is None else phonenumbers.national_significant_number(number)


_EXAMPLES: dict[str, list[tuple[int, str]]] = {}


def _examples(region: str) -> list[tuple[int, str]]:
    """(calling code, national significant number) examples of the region's mobile and fixed lines."""
    if region not in _EXAMPLES:
        code = phonenumbers.country_code_for_region(region)
        _EXAMPLES[region] = [(code, nsn) for kind in _TYPES if (nsn := _example(region, kind))]
    return _EXAMPLES[region]


def phone(rnd: random.Random) -> tuple[str, str]:
    """(region, a phone number as a user's file holds it). About 80% are international (plain
    E.164 or spaced/punctuated), 8% national US "(415) 555-2671", 5% Korean "010-1234-5678", the
    rest broken: too short, too long, letters, unknown codes, random digits."""
    region = rnd.choice(REGIONS)
    code, nsn = rnd.choice(_examples(region))
    keep = max(1, len(nsn) // 2)  # the example's leading digits (area code, mobile prefix) stay
    nsn = nsn[:keep] + "".join(rnd.choice("0123456789") for _ in range(len(nsn) - keep))
    roll = rnd.random()
    if roll < 0.55:
        return region, f"+{code}{nsn}"
    if roll < 0.80:
        try:
            parsed = phonenumbers.parse(f"+{code}{nsn}", None)
        except phonenumbers.NumberParseException:
            return region, f"+{code} {nsn}"
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return region, text if rnd.random() < 0.7 else text.replace(" ", "-", 1).replace(" ", ".")
    if roll < 0.88:
        area = rnd.choice(["415", "212", "646", "312", "617", "206", "512", "305"])
        return "US", f"({area}) {rnd.randrange(200, 1000)}-{rnd.randrange(10000):04d}"
    if roll < 0.93:
        return "KR", f"010-{rnd.randrange(10000):04d}-{rnd.randrange(10000):04d}"
    return region, broken_phone(rnd)


def broken_phone(rnd: random.Random) -> str:
    """A value a phone column holds by mistake, or a number no plan has."""
    kind = rnd.randrange(7)
    digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randrange(3, 19)))
    if kind == 0:
        return f"+{digits[:rnd.randrange(1, 5)]}"  # too short
    if kind == 1:
        return f"+{digits}{digits}"  # too long
    if kind == 2:
        return f"+1 800 FLOWERS{digits[:2]}"  # letters
    if kind == 3:
        return f"+999{digits}"  # no such calling code
    if kind == 4:
        return f"+{digits} ext. {rnd.randrange(1000)}"
    if kind == 5:
        return f"+0{digits}"
    return f"+{digits}"  # random digits: sometimes valid somewhere, mostly not


_ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _any_region_number(rnd: random.Random) -> str:
    """A number of any region (small ones sharing +1, +44, +7… included) with a random tail and
    sometimes a digit more or less: valid or not for the region its leading digits point at."""
    examples = _examples(rnd.choice(_ALL_REGIONS))
    if not examples:
        return f"+{rnd.randrange(1, 1000)}{rnd.randrange(10**8)}"
    code, nsn = rnd.choice(examples)
    keep = rnd.randrange(1, len(nsn) + 1)
    tail = "".join(rnd.choice("0123456789") for _ in range(len(nsn) - keep + rnd.choice((-1, 0, 0, 0, 1))))
    return f"+{code}{nsn[:keep]}{tail}"


def phones(count: int, seed: int = 7) -> list[str]:
    """`count` numbers: three in four as phone() makes them, the rest sweeping every region's
    numbering plan, random "+digits" strings over every calling code and length, and broken values."""
    rnd = random.Random(seed)
    found = []
    for i in range(count):
        kind = i % 8
        if kind == 3:
            found.append(_any_region_number(rnd))
        elif kind == 7:
            found.append(broken_phone(rnd) if rnd.random() < 0.5 else f"+{rnd.randrange(1, 1000)}{rnd.randrange(10**rnd.randrange(3, 13))}")
        else:
            found.append(phone(rnd)[1])
    return found


def event_properties(rnd: random.Random) -> dict:
    """An e-commerce event's properties as SDKs send them: ~400–650 bytes of JSON with nesting."""
    items = [
        {"sku": f"sku-{rnd.randrange(5000)}", "name": f"Product {rnd.randrange(5000)}", "price": rnd.randrange(100, 20000) / 100,
         "quantity": rnd.randrange(1, 4), "category": rnd.choice(["shoes", "shirts", "bags", "hats", "books"])}
        for _ in range(rnd.randrange(1, 4))
    ]
    return {
        "amount": round(sum(i["price"] * i["quantity"] for i in items), 2),
        "currency": rnd.choice(["USD", "EUR", "KRW", "GBP"]),
        "items": items,
        "page": {"url": f"https://shop.example.com/p/{rnd.randrange(100000)}?utm_source=newsletter&utm_medium=email",
                 "referrer": "https://www.google.com/", "title": "Checkout — Example Shop"},
        "context": {"app_version": f"4.{rnd.randrange(20)}.{rnd.randrange(10)}", "os": rnd.choice(["iOS 18.1", "Android 15", "Windows"]),
                    "ip": f"203.0.113.{rnd.randrange(256)}", "session_id": f"{rnd.getrandbits(64):016x}"},
    }
