"""Phone validation: the precompiled path (audiences/phones.py) answers what phonenumbers answers,
number for number, and the import stores the good rows of a batch whose phones are partly bad."""

from __future__ import annotations

import io

import phonenumbers
import pytest

from audiences.models import Customer
from audiences.normalize import FieldError, phone_clean
from audiences.phones import fast_e164
from bench.realistic import phones
from tests.conftest import wait_for


def _library(raw: str, region: str | None = None) -> str | None:
    """What phone_clean answered when it asked phonenumbers for every number (national numbers
    read in `region`, refused without one)."""
    raw = raw.strip()
    if not raw.startswith("+") and not region:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _cleaned(raw: str, region: str | None = None) -> str | None:
    try:
        return phone_clean(raw, region)
    except FieldError:
        return None


def test_phone_clean_agrees_with_phonenumbers_on_100k_generated_numbers():
    numbers = phones(100_000, seed=20261205)
    wanted = list(map(_library, numbers))
    differ = [(raw, want, got) for raw, want in zip(numbers, wanted, strict=True) if want != (got := _cleaned(raw))]
    assert differ == []
    international = [raw for raw in numbers if raw.startswith("+")]
    valid = sum(want is not None for want in wanted)
    assert 40_000 < valid < len(international)  # both answers occur, many times over
    # The precompiled path decides nearly all of them (letters, extensions and a national prefix
    # after the country code are left to the library): that is what makes it cheap.
    decided = sum(fast_e164(raw) is not None for raw in international)
    assert decided >= 0.9 * len(international)


def _national_forms(numbers: list[str]) -> list[str]:
    """Each number's digits as people type them at home: with the calling code and without, with a
    trunk 0 or 8, with an international prefix (00, 011) in front."""
    forms = []
    for raw in numbers:
        digits = "".join(ch for ch in raw if ch.isdigit())
        forms += [d for d in (digits, "0" + digits[2:], digits[1:], digits[2:], "00" + digits, "011" + digits,
                              "8" + digits[1:], f"({digits[:3]}) {digits[3:6]}-{digits[6:]}") if d.strip("()- ")]
    return forms


@pytest.mark.parametrize("region", ["KR", "US", "GB", "BR", "JP", "AR", "IT"])
def test_phone_clean_in_a_region_agrees_with_phonenumbers(region):
    """A workspace's default country: the precompiled path reads national numbers (and "+" numbers,
    which the library reads again in the region when their code is unknown) as parse(raw, region)."""
    numbers = phones(20_000, seed=20261206)
    numbers += _national_forms(numbers[:5_000])
    differ = [(raw, want, got) for raw in numbers if (want := _library(raw, region)) != (got := _cleaned(raw, region))]
    assert differ == []
    national = [raw for raw in numbers if not raw.strip().startswith("+")]
    assert sum(_library(raw, region) is not None for raw in national) > 1_000  # both answers occur
    assert sum(fast_e164(raw.strip(), region) is not None for raw in national) >= 0.75 * len(national)


def test_phone_clean_in_every_region_agrees_with_phonenumbers():
    forms = _national_forms(phones(40, seed=5))
    differ = [(region, raw) for region in sorted(phonenumbers.SUPPORTED_REGIONS) for raw in forms
              if _library(raw, region) != _cleaned(raw, region)]
    assert differ == []


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("010-1234-5678", "KR", "+821012345678"),
        ("01012345678", "KR", "+821012345678"),
        ("+82 10-1234-5678", "US", "+821012345678"),  # "+" keeps its own country
        ("010-1234-5678", "US", None),
        ("(415) 555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),  # the US trunk 1 (and calling code) read
        ("011 44 7911 123456", "US", "+447911123456"),  # dialled abroad from the US
        ("00 82 10 1234 5678", "GB", "+821012345678"),
        ("+00 82 10 1234 5678", "GB", "+821012345678"),  # an unknown code read again in the region
        ("07911 123456", "GB", "+447911123456"),
        ("06 6982 1234", "IT", "+390669821234"),  # no trunk prefix: the leading zero is the number's
    ],
)
def test_phone_clean_national_examples(raw, region, expected):
    assert _cleaned(raw, region) == expected == _library(raw, region)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-2671", "+14155552671"),  # spaced, shared calling code (NANP: US)
        ("+1 604 555 1234", "+16045551234"),  # Canada, found after the US patterns fail
        ("+1 100 555 1234", None),  # no NANP area code starts with 1
        ("+44 7911 123456", "+447911123456"),
        ("+44 1624 612345", "+441624612345"),  # Isle of Man: a +44 region picked by leading digits
        ("+44 1624 456789", None),  # claimed by the Isle of Man's leading digits, not valid there
        ("+39 06 6982 1234", "+390669821234"),  # Italian leading zero kept
        ("+82 10-1234-5678", "+821012345678"),
        ("+82 010-1234-5678", "+821012345678"),  # national prefix after the code: the library strips it
        ("010-1234-5678", None),  # national form: no country code
        ("+999 123 4567", None),  # no such calling code
        ("+0 415 555 2671", None),
        ("+1 800 FLOWERS", "+18003569377"),  # letters: the library reads them
        ("+1 415 555 2671 ext. 12", "+14155552671"),
    ],
)
def test_phone_clean_examples(raw, expected):
    assert _cleaned(raw) == expected == _library(raw)


def test_import_keeps_good_rows_between_refused_phones(celery_worker, api, workspace):
    lines = ["external_id,phone,locale,plan"]
    bad = {}
    for i in range(1200):  # a few column batches, each with refused rows in it
        if i % 97 == 5:
            lines.append(f"p{i},(415) 555-{i:04d},en-US,pro")
            bad[i + 2] = "phone"  # line numbers: the header is line 1
        elif i % 89 == 7:
            lines.append(f"p{i},+1415555{i:04d},xx-not-a-locale,pro")
            bad[i + 2] = "locale"
        else:
            lines.append(f"p{i},+82 10-{i:04d}-5678,ko-KR,pro")
    f = io.BytesIO(("\n".join(lines) + "\n").encode())
    f.name = "customers.csv"
    import_id = api.put("/api/v1/customers/import", {"file": f}, format="multipart").json()["import_id"]
    data = wait_for(lambda: (d := api.get(f"/api/v1/imports/{import_id}").json())["status"] in ("done", "failed") and d,
                    timeout=60)
    assert data["status"] == "done", data
    assert (data["created"], data["failed"]) == (1200 - len(bad), len(bad))
    assert [(e["line"], e["error"].split(" ")[1]) for e in data["errors"]] == sorted(bad.items())
    stored = dict(Customer.objects.for_workspace(workspace).values_list("external_id", "phone"))
    assert stored["p0"] == "+821000005678" and stored["p1199"] == "+821011995678"
    assert not {f"p{line - 2}" for line in bad} & set(stored)
