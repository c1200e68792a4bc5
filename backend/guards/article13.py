"""Articles 12 and 13 on site, as pure checks on a snapshot of an inspection (no database).

Art. 13 forbids technical inspectors (1) anything involving state secrets, (2) acting alone,
(3) enforcement decisions, (4) administrative coercive measures and (5) anything reserved to
officers (creating, starting, finishing an inspection). Art. 12 makes an inspector show the work
credential before acting. The on-site start rule (two sworn officers present, certificates valid
and shown) comes from the Administrative Penalty Law (Art. 42, 55) and the Work Safety Law (Art. 67).

Services build an `InspectionSnapshot` from the database and call these through
`backend.inspections.service.require_may_act` (evidence directly; offline ops because they run the
same service functions as the HTTP controllers), so every enforcement act is judged by the same
code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.core.auth import Principal
from backend.core.errors import Conflict, Forbidden, GuardError
from backend.guards.inspection_status import FINISHED, IN_PROGRESS

OFFICER = "officer"
INSPECTOR = "technical_inspector"
ENFORCEMENT_ROLES = frozenset({OFFICER, INSPECTOR})

RECORD_TYPES = frozenset({"on_site_inspection_record", "recheck_opinion"})
DECISION_TYPES = frozenset({"rectification_order", "on_site_measure_decision", "penalty_decision"})
COERCIVE_TYPES = frozenset({"seizure_decision"})
DOCUMENT_TYPES = RECORD_TYPES | DECISION_TYPES | COERCIVE_TYPES

#: How many distinct sworn officers must be on site for enforcement to happen.
OFFICERS_REQUIRED = 2


@dataclass(frozen=True)
class InspectionSnapshot:
    """What the rules need to know about one inspection at one moment."""

    inspection_id: uuid.UUID
    status: str  # planned | in_progress | finished
    classification: str  # normal | secret
    #: (person_id, role) of every team member.
    team: frozenset[tuple[uuid.UUID, str]] = field(default_factory=frozenset)
    #: Team members checked in and not checked out.
    present: frozenset[uuid.UUID] = field(default_factory=frozenset)
    #: Holders whose credential display (work credential or enforcement certificate) is recorded.
    displayed: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @property
    def team_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(pid for pid, _ in self.team)

    def role_of(self, person_id: uuid.UUID) -> str | None:
        for pid, role in self.team:
            if pid == person_id:
                return role
        return None

    @property
    def officers_present(self) -> frozenset[uuid.UUID]:
        return frozenset(pid for pid, role in self.team if role == OFFICER and pid in self.present)


def _secret() -> GuardError:
    return GuardError(
        "Technical inspectors may not see or join an inspection involving state secrets",
        "技术检查员不得查看或参与涉及国家秘密的检查",
        code="ART13_STATE_SECRET", article="13", status=403,
    )


def require_officer(principal: Principal, action: str) -> None:
    """Art. 13(5): creating, starting and finishing an inspection is reserved to officers.

    A technical inspector gets 403 FORBIDDEN with article "13"; any other non-officer role gets a
    plain role refusal (no article: it is not an Art. 13 matter that an HR clerk cannot do this)."""
    if principal.role == OFFICER:
        return
    if principal.role == INSPECTOR:
        raise GuardError(
            f"Only enforcement officers may {action} an inspection (reserved to officers)",
            f"仅行政执法人员可{_ACTION_ZH.get(action, action)}检查（技术检查员不得从事）",
            code="FORBIDDEN", article="13", status=403, detail={"required_roles": [OFFICER], "action": action},
        )
    raise Forbidden(
        f"Only enforcement officers may {action} an inspection",
        f"仅行政执法人员可{_ACTION_ZH.get(action, action)}检查",
        detail={"required_roles": [OFFICER], "action": action},
    )


_ACTION_ZH = {"create": "创建", "start": "开始", "finish": "结束"}


def require_may_see(principal: Principal, classification: str) -> None:
    """Art. 13(1): a secret inspection does not exist for a technical inspector."""
    if classification == "secret" and principal.role == INSPECTOR:
        raise _secret()


def require_team_may_join(classification: str, roles: Iterable[str]) -> None:
    """Art. 13(1): no technical inspector on a secret inspection's team."""
    if classification == "secret" and INSPECTOR in set(roles):
        raise _secret()


def require_team_member(snapshot: InspectionSnapshot, principal: Principal) -> None:
    if principal.person_id not in snapshot.team_ids:
        raise Forbidden("Only members of the inspection team may do this", "仅检查组成员可执行此操作",
                        detail={"reason": "not_team_member"})


def require_may_act(snapshot: InspectionSnapshot, principal: Principal, *, after_finish_ok: bool = False) -> None:
    """May `principal` write an enforcement act (finding, document, signature, evidence) now?

    Officers: team members, inspection in progress (or finished, for paperwork completed after
    leaving the site, when `after_finish_ok`). Technical inspectors: Art. 13(2) — in progress with
    two officers present — and Art. 12 — their own credential display recorded. Nobody else
    (supervisors, personnel staff, agency leadership) writes enforcement acts.
    """
    if principal.role == INSPECTOR:
        require_may_see(principal, snapshot.classification)
    if principal.role not in ENFORCEMENT_ROLES:
        raise Forbidden(
            "Only enforcement officers and technical inspectors on the team write enforcement acts",
            "仅检查组中的行政执法人员和技术检查员可记录执法行为",
            detail={"reason": "not_an_enforcement_role", "required_roles": sorted(ENFORCEMENT_ROLES)},
        )
    require_team_member(snapshot, principal)
    if snapshot.status == FINISHED and not (after_finish_ok and principal.role == OFFICER):
        # Said as it is: nobody acts on a finished inspection (not "acting alone" for an inspector).
        raise Conflict("The inspection is finished", "检查已结束", code="INSPECTION_FINISHED",
                       detail={"status": snapshot.status})
    if principal.role == OFFICER:
        allowed = {IN_PROGRESS, FINISHED} if after_finish_ok else {IN_PROGRESS}
        if snapshot.status not in allowed:
            raise Conflict("The inspection is not in progress", "检查未在进行中",
                           code="INSPECTION_NOT_IN_PROGRESS", detail={"status": snapshot.status})
        return
    present = len(snapshot.officers_present)
    if snapshot.status != IN_PROGRESS or present < OFFICERS_REQUIRED:
        raise GuardError(
            "A technical inspector may act only in an inspection in progress with at least two officers present",
            "技术检查员不得单独执法：须在检查进行中且至少两名行政执法人员在场",
            code="ART13_ACTING_ALONE", article="13", status=409,
            detail={"status": snapshot.status, "officers_present": present, "required": OFFICERS_REQUIRED},
        )
    if principal.person_id not in snapshot.displayed:
        raise GuardError(
            "Show your work credential on site (and record the display) before acting",
            "须先出示工作证件（并记录出示情况）方可开展工作",
            code="ART12_CREDENTIAL_NOT_SHOWN", article="12", status=409,
        )


def require_document_type_allowed(principal: Principal, doc_type: str) -> None:
    """Art. 13(3), (4): decision and coercive documents are officers' alone."""
    if principal.role == OFFICER:
        return
    if doc_type in DECISION_TYPES:
        raise GuardError(
            "Enforcement decisions are made by officers only",
            "技术检查员不得作出执法决定",
            code="ART13_DECISION_FORBIDDEN", article="13", status=403, detail={"type": doc_type},
        )
    if doc_type in COERCIVE_TYPES:
        raise GuardError(
            "Administrative coercive measures are taken by officers only",
            "技术检查员不得实施行政强制措施",
            code="ART13_COERCIVE_FORBIDDEN", article="13", status=403, detail={"type": doc_type},
        )


@dataclass(frozen=True)
class OfficerReadiness:
    """One team officer as the start rule sees them."""

    person_id: uuid.UUID
    name: str
    checked_in: bool
    certificate_valid: bool
    certificate_shown: bool

    @property
    def missing(self) -> list[str]:
        out = []
        if not self.checked_in:
            out.append("check_in")
        if not self.certificate_valid:
            out.append("valid_enforcement_certificate")
        if not self.certificate_shown:
            out.append("certificate_display")
        return out


def require_two_officers(officers: Iterable[OfficerReadiness]) -> None:
    """An on-site check starts only with two distinct officers checked in, certificates valid that
    day and shown. Inspectors and supervisors never count (callers pass officers only)."""
    officers = list(officers)
    ready = [o for o in officers if not o.missing]
    if len({o.person_id for o in ready}) >= OFFICERS_REQUIRED:
        return
    raise GuardError(
        f"At least {OFFICERS_REQUIRED} officers must be checked in with a valid enforcement certificate shown",
        f"须至少{OFFICERS_REQUIRED}名行政执法人员到场签到、持有效执法证并记录出示",
        code="TWO_OFFICERS_REQUIRED", article="13", status=409,
        detail={
            "required": OFFICERS_REQUIRED,
            "ready": len(ready),
            "officers": [{"person_id": str(o.person_id), "name": o.name, "missing": o.missing}
                         for o in officers],
        },
    )
