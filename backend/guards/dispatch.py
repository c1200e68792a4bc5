"""Article 16 as pure checks: only technical inspectors are dispatched, only upwards in the agency
tree; a dispatch covers the days from its start to its end date, both included, while the
inspector is active. `backend/personnel/dispatch/repository.py` and
`backend/inspections/repository.py` filter dispatches with the SQL twin of `dispatch_covers`
(tests/personnel/test_dispatch.py checks the two agree)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from backend.core.errors import GuardError, Unprocessable

#: Art. 16 speaks of technical inspectors (技术检查员) only.
DISPATCHABLE_ROLE = "technical_inspector"


class AgencyLike(Protocol):
    code: str
    path: str


def require_upper_level(person_agency: AgencyLike, to_agency: AgencyLike) -> None:
    """Art. 16: an upper-level agency borrows a lower-level agency's inspector — the receiving
    agency must be a strict ancestor of the inspector's own in the agency tree."""
    if person_agency.path == to_agency.path or not person_agency.path.startswith(to_agency.path):
        raise GuardError(
            "An inspector may be dispatched only to an agency above their own (Art. 16)",
            "只能由上级应急管理部门调用下级部门聘用的技术检查员（第十六条）",
            code="ART16_NOT_UPPER_LEVEL", article="16", status=403,
            detail={"person_agency_code": person_agency.code, "to_agency_code": to_agency.code},
        )


def require_dispatchable(role: str) -> None:
    """Art. 16: only technical inspectors are dispatched (not officers, supervisors or staff)."""
    if role != DISPATCHABLE_ROLE:
        raise Unprocessable("Only technical inspectors are dispatched (Art. 16)", "只有技术检查员可被调用（第十六条）",
                            code="NOT_AN_INSPECTOR", article="16")


def dispatch_covers(*, start_date: date, end_date: date, to_agency_code: str, person_status: str,
                    agency_code: str, day: date) -> bool:
    """Is the inspector dispatched to exactly `agency_code` on `day` (start and end inclusive)? A
    dismissed inspector is no longer anyone's to borrow, whatever the dispatch said."""
    return (to_agency_code == agency_code and start_date <= day <= end_date
            and person_status == "active")
