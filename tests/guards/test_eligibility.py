"""Eligibility at appointment (Art. 7, 9, 11, 17, 18) and terms (Art. 22)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from backend.core.errors import Unprocessable
from backend.guards.eligibility import (
    AppointmentFacts,
    Qualification,
    Violation,
    add_years,
    check_appointment,
    eighteenth_birthday,
    require_eligible,
)

START = date(2026, 1, 1)
CLEAN = {
    "full_civil_capacity": True,
    "criminal_record": False,
    "pending_criminal_case": False,
    "dismissed_from_public_office": False,
    "unresolved_labor_dispute": False,
    "dishonest_list": False,
}
CONSENT = {"self": True, "employer": True}
SAFETY_BACHELOR = Qualification("degree", "bachelor", "safety engineering", True)


def full_time(**kw: Any) -> AppointmentFacts:
    base: dict[str, Any] = {
        "role": "technical_inspector",
        "employment": "full_time",
        "birth_date": date(1990, 5, 10),
        "start_date": START,
        "end_date": None,
        "route": "exam",
        "declarations": CLEAN,
        "consents": {},
        "qualifications": (SAFETY_BACHELOR,),
    }
    return AppointmentFacts(**{**base, **kw})


def part_time(**kw: Any) -> AppointmentFacts:
    base: dict[str, Any] = {
        "role": "technical_inspector",
        "employment": "part_time",
        "birth_date": date(1975, 3, 3),
        "start_date": START,
        "end_date": date(2028, 12, 31),
        "route": "expert_pool",
        "declarations": CLEAN,
        "consents": CONSENT,
        "qualifications": (Qualification("professional_title", "deputy_senior", "mining", True),),
    }
    return AppointmentFacts(**{**base, **kw})


def supervisor(**kw: Any) -> AppointmentFacts:
    base: dict[str, Any] = {
        "role": "social_supervisor",
        "birth_date": date(1980, 7, 7),
        "start_date": START,
        "end_date": date(2028, 12, 31),
        "route": "recommendation",
        "recommended_by": "Liaoning Work Safety Association",
        "consents": CONSENT,
    }
    return AppointmentFacts(**{**base, **kw})


def codes(facts: AppointmentFacts) -> list[str]:
    return [v.code for v in check_appointment(facts)]


# ---------------------------------------------------------------------------------------------
# The clean cases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [full_time, part_time, supervisor])
def test_clean_appointments_pass(make: Any) -> None:
    assert check_appointment(make()) == []
    require_eligible(make())  # does not raise


# ---------------------------------------------------------------------------------------------
# Art. 11: age
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "start", "under_18"),
    [
        (date(2008, 1, 2), date(2026, 1, 1), True),  # the day before the 18th birthday
        (date(2008, 1, 1), date(2026, 1, 1), False),  # the 18th birthday itself
        (date(2007, 12, 31), date(2026, 1, 1), False),  # the day after
        (date(2010, 6, 1), date(2026, 1, 1), True),  # a child
        (date(2027, 1, 1), date(2026, 1, 1), True),  # not even born
    ],
)
def test_under_18_boundaries(birth: date, start: date, under_18: bool) -> None:
    found = "ART11_UNDER_18" in codes(full_time(birth_date=birth, start_date=start, end_date=None))
    assert found is under_18


@pytest.mark.parametrize(
    ("start", "under_18"),
    [
        (date(2026, 2, 27), True),
        (date(2026, 2, 28), True),  # 2026 has no 29 February: 28 February is not yet the birthday
        (date(2026, 3, 1), False),  # first day that is unambiguously after it
    ],
)
def test_under_18_feb_29_birth_common_year(start: date, under_18: bool) -> None:
    found = "ART11_UNDER_18" in codes(full_time(birth_date=date(2008, 2, 29), start_date=start))
    assert found is under_18


def test_eighteenth_birthday() -> None:
    # 18 is not a multiple of 4, so the 18th anniversary of a 29 February birth always falls in a
    # common year: such a person always turns 18 on 1 March.
    assert eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert eighteenth_birthday(date(2012, 2, 29)) == date(2030, 3, 1)
    assert eighteenth_birthday(date(2008, 3, 1)) == date(2026, 3, 1)
    assert eighteenth_birthday(date(2008, 2, 28)) == date(2026, 2, 28)


def test_under_18_message_names_start_date() -> None:
    [v] = [v for v in check_appointment(full_time(birth_date=date(2010, 1, 1))) if v.code == "ART11_UNDER_18"]
    assert v.article == "11"
    assert "2026-01-01" in v.message
    assert "未满18周岁" in v.message_zh


# ---------------------------------------------------------------------------------------------
# Art. 11: declarations
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("criminal_record", "ART11_CRIMINAL_RECORD"),
        ("pending_criminal_case", "ART11_PENDING_CRIMINAL_CASE"),
        ("dismissed_from_public_office", "ART11_DISMISSED_FROM_PUBLIC_OFFICE"),
        ("dishonest_list", "ART11_DISHONEST_LIST"),
    ],
)
@pytest.mark.parametrize("make", [full_time, part_time])
def test_disqualifying_declarations(make: Any, key: str, code: str) -> None:
    vs = check_appointment(make(declarations={**CLEAN, key: True}))
    assert [(v.code, v.article) for v in vs] == [(code, "11")]


@pytest.mark.parametrize("value", [False, None, "yes", 1])
def test_civil_capacity_must_be_declared_true(value: object) -> None:
    assert codes(full_time(declarations={**CLEAN, "full_civil_capacity": value})) == [
        "ART11_NO_CIVIL_CAPACITY"
    ]


def test_civil_capacity_missing() -> None:
    decl = {k: v for k, v in CLEAN.items() if k != "full_civil_capacity"}
    assert codes(full_time(declarations=decl)) == ["ART11_NO_CIVIL_CAPACITY"]
    assert codes(part_time(declarations={})) == ["ART11_NO_CIVIL_CAPACITY"]


def test_labor_dispute_bars_full_time_only() -> None:
    decl = {**CLEAN, "unresolved_labor_dispute": True}
    assert codes(full_time(declarations=decl)) == ["ART11_LABOR_DISPUTE"]
    # Art. 11 last paragraph: part-time inspectors are exempt from item (4).
    assert codes(part_time(declarations=decl)) == []


def test_art11_does_not_apply_to_supervisors() -> None:
    # Art. 11 bars appointment "as a technical inspector" only.
    everything = {
        "full_civil_capacity": False,
        "criminal_record": True,
        "pending_criminal_case": True,
        "dismissed_from_public_office": True,
        "unresolved_labor_dispute": True,
        "dishonest_list": True,
    }
    assert codes(supervisor(declarations=everything, birth_date=date(2010, 1, 1))) == []


# ---------------------------------------------------------------------------------------------
# Art. 7: full-time qualifications
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qual",
    [
        Qualification("degree", "bachelor", "safety engineering", True),
        Qualification("degree", "master", "disaster prevention", True),
        Qualification("degree", "doctor", "chemistry", True),
        Qualification("professional_title", "intermediate", "mining"),
        Qualification("professional_title", "deputy_senior", "mining"),
        Qualification("professional_title", "senior", "mining"),
        Qualification("vocational_qualification", "level_2", "welding"),
        Qualification("vocational_qualification", "level_1", "welding"),
        Qualification("registered_safety_engineer", "assistant", "chemicals"),
        Qualification("registered_safety_engineer", "senior", "chemicals"),
    ],
)
def test_full_time_qualifying(qual: Qualification) -> None:
    assert codes(full_time(qualifications=(qual,))) == []


@pytest.mark.parametrize(
    "quals",
    [
        (),
        (Qualification("degree", "bachelor", "history", False),),  # not safety-related
        (Qualification("degree", "associate", "safety engineering", True),),  # below bachelor
        (Qualification("professional_title", "junior", "mining"),),
        (Qualification("vocational_qualification", "level_3", "welding"),),
        (Qualification("vocational_qualification", "level_5", "welding"),),
        (Qualification("professional_title", "Intermediate", "mining"),),  # unknown spelling
        (Qualification("driving_licence", "senior", "trucks", True),),  # unknown kind
    ],
)
def test_full_time_not_qualifying(quals: tuple[Qualification, ...]) -> None:
    vs = check_appointment(full_time(qualifications=quals))
    assert [(v.code, v.article) for v in vs] == [("ART7_QUALIFICATION_REQUIRED", "7")]


@pytest.mark.parametrize(
    ("route", "years", "ok"),
    [
        ("assessment", 10, True),
        ("assessment", 25.5, True),
        ("assessment", 9.99, False),
        ("assessment", None, False),
        ("exam", 30, False),  # the experience exception is tied to the assessment route
    ],
)
def test_full_time_experience_exception(route: str, years: float | None, ok: bool) -> None:
    found = codes(full_time(qualifications=(), route=route, experience_years=years))
    assert found == ([] if ok else ["ART7_QUALIFICATION_REQUIRED"])


@pytest.mark.parametrize("route", ["expert_pool", "recommendation", "invitation", "lottery"])
def test_full_time_route(route: str) -> None:
    assert codes(full_time(route=route)) == ["ART7_ROUTE_INVALID"]


def test_full_time_needs_no_consent_or_end_date() -> None:
    assert codes(full_time(consents={}, end_date=None)) == []
    # An agency may still set a term of any length for a full-time inspector.
    assert codes(full_time(end_date=date(2036, 12, 31))) == []


# ---------------------------------------------------------------------------------------------
# Art. 9: part-time
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["exam", "assessment", "invitation", ""])
def test_part_time_route(route: str) -> None:
    assert codes(part_time(route=route)) == ["ART9_ROUTE_INVALID"]


def test_part_time_recommendation_route() -> None:
    assert codes(part_time(route="recommendation")) == []


@pytest.mark.parametrize(
    "consents",
    [
        {},
        {"self": True},
        {"employer": True},
        {"self": True, "employer": False},
        {"self": "yes", "employer": True},
    ],
)
def test_part_time_consent(consents: dict[str, object]) -> None:
    vs = check_appointment(part_time(consents=consents))
    assert [(v.code, v.article) for v in vs] == [("ART9_CONSENT_REQUIRED", "9")]


@pytest.mark.parametrize(
    ("quals", "ok"),
    [
        ((Qualification("professional_title", "deputy_senior", "x"),), True),
        ((Qualification("professional_title", "senior", "x"),), True),
        ((Qualification("registered_safety_engineer", "intermediate", "x"),), True),
        ((Qualification("registered_safety_engineer", "senior", "x"),), True),
        ((Qualification("professional_title", "intermediate", "x"),), False),
        ((Qualification("registered_safety_engineer", "assistant", "x"),), False),
        ((Qualification("degree", "doctor", "safety", True),), False),
        ((Qualification("vocational_qualification", "level_1", "x"),), False),
        ((), False),
    ],
)
def test_part_time_qualification(quals: tuple[Qualification, ...], ok: bool) -> None:
    assert codes(part_time(qualifications=quals)) == ([] if ok else ["ART9_QUALIFICATION_REQUIRED"])


@pytest.mark.parametrize(
    ("reason", "ok"), [("renowned blasting expert", True), ("   ", False), (None, False)]
)
def test_part_time_exception_reason(reason: str | None, ok: bool) -> None:
    found = codes(part_time(qualifications=(), exception_reason=reason))
    assert found == ([] if ok else ["ART9_QUALIFICATION_REQUIRED"])


# ---------------------------------------------------------------------------------------------
# Art. 17, 18: social supervisors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", ["people_congress_deputy", "cppcc_member", "lawyer", "other"])
def test_supervisor_invitation(category: str) -> None:
    facts = supervisor(
        route="invitation",
        recommended_by=None,
        invitee_category=category,
        consulted=["Shenyang People's Congress", "Shenyang Justice Bureau"],
    )
    assert codes(facts) == []


@pytest.mark.parametrize(
    "kw",
    [
        {"route": "invitation", "invitee_category": "celebrity", "consulted": ["Justice Bureau"]},
        {"route": "invitation", "invitee_category": None, "consulted": ["Justice Bureau"]},
        {"route": "invitation", "invitee_category": "lawyer", "consulted": []},
        {"route": "invitation", "invitee_category": "lawyer", "consulted": ["  "]},
        {"route": "invitation", "invitee_category": "lawyer", "consulted": None},
        {"route": "recommendation", "recommended_by": None},
        {"route": "recommendation", "recommended_by": "  "},
        {"route": "exam"},
        {"route": "expert_pool"},
    ],
)
def test_supervisor_route_invalid(kw: dict[str, Any]) -> None:
    vs = check_appointment(supervisor(**kw))
    assert [(v.code, v.article) for v in vs] == [("ART17_ROUTE_INVALID", "17")]


def test_supervisor_route_gaps_are_one_violation_naming_each() -> None:
    vs = check_appointment(supervisor(route="invitation", invitee_category="celebrity", consulted=None))
    assert [v.code for v in vs] == ["ART17_ROUTE_INVALID"]
    assert "invitee category" in vs[0].message
    assert "consulted" in vs[0].message
    assert "受邀人员类别" in vs[0].message_zh
    assert "征求意见" in vs[0].message_zh


def test_supervisor_consulted_as_text() -> None:
    facts = supervisor(route="invitation", invitee_category="lawyer", consulted="Shenyang Justice Bureau")
    assert codes(facts) == []


@pytest.mark.parametrize("consents", [{}, {"self": True}, {"employer": True, "self": False}])
def test_supervisor_consent(consents: dict[str, object]) -> None:
    vs = check_appointment(supervisor(consents=consents))
    assert [(v.code, v.article) for v in vs] == [("ART18_CONSENT_REQUIRED", "18")]


def test_supervisor_ignores_inspector_qualifications_and_employment() -> None:
    assert codes(supervisor(qualifications=(), employment="full_time")) == []


# ---------------------------------------------------------------------------------------------
# Art. 22: terms
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [part_time, supervisor])
@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (date(2026, 1, 1), []),  # a one-day term
        (date(2028, 12, 31), []),  # three years, counting both ends
        (date(2029, 1, 1), []),  # the same calendar day three years later: the documented limit
        (date(2029, 1, 2), ["ART22_TERM_TOO_LONG"]),  # one day more
        (date(2031, 1, 1), ["ART22_TERM_TOO_LONG"]),
        (date(2025, 12, 31), ["ART22_TERM_INVALID"]),  # ends before it starts
        (None, ["ART22_TERM_REQUIRED"]),
    ],
)
def test_limited_terms(make: Any, end: date | None, expected: list[str]) -> None:
    assert codes(make(end_date=end)) == expected


@pytest.mark.parametrize(
    ("end", "too_long"),
    [(date(2031, 2, 28), False), (date(2031, 3, 1), True)],
)
def test_term_starting_feb_29(end: date, too_long: bool) -> None:
    # 2031 has no 29 February: the limit rounds down to 28 February.
    found = codes(part_time(start_date=date(2028, 2, 29), end_date=end))
    assert found == (["ART22_TERM_TOO_LONG"] if too_long else [])


def test_full_time_end_before_start_is_invalid() -> None:
    assert codes(full_time(end_date=date(2025, 12, 31))) == ["ART22_TERM_INVALID"]


def test_too_long_message_names_latest_end() -> None:
    [v] = check_appointment(part_time(end_date=date(2030, 1, 1)))
    assert v.article == "22"
    assert "2029-01-01" in v.message
    assert "2029-01-01" in v.message_zh


def test_add_years() -> None:
    assert add_years(date(2026, 1, 1), 3) == date(2029, 1, 1)
    assert add_years(date(2028, 2, 29), 3) == date(2031, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)


# ---------------------------------------------------------------------------------------------
# All violations at once; result shape
# ---------------------------------------------------------------------------------------------


def test_all_violations_reported_together_full_time() -> None:
    facts = full_time(
        birth_date=date(2009, 6, 1),
        route="invitation",
        declarations={"criminal_record": True, "dishonest_list": True, "unresolved_labor_dispute": True},
        qualifications=(),
        end_date=date(2025, 1, 1),
    )
    assert codes(facts) == [
        "ART11_UNDER_18",
        "ART11_NO_CIVIL_CAPACITY",
        "ART11_CRIMINAL_RECORD",
        "ART11_DISHONEST_LIST",
        "ART11_LABOR_DISPUTE",
        "ART7_ROUTE_INVALID",
        "ART7_QUALIFICATION_REQUIRED",
        "ART22_TERM_INVALID",
    ]


def test_all_violations_reported_together_part_time() -> None:
    facts = part_time(
        route="exam",
        consents={},
        qualifications=(),
        declarations={**CLEAN, "pending_criminal_case": True, "dismissed_from_public_office": True},
        end_date=None,
    )
    vs = check_appointment(facts)
    assert [(v.code, v.article) for v in vs] == [
        ("ART11_PENDING_CRIMINAL_CASE", "11"),
        ("ART11_DISMISSED_FROM_PUBLIC_OFFICE", "11"),
        ("ART9_ROUTE_INVALID", "9"),
        ("ART9_CONSENT_REQUIRED", "9"),
        ("ART9_QUALIFICATION_REQUIRED", "9"),
        ("ART22_TERM_REQUIRED", "22"),
    ]


def test_all_violations_reported_together_supervisor() -> None:
    vs = check_appointment(supervisor(route="exam", consents={}, end_date=date(2030, 6, 1)))
    assert [v.code for v in vs] == ["ART17_ROUTE_INVALID", "ART18_CONSENT_REQUIRED", "ART22_TERM_TOO_LONG"]


def test_every_violation_has_both_messages() -> None:
    facts = part_time(route="exam", consents={}, qualifications=(), declarations={"criminal_record": True})
    for v in check_appointment(facts):
        assert isinstance(v, Violation)
        assert v.message
        assert v.message_zh
        assert v.message != v.message_zh
        assert v.code.startswith(f"ART{v.article}_")


def test_violation_is_frozen_and_serialisable() -> None:
    v = Violation("ART11_UNDER_18", "11", "m", "中")
    assert v.as_dict() == {"code": "ART11_UNDER_18", "article": "11", "message": "m", "message_zh": "中"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.code = "X"  # type: ignore[misc]


def test_facts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        full_time().route = "assessment"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Malformed facts and require_eligible
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"role": "officer"}, "role"),
        ({"employment": None}, "employment"),
        ({"employment": "seasonal"}, "employment"),
    ],
)
def test_malformed_facts_raise_validation_error(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(Unprocessable) as exc:
        check_appointment(full_time(**kw))
    assert exc.value.code == "VALIDATION_ERROR"
    assert exc.value.detail["errors"][0]["field"] == field


def test_require_eligible_raises_not_eligible() -> None:
    with pytest.raises(Unprocessable) as exc:
        require_eligible(part_time(consents={}, end_date=None))
    err = exc.value
    assert err.code == "NOT_ELIGIBLE"
    assert err.http_status == 422
    assert err.article is None  # two articles (9 and 22)
    assert [(v["code"], v["article"]) for v in err.detail["violations"]] == [
        ("ART9_CONSENT_REQUIRED", "9"),
        ("ART22_TERM_REQUIRED", "22"),
    ]
    assert "ART9_CONSENT_REQUIRED" in err.message


def test_require_eligible_single_article() -> None:
    with pytest.raises(Unprocessable) as exc:
        require_eligible(
            full_time(birth_date=date(2010, 1, 1), declarations={**CLEAN, "dishonest_list": True})
        )
    assert exc.value.article == "11"
    assert len(exc.value.detail["violations"]) == 2
