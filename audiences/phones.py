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

A number without "+" is read in a region (the workspace's default country, as the library's parse
takes one): its national prefix is stripped by the region's rule (the simple form: a prefix and no
transformation), and the rest goes through the same calling-code test. Numbers the region's
international prefix or its own calling code may start, and prefixes with a transformation, are left
to the library. The per-region rules are built once per region (`_NATIONAL`, keyed by region).

Anything outside that shape (letters, extensions, a national prefix after the country code) answers
None and the caller asks the library itself. tests/audiences/test_phones.py checks both agree, value for value, on 100,000
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
# The national form: an opening parenthesis may come first ("(415) 555-2671"); the library starts at
# the first digit.
# A number in that shape with an extension as the library's extension pattern reads it.
_EXTENSION = re.compile(r"(\+[0-9][0-9 ().\-]*[0-9]) ext\. [0-9]{1,20}")
_NATIONAL_SHAPE = re.compile(r"\(?[0-9][0-9 ().\-]*[0-9]")
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
        types = self.types(length)
        return types is not None and types.fullmatch(nsn) is not None

    def types(self, length: int) -> re.Pattern | None:
        """The per-type patterns for numbers of this length, as one alternation (None: no type)."""
        try:
            return self.by_length[length]
        except KeyError:
            members = [p for lengths, p in self.descs if not lengths or length in lengths]
            types = re.compile("|".join(f"(?:{p})" for p in members)) if members else None
            self.by_length[length] = types
            return types


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
        self.transform = bool(main_metadata.national_prefix_transform_rule) if main_metadata is not None else False
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


def _calling(code: int) -> _CallingCode:
    return _CALLING_CODES.get(code) or _CALLING_CODES.setdefault(code, _CallingCode(code))


class _National:
    """A region's reading of a number written without "+": the library's parse(raw, region) for
    the numbers it takes no detour on (see fast_e164)."""

    def __init__(self, region: str):
        metadata = PhoneMetadata.metadata_for_region(region, None)
        general = metadata.general_desc if metadata is not None else None
        self.usable = general is not None and bool(general.possible_length)
        if not self.usable:
            return
        self.code = metadata.country_code
        self.code_text = str(self.code)
        self.idd = re.compile(metadata.international_prefix) if metadata.international_prefix else None
        prefix = metadata.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None
        self.transform = bool(metadata.national_prefix_transform_rule)
        self.general = _pattern(general)
        self.lengths = sorted(general.possible_length)
        self.length_set = frozenset(general.possible_length)
        self.local_lengths = frozenset(general.possible_length_local_only)

    def _possible(self, nsn: str) -> bool:
        """_test_number_length(nsn, metadata) is neither TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY nor
        INVALID_LENGTH (parse keeps a stripped national prefix only then)."""
        length = len(nsn)
        if length in self.local_lengths or length < self.lengths[0]:
            return False
        return length > self.lengths[-1] or length in self.length_set

    def may_start_a_code(self, digits: str) -> bool:
        """Whether parse may read a calling code in these digits (an international prefix of the
        region, or the region's own code) instead of taking them as a national number."""
        return not self.usable or bool(self.idd is not None and self.idd.match(digits)) or digits.startswith(self.code_text)

    def national_number(self, digits: str) -> str | None:
        """The national significant number parse finds in `digits`, or None when it would take a
        path this does not follow (an international or country-code prefix, a transformed prefix)."""
        if self.may_start_a_code(digits):
            return None  # dialled abroad ("00 44 …", "011 …") or with the country's own code: the library's
        if self.prefix is None or not (found := self.prefix.match(digits)):
            return digits
        groups = found.groups()
        if self.transform and (not groups or groups[-1] is not None):
            return None
        rest = digits[found.end():]
        if self.general is not None and self.general.fullmatch(digits) and not self.general.fullmatch(rest):
            return digits  # a whole number that only looks prefixed
        return rest if self._possible(rest) else digits


_NATIONAL: dict[str, _National] = {}  # region → its national reading, built on first use


def _national(region: str) -> _National:
    return _NATIONAL.get(region) or _NATIONAL.setdefault(region, _National(region))


# (the first three digits, how many digits) → _quick's answer; (calling code, national number
# length) → its pattern, compiled once (a code has up to 100 three-digit starts).
_QUICK: dict[tuple[str, int], tuple[re.Pattern, int, re.Pattern | None, _CallingCode | None] | None] = {}
_QUICK_PATTERNS: dict[tuple[int, int], re.Pattern | None] = {}
_QUICK_SEEN: dict[tuple[str, int], int] = {}  # starts and lengths met, not yet in _QUICK
_NEVER = re.compile(r"(?!)")
QUICK_AFTER = 16


def _quick(start: str, length: int) -> tuple[re.Pattern, int, re.Pattern | None, _CallingCode | None] | None:
    """For a "+" number of `length` digits starting with `start`: the pattern its digits from the
    calling code on fully match only when fast_e164 below would call it valid (not all zeros, the
    region region_code_for_number tries first claims it: its leading digits for a code of several
    regions, its general and per-type patterns), the code's length, its national prefix when
    quick_e164 must check that in Python (one that can match nothing, Argentina's: see
    _strips_prefix; any other prefix is refused in the pattern itself), and the calling code when
    it has a single region: then the pattern is that region's whole test, and a number it refuses
    is invalid unless the library would strip a national prefix or read an all-zero number."""
    found = _CODE_PREFIXES.get(start) if length > _MIN_NSN else None
    if found is None:
        return None
    code, size = found
    calling = _calling(code)
    prefix = calling.national_prefix
    key = (code, length - size)
    if key not in _QUICK_PATTERNS:
        _QUICK_PATTERNS[key] = _quick_pattern(calling, length - size)
    pattern = _QUICK_PATTERNS[key]
    if pattern is None:
        if not (calling.single and calling.usable):
            return None
        pattern = _NEVER  # no number of this length is valid in the code's one region
    return (pattern, size, prefix if prefix is not None and prefix.match("") is not None else None,
            calling if calling.single else None)


def _quick_pattern(calling: _CallingCode, nsn_length: int) -> re.Pattern | None:
    region = next((r for r in calling.regions if r is not None), None)
    if not calling.usable or region is None or not _MIN_NSN <= nsn_length <= _MAX_NSN or region.general is None:
        return None
    if region.general_lengths and nsn_length not in region.general_lengths:
        return None
    types = region.types(nsn_length)
    if types is None:
        return None
    parts = [r"(?!0+\Z)"]
    prefix = calling.national_prefix
    if prefix is not None and prefix.match("") is None:
        parts.append(f"(?!(?:{prefix.pattern}))")
    if not calling.single and region.leading is not None:
        parts.append(f"(?=(?:{region.leading.pattern}))")
    parts.append(f"(?=(?:{region.general.pattern})\\Z)(?:{types.pattern})")
    return re.compile("".join(parts))


def _strips_prefix(calling: _CallingCode, digits: str, at: int) -> bool:
    """Whether the library may change the national number starting at `at` by stripping its
    national prefix: the prefix matches something there, or matches nothing but its transform
    rule applies (a last group that took part). A match of nothing, with no transform, leaves the
    number as it was (Argentina's prefix, 0?(…15)?, matches nothing before most numbers)."""
    found = calling.national_prefix.match(digits, at) if calling.national_prefix is not None else None
    if found is None:
        return False
    if found.end() > at:
        return True
    groups = found.groups()
    return calling.transform and bool(groups) and groups[-1] is not None


def quick_e164(raw: str) -> str | None:
    """The E.164 form of `raw` when it is a "+" number (separators allowed, nothing around it) that
    one precompiled pattern finds valid: fast_e164's answer for most numbers users send, in
    ~0.5 µs; "" when that pattern is its calling code's whole test and refuses it (fast_e164 would
    answer "" too: invalid); None otherwise (fast_e164 or the library decide)."""
    if raw[:1] != "+":
        return None
    digits = raw[1:]
    if not (digits.isdigit() and digits.isascii()):
        if len(raw) > _MAX_INPUT or not _SHAPE.fullmatch(raw):
            return None
        digits = digits.translate(_SEPARATORS)
    key = (digits[:3], len(digits))
    try:
        quick = _QUICK[key]
    except KeyError:
        # Compiled once a start and length has come QUICK_AFTER times: broken numbers make
        # thousands of rare ones, each a pattern of ~2 ms to compile that would serve a few numbers.
        seen = _QUICK_SEEN[key] = _QUICK_SEEN.get(key, 0) + 1
        if seen < QUICK_AFTER:
            return None
        quick = _QUICK[key] = _quick(*key)
    if quick is None:
        return None
    if not quick[0].fullmatch(digits, quick[1]):
        calling = quick[3]
        if calling is None:
            return None
        # fast_e164's own steps for a refused number of a single-region code (the length is within
        # the library's bounds: the pattern exists): a prefix it may strip or an all-zero national
        # number are the library's; anything else fails calling.valid, which is the pattern.
        nsn = digits[quick[1]:]
        if len(nsn) >= _MIN_NSN and (_strips_prefix(calling, nsn, 0) or (nsn[0] == "0" and not nsn.strip("0"))):
            return None
        return ""
    if quick[2] is not None and _strips_prefix(_calling(int(digits[: quick[1]])), digits, quick[1]):
        return None
    return "+" + digits


def fast_e164(raw: str, region: str | None = None) -> str | None:
    """The E.164 form of `raw` when the library would parse it (in `region` when it has no "+")
    and find it valid; "" when it would parse it and find it invalid; None when this cannot tell
    (then the library decides)."""
    if raw[:1] != "+":
        return _fast_national(raw, region) if region else None
    quick = quick_e164(raw)
    if quick is not None:
        return quick
    digits = raw[1:]
    if not (raw[:1] == "+" and digits.isdigit() and digits.isascii()):
        if len(raw) > _MAX_INPUT:
            return None
        if not _SHAPE.fullmatch(raw):
            # "+… ext. 123": the library strips the extension from a viable number (3 digits at
            # least) and reads the rest alone; E.164 has no extension.
            found = _EXTENSION.fullmatch(raw)
            if found is None or len(found[1].translate(_SEPARATORS)) < 4:
                return None
            return fast_e164(found[1], region)
        digits = digits.translate(_SEPARATORS)
    # The library refuses these before it looks at any region: no more than _MIN_NSN digits after
    # the "+", a leading zero or an unknown calling code, a national number shorter than _MIN_NSN.
    found = _CODE_PREFIXES.get(digits[:3]) if len(digits) > _MIN_NSN else None
    if found is None:
        # With a region the library reads an unknown code again without the "+", where only the
        # region's international prefix or its own calling code can still find one ("+00 82 …").
        return "" if region is None or not _national(region).may_start_a_code(digits) else None
    code, size = found
    nsn = digits[size:]
    if len(nsn) < _MIN_NSN:
        return ""
    calling = _calling(code)
    if not calling.usable or _strips_prefix(calling, nsn, 0):
        return None  # the library may strip a national prefix here
    if len(nsn) > _MAX_NSN:
        return ""
    if nsn[0] == "0" and not nsn.strip("0"):
        return None  # national number 0: formatted from the raw input
    # A leading zero (Italy) is kept: the library's national significant number is then these digits too.
    return calling.prefix_e164 + nsn if calling.valid(nsn) else ""


def _fast_national(raw: str, region: str) -> str | None:
    national = _national(region)
    if not national.usable:
        return None
    digits = raw
    if not (digits.isdigit() and digits.isascii()):
        if len(raw) > _MAX_INPUT or not _NATIONAL_SHAPE.fullmatch(raw):
            return None
        digits = raw.translate(_SEPARATORS)
    if len(digits) < 4:
        return None  # the library's viability rules for very short strings
    nsn = national.national_number(digits)
    if nsn is None:
        return None
    if len(nsn) > _MAX_NSN:
        return ""
    if nsn[0] == "0" and not nsn.strip("0"):
        return None  # national number 0: formatted from the raw input
    calling = _calling(national.code)
    if not calling.usable:
        return None
    return calling.prefix_e164 + nsn if calling.valid(nsn) else ""
