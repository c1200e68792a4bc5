"""Articles 14 and 24 as pure checks: who issues credentials, and what must come first."""

from __future__ import annotations

from backend.core.auth import Principal
from backend.core.errors import GuardError
from backend.guards.access import require_role

#: The provincial department (Liaoning) — its personnel office alone issues credentials.
PROVINCE_CODE = "210000"


def require_provincial_issuer(principal: Principal) -> None:
    """Art. 24: only the provincial personnel office issues credentials."""
    require_role(principal, "hr_admin", article="24")
    if principal.agency_code != PROVINCE_CODE:
        raise GuardError(
            "Only the provincial personnel office issues credentials",
            "工作证件由省级应急管理部门人事机构统一制发",
            code="ART24_PROVINCIAL_ONLY", article="24", status=403,
        )


def require_pre_job_training(passed: bool) -> None:
    """Art. 14: no credential before a pre-job training with a passed assessment."""
    if not passed:
        raise GuardError(
            "A passed pre-job training is required before a credential is issued",
            "须经岗前培训并考核合格后方可发放工作证件",
            code="ART14_PRE_JOB_TRAINING_REQUIRED", article="14", status=409,
        )
