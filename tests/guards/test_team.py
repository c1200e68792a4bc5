"""Who may be on an inspection team (Art. 13(1), 16) — pure rules."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import DomainError
from backend.guards.team import Candidate, require_team_eligible, team_problems

SY = "210100"


def person(role: str = "officer", status: str = "active", agency: str = SY) -> Candidate:
    return Candidate(person_id=uuid.uuid4(), role=role, status=status, agency_code=agency)


def test_officers_and_inspectors_of_the_agency_may_join() -> None:
    team = [person(), person("technical_inspector")]
    known = {p.person_id: p for p in team}
    assert team_problems([p.person_id for p in team], known, SY, ()) == []
    require_team_eligible("normal", [p.person_id for p in team], known, SY, ())


def test_each_problem_is_named_in_the_order_proposed() -> None:
    stranger = uuid.uuid4()
    gone = person(status="dismissed")
    clerk = person("hr_admin")
    county = person("technical_inspector", agency="210102")
    borrowed = person("technical_inspector", agency="210102")
    known = {p.person_id: p for p in (gone, clerk, county, borrowed)}
    ids = [stranger, gone.person_id, clerk.person_id, county.person_id, borrowed.person_id]
    assert team_problems(ids, known, SY, [borrowed.person_id]) == [
        {"person_id": str(stranger), "reason": "unknown_person"},
        {"person_id": str(gone.person_id), "reason": "not_active"},
        {"person_id": str(clerk.person_id), "reason": "role", "role": "hr_admin"},
        {"person_id": str(county.person_id), "reason": "not_of_agency_nor_dispatched", "agency_code": "210102"},
    ]
    with pytest.raises(DomainError) as info:
        require_team_eligible("normal", ids, known, SY, [borrowed.person_id])
    assert (info.value.http_status, info.value.code, info.value.article) == (422, "TEAM_MEMBER_NOT_ELIGIBLE", "16")
    assert len(info.value.detail["members"]) == 4


def test_the_first_reason_wins_for_one_person() -> None:
    # A dismissed clerk of another agency is refused as not active, not three times over.
    odd = person("hr_admin", status="dismissed", agency="210102")
    assert team_problems([odd.person_id], {odd.person_id: odd}, SY, ()) == [
        {"person_id": str(odd.person_id), "reason": "not_active"}]


def test_a_dispatch_makes_another_agencys_inspector_eligible() -> None:
    borrowed = person("technical_inspector", agency="210102")
    assert team_problems([borrowed.person_id], {borrowed.person_id: borrowed}, SY, [borrowed.person_id]) == []


def test_no_inspector_on_a_secret_inspections_team_comes_first() -> None:
    inspector, unknown = person("technical_inspector"), uuid.uuid4()
    with pytest.raises(DomainError) as info:
        require_team_eligible("secret", [inspector.person_id, unknown], {inspector.person_id: inspector}, SY, ())
    assert (info.value.http_status, info.value.code, info.value.article) == (403, "ART13_STATE_SECRET", "13")
