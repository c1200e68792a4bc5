"""Credential numbers (DOMAIN.md §Credentials).

Shape: ``LN`` + kind letter + ``-`` + 4-digit year of issue + ``-`` + 6-digit serial + ``-`` + check
character, e.g. ``LNJ-2026-000017-X``. The check character is ISO 7064 MOD 11-2 over the ten digits
(year + serial) -- the algorithm of the resident identity number's check character (GB 11643), with
the value 10 written ``X``.

Look-ups accept the number with or without the hyphens, in any case, with surrounding whitespace
and with full-width characters (what a Chinese input method produces); anything else, including a
wrong check character or an unknown kind letter, is ``400 MALFORMED_CREDENTIAL``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from backend.core.checksums import iso7064_mod11_2
from backend.core.errors import BadRequest

__all__ = [
    "KIND_LETTERS",
    "LETTER_KINDS",
    "MALFORMED_CREDENTIAL",
    "ParsedNumber",
    "check_character",
    "format_number",
    "parse_number",
]

MALFORMED_CREDENTIAL = "MALFORMED_CREDENTIAL"

#: credential kind -> the letter after ``LN``
KIND_LETTERS: dict[str, str] = {
    "technical_inspector": "J",
    "social_supervisor": "S",
}
#: the letter after ``LN`` -> credential kind
LETTER_KINDS: dict[str, str] = {letter: kind for kind, letter in KIND_LETTERS.items()}

MAX_SERIAL = 999_999

# After NFKC + upper-casing. Hyphens are optional, each one independently. ASCII-only classes: `\d`
# would also match e.g. Arabic-Indic digits.
_NUMBER_RE = re.compile(r"LN([A-Z])-?([0-9]{4})-?([0-9]{6})-?([0-9X])")
# Dashes people (and word processors) put where the hyphen-minus belongs.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63", "-"))
# Longer than any acceptable spelling (17 characters) plus generous room for whitespace.
_MAX_INPUT_LENGTH = 64


class ParsedNumber(NamedTuple):
    kind: str
    """``technical_inspector`` or ``social_supervisor``"""
    year: int
    serial: int
    canonical: str
    """``LNJ-2026-000017-X``: upper case, with hyphens"""


def check_character(digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the ten digits year + serial (``0``-``9`` or ``X``)."""
    return iso7064_mod11_2(digits)


def format_number(kind: str, year: int, serial: int) -> str:
    """``format_number("technical_inspector", 2026, 17)`` -> ``"LNJ-2026-000017-X"``.

    Raises ValueError on an unknown kind, a year outside 1000..9999 or a serial outside
    1..999999: those are programming errors, not client input.
    """
    letter = KIND_LETTERS.get(kind)
    if letter is None:
        raise ValueError(f"unknown credential kind {kind!r}; expected one of {sorted(KIND_LETTERS)}")
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError(f"year must be a 4-digit integer, got {year!r}")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial must be an integer in 1..{MAX_SERIAL}, got {serial!r}")
    body = f"{year:04d}{serial:06d}"
    return f"LN{letter}-{year:04d}-{serial:06d}-{check_character(body)}"


def _malformed(reason: str, message: str, message_zh: str, expected: str = "LNJ-2026-000017-X") -> BadRequest:
    """`detail.expected`: the shape (an example) or, for a wrong check character, the number with
    the right one (the check character is public arithmetic, not a secret)."""
    return BadRequest(
        message,
        message_zh,
        code=MALFORMED_CREDENTIAL,
        detail={"reason": reason, "expected": expected},
    )


def parse_number(text: str) -> ParsedNumber:
    """Parse a credential number typed or scanned by a person.

    Accepts ``LNJ-2026-000017-X``, ``lnj2026000017x``, `` ＬＮＪ－２０２６－００００１７－Ｘ `` (each
    hyphen is optional; en/em dashes and the minus sign count as hyphens). Raises
    ``BadRequest(code="MALFORMED_CREDENTIAL")`` with ``detail.reason`` one of ``shape``, ``kind``,
    ``check_character``.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT_LENGTH:
        raise _malformed(
            "shape",
            "Not a credential number: expected e.g. LNJ-2026-000017-X.",
            "不是有效的证件编号格式，应形如 LNJ-2026-000017-X。",
        )
    # NFKC folds full-width letters, digits and hyphen-minus (Ｌ，２，－) to ASCII.
    normalised = unicodedata.normalize("NFKC", text).translate(_DASHES).strip().upper()
    match = _NUMBER_RE.fullmatch(normalised)
    if match is None:
        raise _malformed(
            "shape",
            "Not a credential number: expected e.g. LNJ-2026-000017-X.",
            "不是有效的证件编号格式，应形如 LNJ-2026-000017-X。",
        )
    letter, year_text, serial_text, check = match.groups()
    kind = LETTER_KINDS.get(letter)
    if kind is None:
        raise _malformed(
            "kind",
            f"Unknown credential kind letter {letter!r}: expected J (technical inspector) "
            "or S (social supervisor).",
            f"证件类别字母“{letter}”无效：应为 J（技术检查员）或 S（社会监督员）。",
        )
    right = check_character(year_text + serial_text)
    if check != right:
        raise _malformed(
            "check_character",
            "The credential number's check character is wrong; the number was mistyped or is not genuine.",
            "证件编号校验位不正确，编号可能输入有误或并非真实证件。",
            expected=f"LN{letter}-{year_text}-{serial_text}-{right}",
        )
    canonical = f"LN{letter}-{year_text}-{serial_text}-{check}"
    return ParsedNumber(kind=kind, year=int(year_text), serial=int(serial_text), canonical=canonical)
