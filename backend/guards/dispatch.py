"""Article 16 as a pure check: dispatch only upwards in the agency tree."""

from __future__ import annotations

from typing import Protocol

from backend.core.errors import GuardError


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
