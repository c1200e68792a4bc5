"""The end of a working life (Art. 22, 25, 26, 27) — pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from backend.core.errors import DomainError
from backend.guards import dismissal as d


def refused(fn, *args, **kw) -> tuple[int, str, str | None]:
    with pytest.raises(DomainError) as info:
        fn(*args, **kw)
    return info.value.http_status, info.value.code, info.value.article


def test_only_inspectors_and_supervisors_are_dismissed_or_charged_with_misconduct() -> None:
    for role in ("technical_inspector", "social_supervisor"):
        d.require_dismissible(role, "25")
        d.require_dismissible(role, "26")
    for role in ("officer", "hr_admin", "agency_admin"):
        assert refused(d.require_dismissible, role, "25") == (422, "NOT_INSPECTOR_OR_SUPERVISOR", "25")
        assert refused(d.require_dismissible, role, "26") == (422, "NOT_INSPECTOR_OR_SUPERVISOR", "26")


def test_a_person_is_dismissed_once() -> None:
    d.require_not_dismissed("active")
    assert refused(d.require_not_dismissed, "dismissed") == (409, "ALREADY_DISMISSED", "25")


def test_a_dismissed_appointment_never_runs_past_its_agreed_end() -> None:
    assert d.appointment_stops_on(None, date(2026, 5, 1)) == date(2026, 5, 1)
    assert d.appointment_stops_on(date(2026, 12, 31), date(2026, 5, 1)) == date(2026, 5, 1)
    assert d.appointment_stops_on(date(2026, 4, 30), date(2026, 5, 1)) == date(2026, 4, 30)


def test_a_lapsed_term_without_renewal_dismisses_the_day_after_it_ends() -> None:
    assert d.lapsed_term_outcome(role="technical_inspector", status="active", renewed=False) == "dismissed"
    assert d.lapsed_term_outcome(role="social_supervisor", status="active", renewed=False) == "dismissed"
    assert d.lapsed_term_outcome(role="technical_inspector", status="active", renewed=True) == "ended"
    assert d.lapsed_term_outcome(role="technical_inspector", status="dismissed", renewed=False) == "ended"
    assert d.lapsed_term_outcome(role="officer", status="active", renewed=False) == "ended"
    assert d.lapsed_term_dismissal_date(date(2028, 12, 31)) == date(2029, 1, 1)


def test_misconduct_dismisses_as_criminal_only_when_transferred_to_the_judicial_organs() -> None:
    assert d.misconduct_dismissal_reason("transfer_to_judicial") == "criminal"
    for sanction in ("warning", "criticism", "self_examination", "discipline", "transfer_to_discipline_inspection"):
        assert d.misconduct_dismissal_reason(sanction) == "discipline"


def test_a_misconduct_effective_date_only_with_a_dismissal() -> None:
    d.require_effective_date_only_with_dismissal(None, False)
    d.require_effective_date_only_with_dismissal(date(2026, 5, 1), True)
    assert refused(d.require_effective_date_only_with_dismissal, date(2026, 5, 1), False) == (
        422, "VALIDATION_ERROR", None)


def test_the_checklist_is_the_three_items_of_art25() -> None:
    assert d.CHECKLIST_ITEMS == ("credential_card", "protective_equipment", "technical_equipment")
