"""E.164 phone validation at import speed: the phonenumbers library's own decision, precompiled.

phonenumbers.parse + is_valid_number + format_number cost ~20 µs a number, more than an imported
row's whole budget (~12 µs at 80,000 rows/s on two cores). Most numbers users send are already
international ("+14155552671", "+82 10-1234-5678"); for those, the library's work reduces to: take
the country code (the first 1–3 digits it knows), keep the rest as the national number when the
region's national prefix does not start it, pick the region (the first of the code's regions whose
leading digits or number patterns claim the number), and match the general and per-type patterns
with their possible lengths. `fast_e164` does exactly that from the library's metadata, with the
per-type patterns of each region and length joined into one compiled alternation (a full match of
an alternation is a full match of one of its members): ~1.5 µs a number instead of ~20.

Anything outside that shape (no "+", letters, extensions, a national prefix after the country
code) answers None and the caller asks the library itself. tests/audiences/test_phones.py checks both agree, value for value, on 100,000
generated numbers and bench/bench_audiences.py on 1,000,000.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, REGION_CODE_FOR_NON_GEO_ENTITY

# The numbers left to the library: keep its compiled metadata patterns (bounded by the metadata)
# instead of recompiling those that fell out of the re module's 512-entry cache (~20% of its time).
phonenumbers.enable_pattern_cache()

# "+" and a digit, then digits and the separators people type between them, ending on a digit.
# Only these separators: the library drops them all (digits are all it keeps of such a string);
# anything else (letters, "x", "#", "/", "~", ";", full-width digits) is the library's to read.
_SHAPE = re.compile(r"\+[0-9][0-9 ().\-]*[0-9]")
_SEPARATORS = str.maketrans("", "", " ().-")
# The library's own bounds (phonenumberutil._MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN, _MAX_LENGTH_COUNTRY_CODE).
_MIN_NSN, _MAX_NSN, _MAX_CC, _MAX_INPUT = 2, 17, 3, 250
# The descriptions _number_type_helper tries after the general one; mobile is added when the region
# says its mobile pattern differs from its fixed-line one.
_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
               "voicemail", "fixed_line")


class _Region:
    """One region's validity test: general pattern and lengths, then any type pattern for the length."""

    def __init__(self, metadata):
        general = metadata.general_desc
        self.general = _pattern(general)
        self.general_lengths = frozenset(general.possible_length) if general is not None else frozenset()
        descs = [getattr(metadata, name) for name in _TYPE_DESCS]
        if not metadata.same_mobile_and_fixed_line_pattern:
            descs.append(metadata.mobile)
        self.descs = [(frozenset(d.possible_length), d.national_number_pattern) for d in descs
                      if d is not None and d.national_number_pattern]
        self.by_length: dict[int, re.Pattern | None] = {}
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None

    def valid(self, nsn: str) -> bool:
        """_number_type_helper(nsn, metadata) != UNKNOWN."""
        length = len(nsn)
        if self.general is None or (self.general_lengths and length not in self.general_lengths):
            return False
        if not self.general.fullmatch(nsn):
            return False
        try:
            types = self.by_length[length]
        except KeyError:
            members = [p for lengths, p in self.descs if not lengths or length in lengths]
            types = re.compile("|".join(f"(?:{p})" for p in members)) if members else None
            self.by_length[length] = types
        return types is not None and types.fullmatch(nsn) is not None


def _pattern(desc) -> re.Pattern | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern)


class _CallingCode:
    """A country calling code: its main region's national prefix and its regions in the library's order."""

    def __init__(self, code: int):
        self.prefix_e164 = f"+{code}"
        main = phonenumbers.region_code_for_country_code(code)
        main_metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, main)
        prefix = main_metadata.national_prefix_for_parsing if main_metadata is not None else None
        self.usable = main_metadata is not None
        self.national_prefix = re.compile(prefix) if prefix else None
        self.regions: list[_Region] = []
        for region_code in COUNTRY_CODE_TO_REGION_CODE[code]:
            if region_code == REGION_CODE_FOR_NON_GEO_ENTITY:
                metadata = PhoneMetadata.metadata_for_nongeo_region(code, None)
            else:
                metadata = PhoneMetadata.metadata_for_region(region_code, None)
                if metadata is not None and metadata.country_code != code:
                    self.usable = False  # is_valid_number_for_region refuses a region of another code
            # None keeps the region's place: region_code_for_number skips it in a list, and a code
            # with a single region has no valid numbers then.
            self.regions.append(_Region(metadata) if metadata is not None else None)
        self.single = len(self.regions) == 1

    def valid(self, nsn: str) -> bool:
        """is_valid_number: the region region_code_for_number picks, then its test."""
        if self.single:
            region = self.regions[0]
            return region is not None and region.valid(nsn)
        for region in self.regions:
            if region is None:
                continue
            if region.leading is not None:
                if region.leading.match(nsn):
                    return region.valid(nsn)
            elif region.valid(nsn):
                return True
        return False


def _code_prefixes() -> dict[str, tuple[int, int]]:
    """Every three-digit start of a number → (its calling code, the code's length), as
    _extract_country_code reads it: the shortest known code that begins the digits."""
    found = {}
    for start in range(100, 1000):
        text = str(start)
        for size in range(1, _MAX_CC + 1):
            if int(text[:size]) in COUNTRY_CODE_TO_REGION_CODE:
                found[text] = (int(text[:size]), size)
                break
    return found


_CODE_PREFIXES = _code_prefixes()  # a leading zero starts no calling code: absent
_CALLING_CODES: dict[int, _CallingCode] = {}  # built on first use, at most ~250


def fast_e164(raw: str) -> str | None:
    """The E.164 form of `raw` when the library would parse it and find it valid; "" when it would
    parse it and find it invalid; None when this cannot tell (then the library decides)."""
    digits = raw[1:]
    if not (raw[:1] == "+" and digits.isdigit() and digits.isascii()):
        if len(raw) > _MAX_INPUT or not _SHAPE.fullmatch(raw):
            return None
        digits = digits.translate(_SEPARATORS)
    # The library refuses these before it looks at any region: no more than _MIN_NSN digits after
    # the "+", a leading zero or an unknown calling code, a national number shorter than _MIN_NSN.
    found = _CODE_PREFIXES.get(digits[:3]) if len(digits) > _MIN_NSN else None
    if found is None:
        return ""
    code, size = found
    nsn = digits[size:]
    if len(nsn) < _MIN_NSN:
        return ""
    calling = _CALLING_CODES.get(code) or _CALLING_CODES.setdefault(code, _CallingCode(code))
    if not calling.usable or (calling.national_prefix is not None and calling.national_prefix.match(nsn)):
        return None  # the library may strip a national prefix here
    if len(nsn) > _MAX_NSN:
        return ""
    if nsn[0] == "0" and not nsn.strip("0"):
        return None  # national number 0: formatted from the raw input
    # A leading zero (Italy) is kept: the library's national significant number is then these digits too.
    return calling.prefix_e164 + nsn if calling.valid(nsn) else ""
