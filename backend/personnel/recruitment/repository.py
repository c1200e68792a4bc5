"""All SQL of exam recruitments and their candidates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.personnel.models import Agency, Recruitment, RecruitmentCandidate


async def recruitment_with_agency(session: AsyncSession,
                                  recruitment_id: uuid.UUID) -> tuple[Recruitment, Agency] | None:
    row = (await session.execute(
        select(Recruitment, Agency).join(Agency, Agency.code == Recruitment.agency_code)
        .where(Recruitment.id == recruitment_id)
    )).first()
    return None if row is None else (row[0], row[1])


async def candidates_of(session: AsyncSession, recruitment_id: uuid.UUID) -> Sequence[RecruitmentCandidate]:
    return (await session.execute(
        select(RecruitmentCandidate).where(RecruitmentCandidate.recruitment_id == recruitment_id)
        .order_by(RecruitmentCandidate.created_at, RecruitmentCandidate.id)
    )).scalars().all()


async def candidate(session: AsyncSession, recruitment_id: uuid.UUID,
                    candidate_id: uuid.UUID) -> RecruitmentCandidate | None:
    return (await session.execute(
        select(RecruitmentCandidate).where(RecruitmentCandidate.id == candidate_id,
                                           RecruitmentCandidate.recruitment_id == recruitment_id)
    )).scalar_one_or_none()


async def count_candidates(session: AsyncSession, recruitment_id: uuid.UUID) -> int:
    return int((await session.execute(
        select(func.count()).select_from(RecruitmentCandidate)
        .where(RecruitmentCandidate.recruitment_id == recruitment_id)
    )).scalar_one())


async def candidate_for_person(session: AsyncSession, recruitment_id: uuid.UUID,
                               person_id: uuid.UUID) -> RecruitmentCandidate | None:
    return (await session.execute(
        select(RecruitmentCandidate).where(RecruitmentCandidate.recruitment_id == recruitment_id,
                                           RecruitmentCandidate.person_id == person_id)
    )).scalars().first()
