"""Use cases of the end of a working life (Art. 25, 26, 27): dismissal — appointments ended, every
credential revoked, a public notice published, an equipment-return checklist opened —, the
automatic dismissal of lapsed terms (`fieldcheck expire-terms`), the public list of notices and
misconduct records that may lead to dismissal."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.credentials.service import revoke_all_for_person
from backend.guards import dismissal as rules
from backend.guards.access import in_jurisdiction, require_role
from backend.guards.dismissal import CHECKLIST_ITEMS
from backend.personnel.appointments import repository as appointments_repo
from backend.personnel.dismissal import repository as repo
from backend.personnel.dismissal.schemas import (
    MISCONDUCT_ITEMS,
    ChecklistItem,
    ChecklistUpdate,
    DismissalCreate,
    DismissalRead,
    ExpiredTerm,
    MisconductCreate,
    MisconductRead,
    PublicDismissal,
    PublicDismissalPage,
)
from backend.personnel.models import Agency, Dismissal, EquipmentReturnItem, Misconduct, Person
from backend.personnel.people import repository as people_repo
from backend.personnel.people.service import STAFF, person_for_staff_read, person_for_write

SYSTEM_ACTOR = "system"


# -------------------------------------------------------------------------------------- dismissal


async def dismiss(session: AsyncSession, *, person: Person, reason: str, effective_date: date, note: str | None,
                  actor: str, now: datetime, dismissal_id: uuid.UUID | None = None,
                  misconduct_id: uuid.UUID | None = None) -> Dismissal:
    """Dismiss `person` (Art. 25): end every active appointment, set the person dismissed, revoke
    every credential at once, publish the notice and open the equipment-return checklist. The one
    path for dismissals by hand, by misconduct and by lapsed term. 409 when already dismissed."""
    rules.require_dismissible(person.role, "25")
    await people_repo.lock(session, person)
    rules.require_not_dismissed(person.status)
    ended = []
    for appointment in await appointments_repo.active_appointments(session, person.id):
        appointment.status = "dismissed"
        appointment.ended_on = rules.appointment_stops_on(appointment.end_date, effective_date)
        ended.append(str(appointment.id))
    person.status = "dismissed"
    person.updated_at = now
    await people_repo.flush(session)

    revoked = await revoke_all_for_person(session, person.id, reason=f"dismissed: {reason}", actor=actor, now=now)
    dismissal = Dismissal(
        id=dismissal_id or uuid.uuid4(), person_id=person.id, agency_code=person.agency_code, reason=reason,
        effective_date=effective_date, note=note, misconduct_id=misconduct_id,
        revoked_credential_ids=[str(c) for c in revoked], ended_appointment_ids=ended, published_at=now,
        created_by=actor, created_at=now,
    )
    await people_repo.add(session, dismissal)
    await people_repo.add(session, *[EquipmentReturnItem(dismissal_id=dismissal.id, item=item, returned=False)
                              for item in CHECKLIST_ITEMS])
    await record(session, actor=actor, action="person.dismissed", subject=f"person:{person.id}",
                 data={"dismissal_id": str(dismissal.id), "reason": reason,
                       "effective_date": effective_date.isoformat(), "ended_appointment_ids": ended,
                       "revoked_credential_ids": dismissal.revoked_credential_ids,
                       "misconduct_id": str(misconduct_id) if misconduct_id else None}, at=now)
    await record(session, actor=actor, action="dismissal.notice_published", subject=f"dismissal:{dismissal.id}",
                 data={"person_id": str(person.id), "agency_code": person.agency_code, "reason": reason}, at=now)
    return dismissal


async def dismissal_read(session: AsyncSession, dismissal: Dismissal, person: Person) -> DismissalRead:
    items = await repo.checklist_of(session, dismissal.id)
    order = {name: i for i, name in enumerate(CHECKLIST_ITEMS)}
    checklist = [ChecklistItem(item=i.item, returned=i.returned, note=i.note, recorded_by=i.recorded_by,
                               recorded_at=i.recorded_at) for i in sorted(items, key=lambda i: order.get(i.item, 99))]
    return DismissalRead(
        id=dismissal.id, person_id=person.id, name=person.name, agency_code=dismissal.agency_code,
        reason=dismissal.reason, effective_date=dismissal.effective_date, note=dismissal.note,
        misconduct_id=dismissal.misconduct_id,
        ended_appointment_ids=[uuid.UUID(x) for x in dismissal.ended_appointment_ids or []],
        revoked_credential_ids=[uuid.UUID(x) for x in dismissal.revoked_credential_ids or []],
        published_at=dismissal.published_at, checklist=checklist,
        checklist_complete=bool(checklist) and all(c.returned for c in checklist),
        created_by=dismissal.created_by, created_at=dismissal.created_at,
    )


async def create_dismissal(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                           data: DismissalCreate, now: datetime) -> DismissalRead:
    person, _ = await person_for_write(session, principal, person_id, "hr_admin")
    dismissal = await dismiss(session, person=person, reason=data.reason, effective_date=data.effective_date,
                              note=data.note, actor=principal.actor, now=now, dismissal_id=data.id)
    return await dismissal_read(session, dismissal, person)


async def _dismissal(session: AsyncSession, principal: Principal, dismissal_id: uuid.UUID,
                     *roles: str) -> tuple[Dismissal, Person, Agency]:
    require_role(principal, *roles)
    found = await repo.dismissal_with_agency(session, dismissal_id)
    if found is None or not in_jurisdiction(principal, found[2].path):
        raise NotFound("No such dismissal", "未找到该解聘记录")
    return found


async def get_dismissal(session: AsyncSession, principal: Principal, dismissal_id: uuid.UUID) -> DismissalRead:
    dismissal, person, _ = await _dismissal(session, principal, dismissal_id, *STAFF)
    return await dismissal_read(session, dismissal, person)


async def tick_checklist(session: AsyncSession, principal: Principal, dismissal_id: uuid.UUID, item: str,
                         data: ChecklistUpdate, now: datetime) -> DismissalRead:
    dismissal, person, _ = await _dismissal(session, principal, dismissal_id, "hr_admin")
    entry = await repo.checklist_item(session, dismissal.id, item) if item in CHECKLIST_ITEMS else None
    if entry is None:
        raise NotFound(f"No checklist item {item!r}; items are {', '.join(CHECKLIST_ITEMS)}", "未找到该交回事项")
    entry.returned = data.returned
    entry.note = data.note
    entry.recorded_by = principal.person_id
    entry.recorded_at = now
    await people_repo.flush(session)
    await record(session, actor=principal.actor, action="dismissal.equipment_returned" if data.returned
                 else "dismissal.equipment_unreturned", subject=f"dismissal:{dismissal.id}",
                 data={"item": item, "returned": data.returned}, at=now)
    return await dismissal_read(session, dismissal, person)


# ----------------------------------------------------------------------------------- public notices





async def public_dismissals(session: AsyncSession, *, after: TimeKey | None, limit: int) -> PublicDismissalPage:
    """Art. 25 部门公示: name, credential numbers, agency, date and reason category — never ID
    numbers or phones. Newest first."""
    rows = await repo.public_dismissals(session, after=after, limit=limit + 1)
    numbers = await repo.credential_numbers(session, {p.id for _, p, _ in rows[:limit]})

    def notice(row: tuple[Dismissal, Person, Agency]) -> PublicDismissal:
        d, p, a = row
        return PublicDismissal(id=d.id, name=p.name, role=p.role, credential_numbers=numbers.get(p.id, []),
                               agency_code=a.code, agency_name=a.name, effective_date=d.effective_date,
                               reason=d.reason, published_at=d.published_at)

    return PublicDismissalPage.of(rows, limit, item=notice,
                                  key=lambda row: encode_time_cursor(row[0].published_at, row[0].id))


# ------------------------------------------------------------------------------------- term expiry


async def expire_terms(session: AsyncSession, today: date, now: datetime,
                       actor: str = SYSTEM_ACTOR) -> list[ExpiredTerm]:
    """Art. 22, 25: every active appointment whose end date is before `today` (a local calendar
    date, Asia/Shanghai) stops. Without a renewal (another active appointment in the same role
    still running on `today`) the person is dismissed with reason `term_expired`, effective the day
    after the term's last day; with one, the old appointment just ends. Idempotent: a lapsed
    appointment is handled once, so a second run finds nothing."""
    out: list[ExpiredTerm] = []
    for appointment in await appointments_repo.lapsed_appointments(session, today):
        if appointment.status != "active" or appointment.end_date is None:
            continue  # already stopped earlier in this run (the person was dismissed)
        person = await session.get(Person, appointment.person_id)
        if person is None:  # pragma: no cover - foreign key
            continue
        renewals = [a for a in await appointments_repo.active_appointments(session, person.id, appointment.role)
                    if a.id != appointment.id and (a.end_date is None or a.end_date >= today)]
        if rules.lapsed_term_outcome(role=person.role, status=person.status, renewed=bool(renewals)) == "ended":
            appointment.status = "ended"
            appointment.ended_on = appointment.end_date
            await people_repo.flush(session)
            await record(session, actor=actor, action="appointment.ended", subject=f"person:{person.id}",
                         data={"appointment_id": str(appointment.id), "end_date": appointment.end_date.isoformat(),
                               "renewed_by": [str(a.id) for a in renewals]}, at=now)
            out.append(ExpiredTerm(appointment_id=appointment.id, person_id=person.id,
                                   end_date=appointment.end_date, outcome="ended", dismissal_id=None))
            continue
        dismissal = await dismiss(session, person=person, reason="term_expired",
                                  effective_date=rules.lapsed_term_dismissal_date(appointment.end_date),
                                  note=f"Term ended on {appointment.end_date.isoformat()} without renewal (Art. 25)",
                                  actor=actor, now=now)
        out.append(ExpiredTerm(appointment_id=appointment.id, person_id=person.id, end_date=appointment.end_date,
                               outcome="dismissed", dismissal_id=dismissal.id))
    return out


# -------------------------------------------------------------------------------------- misconduct


def item_name(item: int | str) -> str:
    if isinstance(item, int):
        return next(name for name, (number, _) in MISCONDUCT_ITEMS.items() if number == item)
    return item


async def misconduct_read(session: AsyncSession, m: Misconduct, person: Person) -> MisconductRead:
    number, text = MISCONDUCT_ITEMS[m.item]
    dismissal = None
    if m.dismissal_id is not None:
        found = await repo.dismissal_with_agency(session, m.dismissal_id)
        if found is not None:
            dismissal = await dismissal_read(session, found[0], person)
    return MisconductRead(id=m.id, person_id=m.person_id, item=m.item, item_number=number, item_text_zh=text,
                          article="26", sanction=m.sanction, note=m.note, occurred_on=m.occurred_on,
                          leads_to_dismissal=m.dismissal_id is not None, dismissal_id=m.dismissal_id,
                          dismissal=dismissal, created_at=m.created_at)


async def record_misconduct(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                            data: MisconductCreate, today: date, now: datetime) -> MisconductRead:
    """Art. 26, 27: the finding and the sanction; with `leads_to_dismissal` also the Art. 25
    dismissal (reason `criminal` when the case goes to the judicial organs, else `discipline`)."""
    roles = ("hr_admin",) if data.leads_to_dismissal else STAFF
    person, _ = await person_for_write(session, principal, person_id, *roles)
    rules.require_dismissible(person.role, "26")
    rules.require_effective_date_only_with_dismissal(data.effective_date, data.leads_to_dismissal)
    m = Misconduct(id=data.id or uuid.uuid4(), person_id=person.id, item=item_name(data.item),
                   sanction=data.sanction, note=data.note, occurred_on=data.occurred_on,
                   created_by=principal.person_id, created_at=now)
    await people_repo.add(session, m)
    await record(session, actor=principal.actor, action="misconduct.recorded", subject=f"person:{person.id}",
                 data={"misconduct_id": str(m.id), "item": m.item, "article": "26", "sanction": m.sanction,
                       "leads_to_dismissal": data.leads_to_dismissal}, at=now)
    if data.leads_to_dismissal:
        dismissal = await dismiss(session, person=person, reason=rules.misconduct_dismissal_reason(data.sanction),
                                  effective_date=data.effective_date or today,
                                  note=f"Art. 26({MISCONDUCT_ITEMS[m.item][0]}) {m.item}: {m.sanction}",
                                  actor=principal.actor, now=now, misconduct_id=m.id)
        m.dismissal_id = dismissal.id
        await people_repo.flush(session)
    return await misconduct_read(session, m, person)


async def list_misconduct(session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> list[MisconductRead]:
    person, _ = await person_for_staff_read(session, principal, person_id)
    if principal.person_id == person_id:
        require_role(principal, *STAFF)  # the file is the agency's, not the subject's
    return [await misconduct_read(session, m, person) for m in await repo.misconduct_of(session, person.id)]
