"""The facts the eligibility rules (backend/guards/eligibility.py) look at: the vocabularies and
ladders of qualifications, one appointment's facts, a violation, and the calendar arithmetic of
ages and terms. Pure: no database, no clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

# Ladders, lowest first (DOMAIN.md §Eligibility "Vocabularies").
TITLE_LEVELS: Final = ("junior", "intermediate", "deputy_senior", "senior")
VOCATIONAL_LEVELS: Final = ("level_5", "level_4", "level_3", "level_2", "level_1")
DEGREE_LEVELS: Final = ("associate", "bachelor", "master", "doctor")
REGISTERED_SAFETY_ENGINEER_LEVELS: Final = ("assistant", "intermediate", "senior")

INVITEE_CATEGORIES: Final = frozenset({"people_congress_deputy", "cppcc_member", "lawyer", "other"})

ROLES: Final = frozenset({"technical_inspector", "social_supervisor"})
EMPLOYMENTS: Final = frozenset({"full_time", "part_time"})

TERM_YEARS: Final = 3  # Art. 22
AGE_OF_MAJORITY: Final = 18  # Art. 11(1)
EXPERIENCE_EXCEPTION_YEARS: Final = 10  # Art. 7, second paragraph


@dataclass(frozen=True, slots=True)
class Qualification:
    """One entry of a person's qualifications (API.md `POST /people/{id}/qualifications`)."""

    kind: str  # degree | professional_title | vocational_qualification | registered_safety_engineer
    level: str
    field: str = ""
    safety_related: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AppointmentFacts:
    """Everything the eligibility rules look at, gathered by the personnel service."""

    role: str  # technical_inspector | social_supervisor
    employment: str | None = None  # full_time | part_time; technical inspectors only
    birth_date: date
    start_date: date
    end_date: date | None = None
    route: str  # exam | assessment | expert_pool | recommendation | invitation
    experience_years: float | None = None
    # full_civil_capacity, criminal_record, pending_criminal_case, dismissed_from_public_office,
    # unresolved_labor_dispute, dishonest_list
    declarations: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    consents: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # {"self": bool, "employer": bool}
    qualifications: Sequence[Qualification] = ()
    exception_reason: str | None = None
    recommended_by: str | None = None
    invitee_category: str | None = None
    consulted: Sequence[str] | str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason an appointment is refused, with the article it rests on."""

    code: str
    article: str
    message: str
    message_zh: str

    def as_dict(self) -> dict[str, str]:
        """The element of `detail.violations` in API.md."""
        return {
            "code": self.code,
            "article": self.article,
            "message": self.message,
            "message_zh": self.message_zh,
        }


# --------------------------------------------------------------------------------------------------
# Calendar helpers
# --------------------------------------------------------------------------------------------------


def add_years(d: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February in a common year.

    Used for Art. 22 terms, where rounding down is the reading that keeps a term within 3 years.
    """
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # only 29 February has no counterpart
        return d.replace(year=d.year + years, day=28)


def eighteenth_birthday(birth_date: date) -> date:
    """First day on which a person is 18 (Art. 11(1)); 1 March for a 29 February birth in a common year."""
    try:
        return birth_date.replace(year=birth_date.year + AGE_OF_MAJORITY)
    except ValueError:
        return date(birth_date.year + AGE_OF_MAJORITY, 3, 1)
