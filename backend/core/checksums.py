"""Check characters of the national identifiers Fieldcheck accepts, and nothing else.

Owns:

* ISO 7064 MOD 11-2 (the GB 11643 resident-identity check character, also reused for Fieldcheck's
  own credential numbers, DOMAIN.md §Credentials);
* validation and masking of 18-character resident identity numbers (GB 11643-1999);
* validation of unified social credit codes (GB 32100-2015), with the GB 11714 organisation-code
  check exposed as information only (see `organisation_code_ok` for why it is not enforced);
* `make_*` helpers that append the right check character, for fixtures and tests.

Everything here is pure: no database, no clock except the injectable `today`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.core.clock import Clock
from backend.core.errors import Unprocessable

__all__ = [
    "CREDIT_CODE_CHARSET",
    "IdNumberInfo",
    "credit_code_check_char",
    "gb11714_check_char",
    "iso7064_mod11_2",
    "make_credit_code",
    "make_id_number",
    "mask_id_number",
    "organisation_code_ok",
    "validate_credit_code",
    "validate_id_number",
]

_ASCII_DIGITS = frozenset("0123456789")

# --------------------------------------------------------------------------------------------------
# ISO 7064 MOD 11-2
# --------------------------------------------------------------------------------------------------


def iso7064_mod11_2(digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a string of ASCII digits ('0'-'9' or 'X').

    The digit n places left of the check character weighs 2^n mod 11; the check value c makes the
    weighted sum plus c congruent to 1 (mod 11), i.e. c = (12 - sum % 11) % 11. For the 17 digits of
    a resident identity number this gives GB 11643's weights 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, ...
    """
    if not digits or not set(digits) <= _ASCII_DIGITS:
        # str.isdigit() would let through Arabic-Indic and full-width digits; int() would then
        # happily compute a check character for a string no form should ever have accepted.
        raise ValueError("iso7064_mod11_2 needs a non-empty string of ASCII digits")
    n = len(digits)
    total = sum(int(ch) * pow(2, n - i, 11) for i, ch in enumerate(digits))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


# --------------------------------------------------------------------------------------------------
# Resident identity numbers (GB 11643-1999)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdNumberInfo:
    """What a valid resident identity number tells us."""

    number: str  # normalised: 18 characters, check character upper-case
    birth_date: date
    region_code: str  # GB/T 2260 code of the place of first registration (first six digits)


def _id_error(message: str, message_zh: str, field: str) -> Unprocessable:
    return Unprocessable(
        f"Invalid resident identity number: {message}",
        f"居民身份号码无效：{message_zh}",
        code="ID_NUMBER_INVALID",
        detail={"errors": [{"field": field, "code": "ID_NUMBER_INVALID", "message": message}]},
    )


def validate_id_number(s: object, *, today: date | None = None, field: str = "id_number") -> IdNumberInfo:
    """Validate an 18-character resident identity number; raise `Unprocessable` ID_NUMBER_INVALID.

    Accepts a lower-case `x` and surrounding whitespace (people type both); returns the normalised
    number. `today` (China's calendar date by default) bounds the birth date: nobody is born later.
    """
    if not isinstance(s, str):
        raise _id_error("must be a string", "必须为字符串", field)
    number = s.strip().upper()
    if len(number) != 18:
        raise _id_error("must be 18 characters", "应为18位", field)
    body, check = number[:17], number[17]
    if not set(body) <= _ASCII_DIGITS:
        raise _id_error("the first 17 characters must be digits", "前17位应为数字", field)
    if check not in _ASCII_DIGITS and check != "X":
        raise _id_error("the last character must be a digit or X", "第18位应为数字或X", field)
    if iso7064_mod11_2(body) != check:
        raise _id_error("wrong check character", "校验码错误", field)
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _id_error("the birth date is not a calendar date", "出生日期不是有效日期", field) from None
    if today is None:
        today = Clock().today()
    if birth > today:
        raise _id_error("the birth date is in the future", "出生日期晚于当前日期", field)
    # A checksum-valid number "born" in the 1800s is a typo or a fabrication, not a living person.
    if birth.year < 1900:
        raise _id_error("the birth date is before 1900", "出生日期早于1900年", field)
    return IdNumberInfo(number=number, birth_date=birth, region_code=number[:6])


def mask_id_number(s: str) -> str:
    """`2101**********123X`: first 4 and last 4 characters of an 18-character number, 10 stars.

    Anything that is not 18 characters is masked entirely: a mask must never leak more of a
    malformed value than of a well-formed one.
    """
    number = s.strip().upper()
    if len(number) != 18:
        return "*" * len(number)
    return number[:4] + "*" * 10 + number[-4:]


def make_id_number(prefix17: str) -> str:
    """Append the GB 11643 check character to 17 digits (fixtures and tests)."""
    if len(prefix17) != 17:
        raise ValueError("make_id_number needs exactly 17 digits")
    return prefix17 + iso7064_mod11_2(prefix17)


# --------------------------------------------------------------------------------------------------
# Unified social credit codes (GB 32100-2015)
# --------------------------------------------------------------------------------------------------

#: GB 32100's 31 characters, in value order: digits, then upper-case letters without I, O, Z, S, V.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARSET)}
# 3^i mod 31 for i = 0..16 (GB 32100 Table 2).
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code_check_char(prefix17: str) -> str:
    """GB 32100 check character (ISO 7064 MOD 31-3 style) of the first 17 characters."""
    if len(prefix17) != 17 or not set(prefix17) <= _CREDIT_VALUE.keys():
        raise ValueError("credit_code_check_char needs 17 characters of the GB 32100 charset")
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(prefix17, _CREDIT_WEIGHTS, strict=True))
    # 31 - 0 would be 31, which has no character: GB 32100 writes it as 0.
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def gb11714_check_char(body8: str) -> str:
    """GB 11714 organisation-code check character of the 8-character body (10 → 'X', 11 → '0')."""
    if len(body8) != 8 or not body8.isascii() or not body8.isalnum():
        raise ValueError("gb11714_check_char needs 8 ASCII letters or digits")
    # GB 11714 values letters A=10 ... Z=35, which is exactly int(ch, 36).
    total = sum(int(ch, 36) * w for ch, w in zip(body8.upper(), _GB11714_WEIGHTS, strict=True))
    value = 11 - total % 11
    if value == 10:
        return "X"
    if value == 11:
        return "0"
    return str(value)


def organisation_code_ok(code: str) -> bool:
    """Whether positions 9-17 of a credit code carry a correct GB 11714 check character.

    Information only; `validate_credit_code` does not enforce it. Every real code we checked passes
    it, but registration authorities are known to have issued non-conforming codes (some Xiamen
    enterprises registered before 2016 even fail the outer GB 32100 check, see hutool issues #2020
    and #4119), and refusing a real enterprise's code on site would block an inspection, while the
    outer mod-31 check already catches every single-character error and adjacent transposition.
    """
    code = code.strip().upper()
    if len(code) != 18:
        return False
    try:
        return gb11714_check_char(code[8:16]) == code[16]
    except ValueError:
        return False


def _credit_error(message: str, message_zh: str, field: str) -> Unprocessable:
    return Unprocessable(
        f"Invalid unified social credit code: {message}",
        f"统一社会信用代码无效：{message_zh}",
        code="CREDIT_CODE_INVALID",
        detail={"errors": [{"field": field, "code": "CREDIT_CODE_INVALID", "message": message}]},
    )


def validate_credit_code(s: object, *, field: str = "enterprise.credit_code") -> str:
    """Validate a GB 32100 unified social credit code; return it normalised (stripped, upper-case).

    Raises `Unprocessable` CREDIT_CODE_INVALID. Positions 3-8 (registration authority's division
    code) must be digits, as the standard says; the check character must match.

    Known limitation: a few real pre-2016 codes (Xiamen, e.g. 91350203M0001QKT19) fail the check
    character and are refused; API.md requires the GB 32100 check, and an enterprise inspected in
    Liaoning is registered under a 21xxxx code.
    """
    if not isinstance(s, str):
        raise _credit_error("must be a string", "必须为字符串", field)
    code = s.strip().upper()
    if len(code) != 18:
        raise _credit_error("must be 18 characters", "应为18位", field)
    bad = sorted({ch for ch in code if ch not in _CREDIT_VALUE})
    if bad:
        shown = "".join(bad)
        raise _credit_error(
            f"characters not allowed: {shown} (I, O, S, V, Z are never used)",
            f"含有不允许的字符：{shown}（不使用I、O、S、V、Z）",
            field,
        )
    if not set(code[2:8]) <= _ASCII_DIGITS:
        raise _credit_error(
            "positions 3-8 (division code) must be digits", "第3—8位（行政区划码）应为数字", field
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise _credit_error("wrong check character", "校验码错误", field)
    return code


def make_credit_code(prefix17: str) -> str:
    """Append the GB 32100 check character to 17 characters (fixtures and tests).

    Position 17 is taken as given; build it with `gb11714_check_char` when a fixture should also
    look like a real code to `organisation_code_ok`.
    """
    prefix = prefix17.upper()
    return prefix + credit_code_check_char(prefix)
