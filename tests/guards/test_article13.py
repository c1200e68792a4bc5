"""Articles 12 and 13 on site, as pure rules on a snapshot (no database)."""

from __future__ import annotations

import uuid

import pytest

from backend.core.auth import Principal
from backend.core.errors import DomainError
from backend.guards.article13 import (
    COERCIVE_TYPES,
    DECISION_TYPES,
    RECORD_TYPES,
    InspectionSnapshot,
    OfficerReadiness,
    require_document_type_allowed,
    require_may_act,
    require_may_see,
    require_officer,
    require_team_may_join,
    require_two_officers,
)

O1, O2, O3, INS, INS2, SUP = (uuid.uuid4() for _ in range(6))


def who(person_id: uuid.UUID, role: str) -> Principal:
    return Principal(person_id=person_id, role=role, agency_code="210100", agency_path="210000/210100/",
                     name="x", employment="full_time" if role == "technical_inspector" else None)


OFFICER1 = who(O1, "officer")
OFFICER3 = who(O3, "officer")
INSPECTOR = who(INS, "technical_inspector")
INSPECTOR2 = who(INS2, "technical_inspector")
SUPERVISOR = who(SUP, "social_supervisor")
HR = who(uuid.uuid4(), "hr_admin")
ADMIN = who(uuid.uuid4(), "agency_admin")

TEAM = frozenset({(O1, "officer"), (O2, "officer"), (INS, "technical_inspector"), (INS2, "technical_inspector")})


def snap(status: str = "in_progress", present: set[uuid.UUID] | None = None,
         displayed: set[uuid.UUID] | None = None, classification: str = "normal") -> InspectionSnapshot:
    return InspectionSnapshot(
        inspection_id=uuid.uuid4(), status=status, classification=classification, team=TEAM,
        present=frozenset({O1, O2, INS} if present is None else present),
        displayed=frozenset({O1, O2, INS} if displayed is None else displayed),
    )


def code_of(fn, *args, **kw) -> tuple[int, str, str | None]:
    with pytest.raises(DomainError) as info:
        fn(*args, **kw)
    return info.value.http_status, info.value.code, info.value.article


def test_inspector_may_act_with_two_officers_present_and_credential_shown():
    require_may_act(snap(), INSPECTOR)
    require_may_act(snap(), OFFICER1)


@pytest.mark.parametrize(("status", "refusal"), [("planned", (409, "ART13_ACTING_ALONE", "13")),
                                                  ("finished", (409, "INSPECTION_FINISHED", None))])
def test_inspector_never_acts_outside_an_inspection_in_progress(status, refusal):
    # A finished inspection is refused as finished (for everyone), not as "acting alone".
    assert code_of(require_may_act, snap(status=status), INSPECTOR) == refusal


def test_inspector_acting_alone_with_one_officer_present():
    assert code_of(require_may_act, snap(present={O1, INS}), INSPECTOR) == (409, "ART13_ACTING_ALONE", "13")


def test_inspectors_never_count_towards_the_two_officers():
    # Two inspectors and one officer present: still acting alone.
    assert code_of(require_may_act, snap(present={O1, INS, INS2}, displayed={O1, INS, INS2}),
                   INSPECTOR) == (409, "ART13_ACTING_ALONE", "13")


def test_officers_not_on_the_team_do_not_count():
    s = InspectionSnapshot(inspection_id=uuid.uuid4(), status="in_progress", classification="normal",
                           team=TEAM, present=frozenset({O1, O3, INS}), displayed=frozenset({INS}))
    assert code_of(require_may_act, s, INSPECTOR)[1] == "ART13_ACTING_ALONE"


def test_inspector_must_have_shown_their_credential():
    assert code_of(require_may_act, snap(displayed={O1, O2}), INSPECTOR) == (409, "ART12_CREDENTIAL_NOT_SHOWN", "12")
    # Someone else's display does not count for them.
    assert code_of(require_may_act, snap(displayed={O1, O2, INS}), INSPECTOR2)[1] == "ART12_CREDENTIAL_NOT_SHOWN"


def test_officer_acts_only_in_progress_unless_paperwork_after_finish():
    assert code_of(require_may_act, snap(status="planned"), OFFICER1)[:2] == (409, "INSPECTION_NOT_IN_PROGRESS")
    assert code_of(require_may_act, snap(status="finished"), OFFICER1)[1] == "INSPECTION_FINISHED"
    require_may_act(snap(status="finished"), OFFICER1, after_finish_ok=True)
    # An inspector gets no such allowance.
    assert code_of(require_may_act, snap(status="finished"), INSPECTOR, after_finish_ok=True)[1] == \
        "INSPECTION_FINISHED"


@pytest.mark.parametrize("principal", [SUPERVISOR, HR, ADMIN])
def test_non_enforcement_roles_never_write_enforcement_acts(principal):
    assert code_of(require_may_act, snap(), principal)[:2] == (403, "FORBIDDEN")


def test_non_team_officer_cannot_act():
    assert code_of(require_may_act, snap(), OFFICER3)[:2] == (403, "FORBIDDEN")


def test_secret_inspection_is_off_limits_to_inspectors():
    assert code_of(require_may_act, snap(classification="secret"), INSPECTOR) == (403, "ART13_STATE_SECRET", "13")
    assert code_of(require_may_see, INSPECTOR, "secret") == (403, "ART13_STATE_SECRET", "13")
    require_may_see(INSPECTOR, "normal")
    require_may_see(OFFICER1, "secret")
    assert code_of(require_team_may_join, "secret", ["officer", "technical_inspector"])[1] == "ART13_STATE_SECRET"
    require_team_may_join("secret", ["officer", "officer"])
    require_team_may_join("normal", ["officer", "technical_inspector"])


@pytest.mark.parametrize("action", ["create", "start", "finish"])
def test_reserved_to_officers(action):
    require_officer(OFFICER1, action)
    assert code_of(require_officer, INSPECTOR, action) == (403, "FORBIDDEN", "13")
    assert code_of(require_officer, HR, action) == (403, "FORBIDDEN", None)
    assert code_of(require_officer, SUPERVISOR, action)[:2] == (403, "FORBIDDEN")


@pytest.mark.parametrize("doc_type", sorted(DECISION_TYPES))
def test_decisions_are_officers_alone(doc_type):
    require_document_type_allowed(OFFICER1, doc_type)
    assert code_of(require_document_type_allowed, INSPECTOR, doc_type) == (403, "ART13_DECISION_FORBIDDEN", "13")


@pytest.mark.parametrize("doc_type", sorted(COERCIVE_TYPES))
def test_coercive_measures_are_officers_alone(doc_type):
    assert code_of(require_document_type_allowed, INSPECTOR, doc_type) == (403, "ART13_COERCIVE_FORBIDDEN", "13")


@pytest.mark.parametrize("doc_type", sorted(RECORD_TYPES))
def test_inspectors_may_draft_records(doc_type):
    require_document_type_allowed(INSPECTOR, doc_type)


def ready(pid, **over):
    values = {"checked_in": True, "certificate_valid": True, "certificate_shown": True} | over
    return OfficerReadiness(person_id=pid, name=str(pid)[:4], **values)


def test_two_ready_officers_start():
    require_two_officers([ready(O1), ready(O2)])
    require_two_officers([ready(O1), ready(O2), ready(O3, checked_in=False)])


@pytest.mark.parametrize("missing", ["checked_in", "certificate_valid", "certificate_shown"])
def test_start_refused_with_who_misses_what(missing):
    status, code, _ = code_of(require_two_officers, [ready(O1), ready(O2, **{missing: False})])
    assert (status, code) == (409, "TWO_OFFICERS_REQUIRED")
    with pytest.raises(DomainError) as info:
        require_two_officers([ready(O1), ready(O2, **{missing: False})])
    officers = {o["person_id"]: o["missing"] for o in info.value.detail["officers"]}
    assert officers[str(O1)] == []
    expected = {"checked_in": "check_in", "certificate_valid": "valid_enforcement_certificate",
                "certificate_shown": "certificate_display"}[missing]
    assert officers[str(O2)] == [expected]
    assert info.value.detail["ready"] == 1 and info.value.detail["required"] == 2


def test_one_officer_twice_is_not_two():
    assert code_of(require_two_officers, [ready(O1), ready(O1)])[1] == "TWO_OFFICERS_REQUIRED"
    assert code_of(require_two_officers, [])[1] == "TWO_OFFICERS_REQUIRED"
