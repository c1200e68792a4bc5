"""All SQL of qualifications and appointments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.personnel.models import Appointment, Qualification


async def qualifications_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Qualification]:
    return (await session.execute(
        select(Qualification).where(Qualification.person_id == person_id)
        .order_by(Qualification.created_at, Qualification.id)
    )).scalars().all()


async def appointments_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Appointment]:
    return (await session.execute(
        select(Appointment).where(Appointment.person_id == person_id)
        .order_by(Appointment.start_date, Appointment.created_at, Appointment.id)
    )).scalars().all()


async def active_appointments(session: AsyncSession, person_id: uuid.UUID,
                              role: str | None = None) -> Sequence[Appointment]:
    query = select(Appointment).where(Appointment.person_id == person_id, Appointment.status == "active")
    if role is not None:
        query = query.where(Appointment.role == role)
    return (await session.execute(query.order_by(Appointment.start_date, Appointment.id))).scalars().all()


async def lapsed_appointments(session: AsyncSession, today: date) -> Sequence[Appointment]:
    """Active appointments whose term ended before `today`, oldest end first."""
    return (await session.execute(
        select(Appointment)
        .where(Appointment.status == "active", Appointment.end_date.is_not(None), Appointment.end_date < today)
        .order_by(Appointment.end_date, Appointment.id)
    )).scalars().all()
