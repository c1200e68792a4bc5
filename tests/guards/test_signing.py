"""Who signs what in which slot (Art. 12, 13) and when a document locks — pure rules."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from backend.core.auth import Principal
from backend.core.errors import DomainError
from backend.guards.signing import (
    AuthorisationView,
    SignatureView,
    authorisation_covers,
    lock_state,
    require_may_grant_signing,
    require_may_sign,
)

TODAY = date(2026, 11, 26)
SY = "210000/210100/"
RECORD = "on_site_inspection_record"


def who(role: str) -> Principal:
    return Principal(person_id=uuid.uuid4(), role=role, agency_code="210100", agency_path=SY, name="x")


OFFICER, INSPECTOR, HR, SUPERVISOR = who("officer"), who("technical_inspector"), who("hr_admin"), who(
    "social_supervisor")


def refused(fn, *args, **kw) -> tuple[int, str, str | None]:
    with pytest.raises(DomainError) as info:
        fn(*args, **kw)
    return info.value.http_status, info.value.code, info.value.article


def auth(types=(RECORD,), until=date(2027, 1, 1), revoked=False, path="210000/210100/") -> AuthorisationView:
    return AuthorisationView(frozenset(types), until, revoked, path)


def test_authorisation_covers_type_date_revocation_and_agency():
    assert authorisation_covers([auth()], RECORD, TODAY, SY)
    assert authorisation_covers([auth(until=TODAY)], RECORD, TODAY, SY)  # valid through its last day
    assert not authorisation_covers([auth(until=date(2026, 11, 25))], RECORD, TODAY, SY)
    assert not authorisation_covers([auth(revoked=True)], RECORD, TODAY, SY)
    assert not authorisation_covers([auth(types=("recheck_opinion",))], RECORD, TODAY, SY)
    assert not authorisation_covers([], RECORD, TODAY, SY)
    # Granted by the province (above): fine. Granted by Dalian (another city): not their agency.
    assert authorisation_covers([auth(path="210000/")], RECORD, TODAY, SY)
    assert not authorisation_covers([auth(path="210000/210200/")], RECORD, TODAY, SY)


def test_officers_sign_as_officers_and_enter_enterprise_and_witness_signatures():
    for role in ("officer", "enterprise_representative", "witness"):
        require_may_sign(OFFICER, signer_role=role, doc_type="penalty_decision", authorised=False)
    assert refused(require_may_sign, OFFICER, signer_role="technical_inspector", doc_type=RECORD,
                   authorised=True)[:2] == (403, "SIGNER_ROLE_MISMATCH")


@pytest.mark.parametrize("doc_type", [RECORD, "recheck_opinion"])
def test_authorised_inspector_signs_records(doc_type):
    require_may_sign(INSPECTOR, signer_role="technical_inspector", doc_type=doc_type, authorised=True)
    assert refused(require_may_sign, INSPECTOR, signer_role="technical_inspector", doc_type=doc_type,
                   authorised=False) == (403, "ART12_NOT_AUTHORISED_TO_SIGN", "12")


@pytest.mark.parametrize(("doc_type", "code"), [
    ("rectification_order", "ART13_DECISION_FORBIDDEN"),
    ("on_site_measure_decision", "ART13_DECISION_FORBIDDEN"),
    ("penalty_decision", "ART13_DECISION_FORBIDDEN"),
    ("seizure_decision", "ART13_COERCIVE_FORBIDDEN"),
])
def test_inspector_never_signs_decisions_even_if_authorised(doc_type, code):
    assert refused(require_may_sign, INSPECTOR, signer_role="technical_inspector", doc_type=doc_type,
                   authorised=True) == (403, code, "13")


@pytest.mark.parametrize("slot", ["officer", "enterprise_representative", "witness"])
def test_inspector_never_signs_in_someone_elses_slot(slot):
    assert refused(require_may_sign, INSPECTOR, signer_role=slot, doc_type=RECORD, authorised=True) == (
        403, "SIGNER_ROLE_MISMATCH", "13")


@pytest.mark.parametrize("principal", [HR, SUPERVISOR])
def test_others_do_not_sign(principal):
    assert refused(require_may_sign, principal, signer_role="officer", doc_type=RECORD, authorised=True)[:2] == (
        403, "FORBIDDEN")


O1, O2, I1, I2 = (uuid.uuid4() for _ in range(4))


def sig(role, pid=None, refused=False):
    return SignatureView(role, pid, refused)


def test_lock_needs_two_officers_enterprise_and_present_authorised_inspectors():
    full = [sig("officer", O1), sig("officer", O2), sig("enterprise_representative"), sig("technical_inspector", I1)]
    assert lock_state(full, {I1}).locked
    assert not lock_state(full[:1] + full[2:], {I1}).locked  # one officer
    assert lock_state(full[:1] + full[2:], {I1}).officer_signatures == 1
    assert not lock_state(full[:2] + full[3:], {I1}).locked  # no enterprise
    state = lock_state(full, {I1, I2})  # another authorised inspector was present and has not signed
    assert not state.locked and state.inspectors_missing == (I2,)
    assert state.detail()["inspectors_missing"] == [str(I2)]


def test_enterprise_refusal_counts_and_one_officer_twice_does_not():
    assert lock_state([sig("officer", O1), sig("officer", O2), sig("enterprise_representative", refused=True)],
                      ()).locked
    assert not lock_state([sig("officer", O1), sig("officer", O1), sig("enterprise_representative")], ()).locked


def test_witness_is_not_the_enterprise():
    assert not lock_state([sig("officer", O1), sig("officer", O2), sig("witness")], ()).locked


# --- Art. 12: granting the authorisation ----------------------------------------------------------

ADMIN = who("agency_admin")


def grant(principal: Principal = ADMIN, *, role: str = "technical_inspector", status: str = "active",
          path: str = SY + "210102/", until: date = TODAY) -> None:
    require_may_grant_signing(principal, holder_role=role, holder_status=status, holder_agency_path=path,
                              valid_until=until, today=TODAY)


def test_leadership_of_the_inspectors_agency_or_above_grants_to_an_active_inspector() -> None:
    grant()  # a county below the city: the city's leadership may grant, until today inclusive
    grant(path=SY)
    assert refused(grant, HR) == (403, "FORBIDDEN", "12")
    assert refused(grant, OFFICER) == (403, "FORBIDDEN", "12")
    assert refused(grant, path="210000/210200/") == (403, "FORBIDDEN", "12")  # another city
    assert refused(grant, path="210000/") == (403, "FORBIDDEN", "12")  # the province, above the granter


def test_only_active_technical_inspectors_are_authorised_to_sign() -> None:
    for role in ("officer", "social_supervisor", "hr_admin"):
        assert refused(grant, role=role) == (422, "NOT_A_TECHNICAL_INSPECTOR", "12")
    assert refused(grant, status="dismissed") == (422, "NOT_A_TECHNICAL_INSPECTOR", "12")


def test_an_authorisation_cannot_end_in_the_past() -> None:
    with pytest.raises(DomainError) as info:
        grant(until=date(2026, 11, 25))
    assert (info.value.http_status, info.value.code) == (422, "VALIDATION_ERROR")
    assert info.value.detail["errors"][0]["field"] == "valid_until"
