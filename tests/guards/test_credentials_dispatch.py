"""Articles 14, 16 and 24 as pure checks (no database)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest

from backend.core.auth import Principal
from backend.core.errors import DomainError
from backend.guards.credentials import require_pre_job_training, require_provincial_issuer
from backend.guards.dispatch import dispatch_covers, require_dispatchable, require_upper_level


def principal(role: str, code: str, path: str) -> Principal:
    return Principal(person_id=uuid.uuid4(), role=role, agency_code=code, agency_path=path, name="x")


@dataclass
class Agency:
    code: str
    path: str


def test_only_the_provincial_personnel_office_issues():
    require_provincial_issuer(principal("hr_admin", "210000", "210000/"))
    with pytest.raises(DomainError) as exc:
        require_provincial_issuer(principal("hr_admin", "210100", "210000/210100/"))
    assert (exc.value.code, exc.value.article, exc.value.http_status) == ("ART24_PROVINCIAL_ONLY", "24", 403)
    with pytest.raises(DomainError) as exc:
        require_provincial_issuer(principal("agency_admin", "210000", "210000/"))
    assert exc.value.http_status == 403


def test_pre_job_training_first():
    require_pre_job_training(True)
    with pytest.raises(DomainError) as exc:
        require_pre_job_training(False)
    assert (exc.value.code, exc.value.article, exc.value.http_status) == ("ART14_PRE_JOB_TRAINING_REQUIRED", "14", 409)


@pytest.mark.parametrize(
    ("home", "to", "ok"),
    [
        (Agency("210102", "210000/210100/210102/"), Agency("210100", "210000/210100/"), True),
        (Agency("210102", "210000/210100/210102/"), Agency("210000", "210000/"), True),
        (Agency("210100", "210000/210100/"), Agency("210100", "210000/210100/"), False),  # same agency
        (Agency("210100", "210000/210100/"), Agency("210102", "210000/210100/210102/"), False),  # lower
        (Agency("210102", "210000/210100/210102/"), Agency("210200", "210000/210200/"), False),  # other city
        (Agency("210102", "210000/210100/210102/"), Agency("210103", "210000/210100/210103/"), False),  # sibling
    ],
)
def test_dispatch_only_upwards(home, to, ok):
    if ok:
        require_upper_level(home, to)
        return
    with pytest.raises(DomainError) as exc:
        require_upper_level(home, to)
    assert (exc.value.code, exc.value.article) == ("ART16_NOT_UPPER_LEVEL", "16")


def test_only_technical_inspectors_are_dispatched():
    require_dispatchable("technical_inspector")
    for role in ("officer", "social_supervisor", "hr_admin", "agency_admin"):
        with pytest.raises(DomainError) as exc:
            require_dispatchable(role)
        assert (exc.value.code, exc.value.article, exc.value.http_status) == ("NOT_AN_INSPECTOR", "16", 422)


def test_a_dispatch_covers_its_days_inclusive_at_exactly_its_agency_while_the_inspector_is_active():
    span = {"start_date": date(2026, 3, 1), "end_date": date(2026, 3, 31), "to_agency_code": "210000"}
    covers = lambda **kw: dispatch_covers(**{**span, "person_status": "active", "agency_code": "210000", **kw})  # noqa: E731
    assert covers(day=date(2026, 3, 1)) and covers(day=date(2026, 3, 31)) and covers(day=date(2026, 3, 15))
    assert not covers(day=date(2026, 2, 28)) and not covers(day=date(2026, 4, 1))
    assert not covers(day=date(2026, 3, 15), agency_code="210100")  # not the agency it was dispatched to
    assert not covers(day=date(2026, 3, 15), person_status="dismissed")
