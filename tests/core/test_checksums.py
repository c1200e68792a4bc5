"""ISO 7064 MOD 11-2, resident identity numbers (GB 11643) and credit codes (GB 32100)."""

from __future__ import annotations

from datetime import date

import pytest

from backend.core.checksums import (
    CREDIT_CODE_CHARSET,
    IdNumberInfo,
    credit_code_check_char,
    gb11714_check_char,
    iso7064_mod11_2,
    make_credit_code,
    make_id_number,
    mask_id_number,
    organisation_code_ok,
    validate_credit_code,
    validate_id_number,
)
from backend.core.errors import Unprocessable

TODAY = date(2026, 6, 1)

# ---------------------------------------------------------------------------------------------
# ISO 7064 MOD 11-2
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        # The two worked examples of GB 11643-1999.
        ("11010519491231002", "X"),
        ("44052418800101001", "4"),
        # DOMAIN.md's credential number LNJ-2026-000017-X.
        ("2026000017", "X"),
        ("21010219850103123", "X"),
        ("21010220080229123", "8"),
    ],
)
def test_iso7064_known_values(digits: str, check: str) -> None:
    assert iso7064_mod11_2(digits) == check


def test_iso7064_weights_are_gb11643() -> None:
    # A single 1 in position i contributes exactly GB 11643's weight W_i = 2^(17-i) mod 11.
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for i, w in enumerate(weights):
        digits = "0" * i + "1" + "0" * (16 - i)
        value = (12 - w % 11) % 11
        assert iso7064_mod11_2(digits) == ("X" if value == 10 else str(value))


def test_iso7064_detects_every_single_digit_error() -> None:
    base = "21010219850103123"
    check = iso7064_mod11_2(base)
    for i in range(len(base)):
        for d in "0123456789":
            if d != base[i]:
                changed = base[:i] + d + base[i + 1 :]
                assert iso7064_mod11_2(changed) != check


def test_iso7064_detects_adjacent_transpositions() -> None:
    base = "21010219850103123"
    check = iso7064_mod11_2(base)
    for i in range(len(base) - 1):
        if base[i] != base[i + 1]:
            swapped = base[:i] + base[i + 1] + base[i] + base[i + 2 :]
            assert iso7064_mod11_2(swapped) != check


@pytest.mark.parametrize("bad", ["", "12a4", "１２３", "١٢٣", "12 3"])
def test_iso7064_rejects_non_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        iso7064_mod11_2(bad)


# ---------------------------------------------------------------------------------------------
# Resident identity numbers
# ---------------------------------------------------------------------------------------------


def test_validate_id_number_returns_parts() -> None:
    info = validate_id_number("11010519491231002X", today=TODAY)
    assert info == IdNumberInfo(
        number="11010519491231002X", birth_date=date(1949, 12, 31), region_code="110105"
    )


def test_validate_id_number_normalises_lower_case_x_and_whitespace() -> None:
    info = validate_id_number("  21010219850103123x \n", today=TODAY)
    assert info.number == "21010219850103123X"
    assert info.birth_date == date(1985, 1, 3)
    assert info.region_code == "210102"


def test_validate_id_number_accepts_feb_29_of_a_leap_year() -> None:
    info = validate_id_number("210102200802291238", today=TODAY)
    assert info.birth_date == date(2008, 2, 29)


def test_validate_id_number_accepts_birth_today() -> None:
    number = make_id_number("21010220260601001")
    assert validate_id_number(number, today=TODAY).birth_date == TODAY


def _error(s: object) -> Unprocessable:
    with pytest.raises(Unprocessable) as exc:
        validate_id_number(s, today=TODAY)
    return exc.value


@pytest.mark.parametrize(
    "bad",
    [
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19 characters
        "110105194912310021",  # wrong check character (X expected)
        "11010519491231002Y",  # check character out of alphabet
        "1101051949123100X2",  # X inside the body
        "11010519491231００2X",  # full-width digits
        make_id_number("21010219850230123"),  # 30 February
        make_id_number("21010219851301123"),  # month 13
        make_id_number("21010219850100123"),  # day 0
        make_id_number("21010220260602001"),  # born tomorrow
        make_id_number("44052418800101001"),  # GB 11643's own 1880 example: no living person
        "",
        None,
        110105194912310020,
    ],
)
def test_validate_id_number_rejects(bad: object) -> None:
    err = _error(bad)
    assert err.code == "ID_NUMBER_INVALID"
    assert err.http_status == 422
    assert err.message_zh.startswith("居民身份号码无效")
    [entry] = err.detail["errors"]
    assert entry["field"] == "id_number"
    assert entry["code"] == "ID_NUMBER_INVALID"
    assert entry["message"]


def test_validate_id_number_error_says_why() -> None:
    assert "check character" in _error("110105194912310021").detail["errors"][0]["message"]
    assert "future" in _error(make_id_number("21010220260602001")).detail["errors"][0]["message"]
    assert "calendar date" in _error(make_id_number("21010219850230123")).detail["errors"][0]["message"]


def test_validate_id_number_field_can_be_renamed() -> None:
    with pytest.raises(Unprocessable) as exc:
        validate_id_number("bad", field="people[3].id_number", today=TODAY)
    assert exc.value.detail["errors"][0]["field"] == "people[3].id_number"


def test_validate_id_number_defaults_to_china_today() -> None:
    # No `today`: the real clock; a number born in 1985 is valid whatever the date is.
    assert validate_id_number("21010219850103123X").birth_date == date(1985, 1, 3)
    with pytest.raises(Unprocessable):
        validate_id_number(make_id_number("21010221000101001"))  # born in 2100


def test_mask_id_number() -> None:
    assert mask_id_number("21010219850103123X") == "2101**********123X"
    assert mask_id_number("21010219850103123x") == "2101**********123X"
    assert len(mask_id_number("21010219850103123X")) == 18


@pytest.mark.parametrize("odd", ["12345", "1234567890", ""])
def test_mask_id_number_never_leaks_malformed_values(odd: str) -> None:
    assert set(mask_id_number(odd)) <= {"*"}


def test_make_id_number() -> None:
    number = make_id_number("21010219900101123")
    assert number == "210102199001011237"
    assert validate_id_number(number, today=TODAY).number == number
    with pytest.raises(ValueError):
        make_id_number("2101021990010112")


# ---------------------------------------------------------------------------------------------
# Unified social credit codes
# ---------------------------------------------------------------------------------------------

# Real codes of registered entities, as quoted in public validator test lists, issue threads and
# worked examples. All pass both GB 32100 and the inner GB 11714 check.
REAL_CREDIT_CODES = [
    "91350100M000100Y43",  # a widely cited example of the GB 32100 layout
    "91512081MA62K0260E",  # a widely quoted worked example (check character E)
    "9144030071526726XG",  # inner check character X
    "91330100716105852F",
    "914403001922038216",
    "91110000802100433B",
    "91110108551385082Q",
    "92141127MA0KD1Y64A",  # an individual business (92)
    "12440600MB2C07549J",  # a public institution (12)
    "123502001549897397",
    "91350213678251743X",
    "9135021359498494XQ",
    "91350200MA31E12PXF",
    "91440300MA5F7YRE78",
    "91420103594531449D",
    "913502002601481917",
    "91350200612001960R",
]


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_pass(code: str) -> None:
    assert validate_credit_code(code) == code
    assert organisation_code_ok(code)


def test_credit_code_is_normalised() -> None:
    assert validate_credit_code("  91512081ma62k0260e ") == "91512081MA62K0260E"


def test_credit_check_char_zero_when_sum_divisible_by_31() -> None:
    # 31 - 0 = 31 has no character; GB 32100 writes 0. All zeros weigh 0, which is 0 mod 31.
    prefix = "00000000000000000"
    assert credit_code_check_char(prefix) == "0"
    assert validate_credit_code(prefix + "0") == prefix + "0"


def test_credit_code_detects_every_single_character_error() -> None:
    code = "91512081MA62K0260E"
    for i in range(17):
        for ch in CREDIT_CODE_CHARSET:
            if ch == code[i] or (2 <= i <= 7 and not ch.isdigit()):
                continue
            changed = code[:i] + ch + code[i + 1 :]
            with pytest.raises(Unprocessable):
                validate_credit_code(changed)


def _credit_error(code: object) -> Unprocessable:
    with pytest.raises(Unprocessable) as exc:
        validate_credit_code(code)
    return exc.value


@pytest.mark.parametrize(
    "bad",
    [
        "91512081MA62K0260F",  # wrong check character
        "91512081MA62K0260",  # 17 characters
        "91512081MA62K0260EE",  # 19 characters
        "91512081MA62K026OE",  # letter O
        "91512081MI62K0260E",  # letter I
        "9151208IMA62K0260E",  # letter in the division code
        "9151208AMA62K0260E",  # allowed letter, but positions 3-8 must be digits
        "91350203M0001QKT19",  # a known non-conforming real Xiamen code: refused, see the module
        "",
        None,
    ],
)
def test_credit_code_rejects(bad: object) -> None:
    err = _credit_error(bad)
    assert err.code == "CREDIT_CODE_INVALID"
    assert err.http_status == 422
    [entry] = err.detail["errors"]
    assert entry == {
        "field": "enterprise.credit_code",
        "code": "CREDIT_CODE_INVALID",
        "message": entry["message"],
    }
    assert entry["message"]


def test_credit_code_error_names_forbidden_letters() -> None:
    err = _credit_error("91512081MA62K026OE")
    assert "O" in err.detail["errors"][0]["message"]


def test_inner_organisation_check_is_not_enforced() -> None:
    # Outer check right, inner GB 11714 check wrong: accepted (the inner one is informational).
    code = make_credit_code("91210102MA0U1234" + "9")
    assert not organisation_code_ok(code)
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("59467239", "9"),  # the worked example commonly quoted for GB 11714
        ("71526726", "X"),  # 10 → X
        ("MA62K026", "0"),  # 11 → 0
        ("19220382", "1"),
    ],
)
def test_gb11714_check_char(body: str, check: str) -> None:
    assert gb11714_check_char(body) == check


def test_organisation_code_ok_handles_garbage() -> None:
    assert not organisation_code_ok("short")
    assert not organisation_code_ok("91512081MA62K0-60E")


def test_make_credit_code() -> None:
    code = make_credit_code("91210102MA0U1234" + gb11714_check_char("MA0U1234"))
    assert validate_credit_code(code) == code
    assert organisation_code_ok(code)
    assert make_credit_code("91512081ma62k0260") == "91512081MA62K0260E"
    with pytest.raises(ValueError):
        make_credit_code("91512081MA62K026")
    with pytest.raises(ValueError):
        make_credit_code("91512081MA62K026O")
