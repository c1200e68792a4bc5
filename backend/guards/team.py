"""Who may be on an inspection team, as a pure check (Art. 13(1), 16): officers and technical
inspectors, active, of the agency that runs the inspection or dispatched to it (Art. 16) on the
planned day; no technical inspector on a secret inspection. The service gathers the facts (who
the people are, which of them a dispatch covers); no database here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.core.errors import Unprocessable
from backend.guards.article13 import ENFORCEMENT_ROLES, require_team_may_join


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person proposed for the team, as registered (None: no such person)."""

    person_id: uuid.UUID
    role: str
    status: str
    agency_code: str


def team_problems(team: Sequence[uuid.UUID], known: dict[uuid.UUID, Candidate], agency_code: str,
                  dispatched: Iterable[uuid.UUID]) -> list[dict[str, str]]:
    """Why each proposed member may not join, in the order proposed; empty when all may. The
    first reason that applies is given: unknown person, not active, a role that does not enforce,
    neither of `agency_code` nor dispatched to it."""
    covered = set(dispatched)
    problems: list[dict[str, str]] = []
    for pid in team:
        person = known.get(pid)
        if person is None:
            problems.append({"person_id": str(pid), "reason": "unknown_person"})
        elif person.status != "active":
            problems.append({"person_id": str(pid), "reason": "not_active"})
        elif person.role not in ENFORCEMENT_ROLES:
            problems.append({"person_id": str(pid), "reason": "role", "role": person.role})
        elif person.agency_code != agency_code and pid not in covered:
            problems.append({"person_id": str(pid), "reason": "not_of_agency_nor_dispatched",
                             "agency_code": person.agency_code})
    return problems


def require_team_eligible(classification: str, team: Sequence[uuid.UUID], known: dict[uuid.UUID, Candidate],
                          agency_code: str, dispatched: Iterable[uuid.UUID]) -> None:
    """Art. 13(1) first (403 ART13_STATE_SECRET), then every member's problem at once (422
    TEAM_MEMBER_NOT_ELIGIBLE, article 16, `detail.members`)."""
    require_team_may_join(classification, (p.role for p in known.values()))
    problems = team_problems(team, known, agency_code, dispatched)
    if problems:
        raise Unprocessable(
            "Team members must be officers or technical inspectors of your agency, or dispatched to it "
            "on the planned date", "检查组成员须为本机关（或在计划日期被调用至本机关）的行政执法人员或技术检查员",
            code="TEAM_MEMBER_NOT_ELIGIBLE", article="16", detail={"members": problems},
        )
