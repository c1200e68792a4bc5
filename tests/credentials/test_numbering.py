"""Credential numbers: LN + kind letter - year - serial - ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import random
import re

import pytest

from backend.core.checksums import iso7064_mod11_2
from backend.core.errors import BadRequest, DomainError
from backend.credentials import numbering
from backend.credentials.numbering import (
    KIND_LETTERS,
    ParsedNumber,
    check_character,
    format_number,
    parse_number,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def reference_mod11_2(digits: str) -> str:
    """Independent textbook version: weights 2^(n-i) mod 11 and the table 1 0 X 9 8 7 6 5 4 3 2."""
    n = len(digits)
    weights = [(2 ** (n - i)) % 11 for i in range(n)]
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    return "10X98765432"[total % 11]


def with_check(body10: str) -> str:
    return body10 + reference_mod11_2(body10)


# --- the check character ----------------------------------------------------------------------


def test_resident_id_example_gives_x() -> None:
    # GB 11643's own example: 11010519491231002X.
    assert iso7064_mod11_2("11010519491231002") == "X"
    assert check_character("11010519491231002") == "X"
    assert reference_mod11_2("11010519491231002") == "X"


def test_second_resident_id_example() -> None:
    assert check_character("44052418800101001") == "4"  # 440524188001010014


def test_gb11643_weights_are_the_powers_of_two() -> None:
    assert [(2 ** (17 - i)) % 11 for i in range(17)] == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def test_numbering_uses_the_shared_implementation_and_has_no_private_copy() -> None:
    assert numbering.iso7064_mod11_2 is iso7064_mod11_2
    assert not hasattr(numbering, "_mod11_2")


def test_check_character_agrees_with_the_reference_on_random_inputs() -> None:
    rng = random.Random(20260105)
    for length in (10, 17):
        for _ in range(2000):
            digits = "".join(rng.choice("0123456789") for _ in range(length))
            assert check_character(digits) == reference_mod11_2(digits), digits


def test_every_check_value_occurs_including_x() -> None:
    seen = {check_character(f"2026{serial:06d}") for serial in range(1, 200)}
    assert seen == set("0123456789X")


def test_weighted_sum_plus_check_is_one_mod_11() -> None:
    for serial in range(1, 500):
        digits = f"2027{serial:06d}"
        c = check_character(digits)
        value = 10 if c == "X" else int(c)
        total = sum(int(d) * pow(2, 10 - i, 11) for i, d in enumerate(digits))
        assert (total + value) % 11 == 1


@pytest.mark.parametrize("bad", ["", "12a4", "２０２６", "١٢٣"])
def test_check_character_refuses_non_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        check_character(bad)


# --- format_number ----------------------------------------------------------------------------


def test_kind_letters_mapping() -> None:
    assert KIND_LETTERS == {"technical_inspector": "J", "social_supervisor": "S"}


def test_format_example_from_domain() -> None:
    # DOMAIN.md's example shape LNJ-2026-000017-X happens to be a correct number.
    assert format_number("technical_inspector", 2026, 17) == "LNJ-2026-000017-X"
    assert format_number("social_supervisor", 2026, 17) == "LNS-2026-000017-X"


def test_format_shape_and_check() -> None:
    for serial in (1, 9, 10, 123, 4567, 999_999):
        number = format_number("social_supervisor", 2031, serial)
        assert re.fullmatch(r"LNS-2031-\d{6}-[0-9X]", number)
        assert number[9:15] == f"{serial:06d}"
        assert number[-1] == reference_mod11_2(f"2031{serial:06d}")


@pytest.mark.parametrize(
    ("kind", "year", "serial"),
    [
        ("officer", 2026, 1),
        ("J", 2026, 1),
        ("technical_inspector", 999, 1),
        ("technical_inspector", 10000, 1),
        ("technical_inspector", 2026, 0),
        ("technical_inspector", 2026, 1_000_000),
        ("technical_inspector", 2026, -5),
        ("technical_inspector", "2026", 1),
        ("technical_inspector", 2026, True),
    ],
)
def test_format_refuses_bad_arguments(kind: str, year: object, serial: object) -> None:
    with pytest.raises(ValueError):
        format_number(kind, year, serial)  # type: ignore[arg-type]


# --- parse_number -----------------------------------------------------------------------------


def test_parse_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(300):
        kind = rng.choice(sorted(KIND_LETTERS))
        year = rng.randint(2000, 2099)
        serial = rng.randint(1, 999_999)
        number = format_number(kind, year, serial)
        assert parse_number(number) == ParsedNumber(kind, year, serial, number)


@pytest.mark.parametrize(
    "text",
    [
        "LNJ-2026-000017-X",
        "lnj-2026-000017-x",
        "LNJ2026000017X",
        "lnj2026000017x",
        "  LNJ-2026-000017-X \n",
        "\tlnj2026000017X ",
        "LnJ-2026000017-x",  # any single hyphen may be left out
        "ＬＮＪ－２０２６－００００１７－Ｘ",  # full-width (IME)
        "LNJ–2026—000017−X",  # en dash, em dash, minus sign
        "\u3000LNJ-2026-000017-X\u3000",  # ideographic spaces
    ],
)
def test_parse_accepts_human_spellings(text: str) -> None:
    parsed = parse_number(text)
    assert parsed == ParsedNumber("technical_inspector", 2026, 17, "LNJ-2026-000017-X")
    assert parsed.kind == "technical_inspector"
    assert parsed.canonical == "LNJ-2026-000017-X"


def test_parse_social_supervisor() -> None:
    number = format_number("social_supervisor", 2027, 345)
    parsed = parse_number(number.lower().replace("-", ""))
    assert parsed.kind == "social_supervisor"
    assert (parsed.year, parsed.serial, parsed.canonical) == (2027, 345, number)


def _malformed(text: object) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse_number(text)  # type: ignore[arg-type]
    error = info.value
    assert isinstance(error, DomainError)
    assert error.code == "MALFORMED_CREDENTIAL"
    assert error.http_status == 400
    assert error.message
    assert not CJK.search(error.message)
    assert CJK.search(error.message_zh)  # Chinese
    return error


def test_wrong_check_character_for_every_wrong_value() -> None:
    good = format_number("technical_inspector", 2026, 4242)
    for wrong in "0123456789X":
        if wrong == good[-1]:
            continue
        error = _malformed(good[:-1] + wrong)
        assert error.detail["reason"] == "check_character"
        assert "check character" in error.message
        assert "校验" in error.message_zh


def test_every_single_digit_substitution_is_detected() -> None:
    good = format_number("social_supervisor", 2026, 305_718)
    digits = good.replace("-", "")[3:13]
    for position in range(10):
        for replacement in "0123456789":
            if replacement == digits[position]:
                continue
            changed = digits[:position] + replacement + digits[position + 1 :]
            error = _malformed(f"LNS{changed}{good[-1]}")
            assert error.detail["reason"] == "check_character"


def test_every_adjacent_transposition_is_detected() -> None:
    for serial in (17, 305_718, 918_273):
        good = format_number("technical_inspector", 2029, serial)
        digits = good.replace("-", "")[3:13]
        for i in range(9):
            if digits[i] == digits[i + 1]:
                continue
            swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            _malformed(f"LNJ{swapped}{good[-1]}")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "LNJ",
        "LNJ-2026-00017-X",  # 5-digit serial
        "LNJ-2026-0000017-X",  # 7-digit serial
        "LNJ-26-000017-X",  # 2-digit year
        "LNJ-2026-000017",  # no check character
        "LNJ-2026-000017-XX",
        "LNJ-2026-000017-A",  # check character must be a digit or X
        "LN-2026-000017-X",  # no kind letter
        "LXJ-2026-000017-X",
        "LNJ--2026-000017-X",
        "LNJ 2026 000017 X",  # spaces inside
        "LNJ-2026-000017-X trailing",
        "J-2026-000017-X",
        "LNJ-２０２６-000017-X\u200b",  # zero-width space
        "LNJ-٢٠٢٦-000017-X",  # Arabic-Indic digits
        "http://127.0.0.1:8000/v/eyJhbGciOiJFZERTQSJ9.e30.sig",
        "LNJ-2026-000017-X" * 5,
        "<script>alert(1)</script>",
    ],
)
def test_wrong_shape(text: str) -> None:
    error = _malformed(text)
    assert error.detail["reason"] == "shape"
    assert "LNJ-2026-000017-X" in error.message


@pytest.mark.parametrize("value", [None, 2026000017, b"LNJ-2026-000017-X"])
def test_non_string_input(value: object) -> None:
    assert _malformed(value).detail["reason"] == "shape"


@pytest.mark.parametrize("letter", ["A", "X", "Z", "G"])
def test_unknown_kind_letter_with_correct_check_character(letter: str) -> None:
    text = f"LN{letter}-" + "2026-000017-" + with_check("2026000017")[-1]
    error = _malformed(text)
    assert error.detail["reason"] == "kind"
    assert letter in error.message
    assert "J" in error.message_zh
    assert "S" in error.message_zh


def test_error_messages_do_not_echo_long_input() -> None:
    error = _malformed("<b>" * 30)
    assert "<b>" not in error.message
    assert "<b>" not in error.message_zh
