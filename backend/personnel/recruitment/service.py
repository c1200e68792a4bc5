"""Use cases of Art. 6 exam recruitment: opening a recruitment, adding candidates with their
scores, the ranking with offers at 1:1 to posts, and withdrawals (or failed medical/background
checks) back-filled by the next candidate in score order. The arithmetic and order are
backend/guards/recruitment.py's; this module stores and audits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import Conflict, NotFound, validation_error
from backend.guards import recruitment as scoring
from backend.guards.access import in_jurisdiction, require_role, require_writable
from backend.personnel.models import Agency, Recruitment, RecruitmentCandidate
from backend.personnel.people import repository as people_repo
from backend.personnel.people.service import STAFF
from backend.personnel.recruitment import repository as repo
from backend.personnel.recruitment.schemas import (
    CandidateCreate,
    CandidateRead,
    Ranking,
    RankingRow,
    RecruitmentCreate,
    RecruitmentRead,
    WithdrawRequest,
)


def _num(text: str) -> float:
    return float(Decimal(text))


async def _recruitment(session: AsyncSession, principal: Principal, recruitment_id: uuid.UUID, *,
                       write: bool) -> tuple[Recruitment, Agency]:
    if write:
        require_role(principal, "hr_admin")
    else:
        require_role(principal, *STAFF)
    found = await repo.recruitment_with_agency(session, recruitment_id)
    if found is None or not in_jurisdiction(principal, found[1].path):
        raise NotFound("No such recruitment", "未找到该招聘")
    return found


def recruitment_read(r: Recruitment, candidates: int) -> RecruitmentRead:
    return RecruitmentRead(id=r.id, agency_code=r.agency_code, title=r.title, posts=r.posts,
                           written_weight=_num(r.written_weight), candidates=candidates, created_at=r.created_at)


async def create_recruitment(session: AsyncSession, principal: Principal, data: RecruitmentCreate,
                             now: datetime) -> RecruitmentRead:
    require_role(principal, "hr_admin")
    agency = await people_repo.get_agency(session, data.agency_code)
    if agency is None:
        raise validation_error("agency_code", "unknown", "no such agency", "机关代码不存在")
    require_writable(principal, agency.path)
    weight = scoring.require_written_weight(data.written_weight)  # 422 ART6_WRITTEN_WEIGHT
    r = Recruitment(id=data.id or uuid.uuid4(), agency_code=agency.code, title=data.title, posts=data.posts,
                    written_weight=str(weight), created_by=principal.person_id, created_at=now)
    await people_repo.add(session, r)
    await record(session, actor=principal.actor, action="recruitment.created", subject=f"recruitment:{r.id}",
                 data={"agency_code": r.agency_code, "posts": r.posts, "written_weight": r.written_weight}, at=now)
    return recruitment_read(r, 0)


async def get_recruitment(session: AsyncSession, principal: Principal, recruitment_id: uuid.UUID) -> RecruitmentRead:
    r, _ = await _recruitment(session, principal, recruitment_id, write=False)
    return recruitment_read(r, await repo.count_candidates(session, r.id))


def candidate_read(c: RecruitmentCandidate, weight: str) -> CandidateRead:
    total = scoring.total_score(c.written, c.interview, weight)
    return CandidateRead(id=c.id, recruitment_id=c.recruitment_id, name=c.name, person_id=c.person_id,
                         written=_num(c.written), interview=_num(c.interview), total=float(total),
                         withdrawn=c.withdrawal_reason is not None, withdrawal_reason=c.withdrawal_reason,
                         created_at=c.created_at)


async def add_candidate(session: AsyncSession, principal: Principal, recruitment_id: uuid.UUID,
                        data: CandidateCreate, now: datetime) -> CandidateRead:
    r, _ = await _recruitment(session, principal, recruitment_id, write=True)
    if data.person_id is not None:
        found = await people_repo.person_with_agency(session, data.person_id)
        if found is None or not in_jurisdiction(principal, found[1].path):
            raise validation_error("person_id", "unknown", "no such person", "人员不存在")
        if await repo.candidate_for_person(session, r.id, data.person_id) is not None:
            raise Conflict("This person is already a candidate", "该人员已是本次招聘的考生",
                           code="CANDIDATE_EXISTS")
    # Through str(): 85.1 stays 85.1 in the stored decimal text.
    c = RecruitmentCandidate(id=data.id or uuid.uuid4(), recruitment_id=r.id, name=data.name,
                             person_id=data.person_id, written=str(Decimal(str(data.written))),
                             interview=str(Decimal(str(data.interview))), created_at=now)
    await people_repo.add(session, c)
    await record(session, actor=principal.actor, action="recruitment.candidate_added",
                 subject=f"recruitment:{r.id}",
                 data={"candidate_id": str(c.id), "name": c.name, "written": c.written, "interview": c.interview},
                 at=now)
    return candidate_read(c, r.written_weight)


def _ranking(r: Recruitment, candidates: Sequence[RecruitmentCandidate]) -> Ranking:
    by_id = {c.id: c for c in candidates}
    ranked = scoring.rank(
        [scoring.Candidate(id=c.id, name=c.name, written=c.written, interview=c.interview,
                           withdrawn=c.withdrawal_reason is not None) for c in candidates],
        r.posts, r.written_weight,
    )
    rows = []
    for x in ranked:
        c = by_id[x.id]  # type: ignore[index]
        rows.append(RankingRow(id=c.id, name=c.name, person_id=c.person_id, written=float(x.written),
                               interview=float(x.interview), total=float(x.total), rank=x.rank,
                               withdrawn=x.withdrawn, withdrawal_reason=c.withdrawal_reason, offered=x.offered))
    return Ranking(recruitment_id=r.id, agency_code=r.agency_code, posts=r.posts,
                   written_weight=_num(r.written_weight), items=rows)


async def ranking(session: AsyncSession, principal: Principal, recruitment_id: uuid.UUID) -> Ranking:
    r, _ = await _recruitment(session, principal, recruitment_id, write=False)
    return _ranking(r, await repo.candidates_of(session, r.id))


async def withdraw_candidate(session: AsyncSession, principal: Principal, recruitment_id: uuid.UUID,
                             candidate_id: uuid.UUID, data: WithdrawRequest, now: datetime) -> Ranking:
    """Art. 6: a withdrawal or a failed medical/background check; the next in score order moves up."""
    r, _ = await _recruitment(session, principal, recruitment_id, write=True)
    c = await repo.candidate(session, r.id, candidate_id)
    if c is None:
        raise NotFound("No such candidate", "未找到该考生")
    await people_repo.lock(session, c)
    if c.withdrawal_reason is not None:
        raise Conflict("The candidate has already withdrawn or been ruled out", "该考生已放弃或已被取消资格",
                       code="ALREADY_WITHDRAWN", article="6", detail={"reason": c.withdrawal_reason})
    before = {row.id for row in _ranking(r, await repo.candidates_of(session, r.id)).items if row.offered}
    c.withdrawal_reason = data.kind
    c.withdrawal_note = data.text
    c.withdrawn_at = now
    await people_repo.flush(session)
    after = _ranking(r, await repo.candidates_of(session, r.id))
    now_offered = [str(row.id) for row in after.items if row.offered and row.id not in before]
    await record(session, actor=principal.actor, action="recruitment.candidate_withdrawn",
                 subject=f"recruitment:{r.id}",
                 data={"candidate_id": str(c.id), "reason": data.kind, "now_offered": now_offered}, at=now)
    return after
