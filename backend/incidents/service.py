"""Use cases of incidents (Art. 28, 29): report, the agency's steps on a case, reading and listing
within visibility, and the overdue sweep. The rules themselves (articles, transitions, deadlines,
visibility) are in backend.guards.protection; this module gathers facts, applies them, records the
change in the audit log and notifies staff, all in the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.clock import iso_utc
from backend.core.db import point
from backend.core.errors import NotFound, validation_error
from backend.core.geo import to_wgs84
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.evidence import service as evidence
from backend.guards import protection
from backend.incidents import repository
from backend.incidents.models import Clarification, Incident, IncidentAction, PoliceNotification
from backend.incidents.repository import Children, IncidentRow
from backend.incidents.schemas import (
    ActionCreate,
    ActionRead,
    ClarificationCreate,
    ClarificationRead,
    CloseRequest,
    FindingCreate,
    IncidentCreate,
    IncidentPage,
    IncidentRead,
    InvestigationStart,
    PersonRef,
    PoliceNotificationCreate,
    PoliceNotificationRead,
    PositionOut,
)
from backend.notifications import service as notifications
from backend.settings import Settings

#: Phones' clocks drift; a time this far ahead of the server is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=5)

SYSTEM = "system"


def require_not_future(field: str, value: datetime, now: datetime) -> None:
    if value > now + CLOCK_SKEW:
        raise validation_error(field, "in_future", "must not be in the future", "不能晚于当前时间")


def subject_of(incident_id: uuid.UUID) -> str:
    return f"incident:{incident_id}"


def incident_read(row: IncidentRow, children: Children, now: datetime) -> IncidentRead:
    inc = row.incident
    position = None
    if row.lon is not None and row.lat is not None:
        position = PositionOut(lon=row.lon, lat=row.lat, accuracy_m=inc.position_accuracy_m)
    due = inc.police_notify_due_at
    return IncidentRead(
        id=inc.id, kind=inc.kind, article=inc.article, status=inc.status, victim=inc.victim,
        relative_relation=inc.relative_relation, occurred_at=inc.occurred_at, position=position,
        description=inc.description, inspection_id=inc.inspection_id,
        reporter=PersonRef(id=inc.reporter_id, name=row.reporter_name), agency_code=inc.agency_code,
        reported_at=inc.reported_at, police_notified_at=inc.police_notified_at, assisting_at=inc.assisting_at,
        investigating_at=inc.investigating_at, found_at=inc.found_at, clarified_at=inc.clarified_at,
        closed_at=inc.closed_at, police_notify_due_at=due, clarification_due_at=inc.clarification_due_at,
        investigation_note=inc.investigation_note, liable=inc.liable, finding_note=inc.finding_note,
        outcome=inc.outcome,
        overdue=protection.incident_overdue(
            article=inc.article, now=now, police_notify_due_at=due, police_notified_at=inc.police_notified_at,
            liable=inc.liable, clarification_due_at=inc.clarification_due_at, clarified_at=inc.clarified_at),
        police_notifications=[
            PoliceNotificationRead(id=p.id, police_unit=p.police_unit, notified_at=p.notified_at,
                                   case_number=p.case_number, contact=p.contact, recorded_by=p.recorded_by,
                                   created_at=p.created_at, late=due is not None and p.notified_at > due)
            for p in children.police_notifications
        ],
        actions=[ActionRead(id=a.id, note=a.note, at=a.at, recorded_by=a.recorded_by, created_at=a.created_at)
                 for a in children.actions],
        clarifications=[ClarificationRead(id=c.id, form=c.form, text=c.text, published_at=c.published_at,
                                          recorded_by=c.recorded_by, created_at=c.created_at)
                        for c in children.clarifications],
        updated_at=inc.updated_at,
    )


async def _read(session: AsyncSession, incident_id: uuid.UUID, now: datetime) -> IncidentRead:
    row = await repository.get(session, incident_id)
    if row is None:  # pragma: no cover - only after a concurrent delete, and nothing deletes
        raise NotFound("No such incident", "未找到该事件")
    kids = await repository.children(session, [incident_id])
    return incident_read(row, kids[incident_id], now)


async def report(session: AsyncSession, principal: Principal, data: IncidentCreate, settings: Settings,
                 now: datetime) -> IncidentRead:
    protection.require_reporter(principal)
    protection.require_victim(data.victim, data.relative_relation)
    require_not_future("occurred_at", data.occurred_at, now)
    article = protection.article_for(data.kind)
    position = None
    if data.position is not None:
        lon, lat = to_wgs84(data.position.lon, data.position.lat, data.position.crs)
        position = point(lon, lat)
    incident = Incident(
        id=data.id or uuid.uuid4(), kind=data.kind, article=article, status="reported", victim=data.victim,
        relative_relation=(data.relative_relation or "").strip() or None, occurred_at=data.occurred_at,
        position=position, position_accuracy_m=data.position.accuracy_m if data.position else None,
        description=data.description, inspection_id=data.inspection_id, reporter_id=principal.person_id,
        agency_code=principal.agency_code, reported_at=now,
        police_notify_due_at=(protection.police_notify_due_at(now, settings.police_notify_hours)
                              if article == "28" else None),
        updated_at=now,
    )
    await repository.add(session, incident)
    subject = subject_of(incident.id)
    await record(session, actor=principal.actor, action="incident.reported", subject=subject,
                 data={"kind": incident.kind, "article": article, "victim": incident.victim,
                       "agency_code": incident.agency_code, "police_notify_due_at": incident.police_notify_due_at,
                       "inspection_id": incident.inspection_id},
                 at=now)
    await notifications.notify_staff_above(
        session, agency_path=principal.agency_path, kind="incident_reported", subject=subject,
        title=f"New Art. {article} incident report ({incident.kind})",
        title_zh=f"新的第{article}条事件报告（{protection.KIND_ZH.get(incident.kind, '其他')}）",
        data={"incident_id": str(incident.id), "kind": incident.kind, "article": article,
              "agency_code": incident.agency_code},
        now=now,
    )
    return await _read(session, incident.id, now)


async def get_incident(session: AsyncSession, principal: Principal, incident_id: uuid.UUID,
                       now: datetime) -> IncidentRead:
    row = await repository.get(session, incident_id)
    if row is None:
        raise NotFound("No such incident", "未找到该事件")
    protection.require_incident_visible(principal, reporter_id=row.incident.reporter_id, agency_path=row.agency_path)
    kids = await repository.children(session, [incident_id])
    return incident_read(row, kids[incident_id], now)


async def list_incidents(session: AsyncSession, principal: Principal, *, status: str | None, overdue: bool,
                         before: TimeKey | None, limit: int, now: datetime) -> IncidentPage:
    if principal.is_staff:
        # Lazy deadline check: no cron needed for staff to be told.
        await sweep_overdue(session, now, principal.agency_path)
    rows = await repository.visible(
        session, viewer_id=principal.person_id,
        subtree_prefix=principal.agency_path if principal.is_staff else None,
        status=status, overdue_at=now if overdue else None, before=before, limit=limit + 1,
    )
    kids = await repository.children(session, [r.incident.id for r in rows[:limit]])
    return IncidentPage.of(rows, limit, item=lambda r: incident_read(r, kids[r.incident.id], now),
                           key=lambda r: encode_time_cursor(r.incident.reported_at, r.incident.id))


async def _act(session: AsyncSession, principal: Principal, incident_id: uuid.UUID, target: str) -> Incident:
    """Load a case for a step of the agency: 404 if invisible, 403 if not staff of its agency or
    above, 409 if the step does not follow from its state. The row is locked until commit."""
    row = await repository.get(session, incident_id, for_update=True)
    if row is None:
        raise NotFound("No such incident", "未找到该事件")
    inc = row.incident
    protection.require_incident_visible(principal, reporter_id=inc.reporter_id, agency_path=row.agency_path)
    protection.require_incident_staff(principal, agency_path=row.agency_path, article=inc.article)
    protection.require_transition(inc.article, inc.status, target)
    return inc


async def _moved(session: AsyncSession, principal: Principal, inc: Incident, previous: str, action: str,
                 data: dict[str, Any], now: datetime) -> IncidentRead:
    inc.updated_at = now
    await session.flush()
    await record(session, actor=principal.actor, action=action, subject=subject_of(inc.id),
                 data={"from": previous, "to": inc.status, **data}, at=now)
    return await _read(session, inc.id, now)


async def notify_police(session: AsyncSession, principal: Principal, incident_id: uuid.UUID,
                        data: PoliceNotificationCreate, now: datetime) -> IncidentRead:
    inc = await _act(session, principal, incident_id, "police_notified")
    require_not_future("notified_at", data.notified_at, now)
    previous = inc.status
    session.add(PoliceNotification(
        id=data.id or uuid.uuid4(), incident_id=inc.id, police_unit=data.police_unit, notified_at=data.notified_at,
        case_number=data.case_number, contact=data.contact, recorded_by=principal.person_id, created_at=now))
    inc.status, inc.police_notified_at = "police_notified", now
    return await _moved(session, principal, inc, previous, "incident.police_notified",
                        {"police_unit": data.police_unit, "notified_at": data.notified_at,
                         "case_number": data.case_number}, now)


async def add_action(session: AsyncSession, principal: Principal, incident_id: uuid.UUID, data: ActionCreate,
                     now: datetime) -> IncidentRead:
    inc = await _act(session, principal, incident_id, "assisting")
    require_not_future("at", data.at, now)
    previous = inc.status
    session.add(IncidentAction(id=data.id or uuid.uuid4(), incident_id=inc.id, note=data.note, at=data.at,
                               recorded_by=principal.person_id, created_at=now))
    inc.status = "assisting"
    inc.assisting_at = inc.assisting_at or now
    return await _moved(session, principal, inc, previous, "incident.assistance_recorded", {"at": data.at}, now)


async def start_investigation(session: AsyncSession, principal: Principal, incident_id: uuid.UUID,
                              data: InvestigationStart | None, now: datetime) -> IncidentRead:
    inc = await _act(session, principal, incident_id, "investigating")
    previous = inc.status
    inc.status, inc.investigating_at = "investigating", now
    inc.investigation_note = data.note if data else None
    return await _moved(session, principal, inc, previous, "incident.investigation_started", {}, now)


async def record_finding(session: AsyncSession, principal: Principal, incident_id: uuid.UUID, data: FindingCreate,
                         settings: Settings, now: datetime) -> IncidentRead:
    target = "found_liable" if data.liable else "found_not_liable"
    inc = await _act(session, principal, incident_id, target)
    previous = inc.status
    inc.status, inc.found_at, inc.liable, inc.finding_note = target, now, data.liable, data.note
    inc.investigating_at = inc.investigating_at or now  # a finding on a new case ends its investigation
    if not data.liable:
        inc.clarification_due_at = protection.clarification_due_at(now, settings.clarification_days)
    return await _moved(session, principal, inc, previous, "incident.finding_recorded",
                        {"liable": data.liable, "clarification_due_at": inc.clarification_due_at}, now)


async def clarify(session: AsyncSession, principal: Principal, incident_id: uuid.UUID, data: ClarificationCreate,
                  now: datetime) -> IncidentRead:
    inc = await _act(session, principal, incident_id, "clarified")
    require_not_future("published_at", data.published_at, now)
    previous = inc.status
    session.add(Clarification(id=data.id or uuid.uuid4(), incident_id=inc.id, form=data.form, text=data.text,
                              published_at=data.published_at, recorded_by=principal.person_id, created_at=now))
    inc.status, inc.clarified_at = "clarified", now
    return await _moved(session, principal, inc, previous, "incident.clarified",
                        {"form": data.form, "published_at": data.published_at}, now)


async def close(session: AsyncSession, principal: Principal, incident_id: uuid.UUID, data: CloseRequest,
                now: datetime) -> IncidentRead:
    inc = await _act(session, principal, incident_id, "closed")
    previous = inc.status
    inc.status, inc.closed_at, inc.outcome = "closed", now, data.outcome
    return await _moved(session, principal, inc, previous, "incident.closed", {}, now)


@dataclass(frozen=True)
class OverdueIncident:
    id: uuid.UUID
    kind: str
    article: str
    status: str
    agency_code: str
    due_at: datetime
    #: Announced by this sweep (False: it was already announced earlier).
    newly: bool


async def sweep_overdue(session: AsyncSession, now: datetime, path_prefix: str = "") -> list[OverdueIncident]:
    """Every overdue case under `path_prefix`; those not yet announced are marked, audited and
    notified to the staff of the reporter's agency and above — once, however many sweeps run."""
    out: list[OverdueIncident] = []
    for row in await repository.overdue_in(session, path_prefix, now):
        inc = row.incident
        due = inc.police_notify_due_at if inc.article == "28" else inc.clarification_due_at
        if due is None:  # pragma: no cover - the overdue predicate requires a deadline
            continue
        newly = inc.overdue_notified_at is None and await repository.claim_overdue_notice(session, inc.id, now)
        if newly:
            subject = subject_of(inc.id)
            missing = "police_notification" if inc.article == "28" else "clarification"
            await record(session, actor=SYSTEM, action="incident.became_overdue", subject=subject,
                         data={"article": inc.article, "status": inc.status, "due_at": due, "missing": missing},
                         at=now)
            await notifications.notify_staff_above(
                session, agency_path=row.agency_path, kind="incident_overdue", subject=subject,
                title=f"Art. {inc.article} incident overdue: no {missing.replace('_', ' ')} by the deadline",
                title_zh=("第28条事件逾期未告知公安机关" if inc.article == "28" else "第29条事件逾期未澄清事实"),
                data={"incident_id": str(inc.id), "kind": inc.kind, "article": inc.article,
                      "agency_code": inc.agency_code, "due_at": iso_utc(due), "missing": missing},
                now=now,
            )
        out.append(OverdueIncident(id=inc.id, kind=inc.kind, article=inc.article, status=inc.status,
                                   agency_code=inc.agency_code, due_at=due, newly=newly))
    return out


# ------------------------------------------------------------------------------------------------
# Evidence photos of a case (POST/GET /api/v1/incidents/{id}/evidence): the evidence intake is
# reused; these say who may add and see them.
# ------------------------------------------------------------------------------------------------


async def load_visible(session: AsyncSession, principal: Principal, incident_id: uuid.UUID) -> IncidentRow:
    """The case, if the caller may see it (its reporter; staff of its agency or above), else 404."""
    row = await repository.get(session, incident_id)
    if row is None:
        raise NotFound("No such incident", "未找到该事件")
    protection.require_incident_visible(principal, reporter_id=row.incident.reporter_id, agency_path=row.agency_path)
    return row


async def evidence_owner(session: AsyncSession, principal: Principal, incident_id: uuid.UUID) -> evidence.Owner:
    """Who may attach photos to a case: whoever may see it — the reporter (the harassment, the
    injury, the damaged property) and staff of its agency or above (documenting assistance or the
    investigation); 404 for everyone else. Any status, closed included: a phone that was offline
    uploads later, and the custody log records when each photo arrived.

    No site, radius or time window: an incident has no planned site and photos of its aftermath
    (an injury, a message) may be taken long after; the device position is optional (a reporter
    may attach from home). NO_GPS, EXIF_DEVICE_MISMATCH, TIME_MISMATCH (EXIF vs captured_at) and
    EDITED are still flagged."""
    row = await load_visible(session, principal, incident_id)
    return evidence.Owner(kind="incident", id=row.incident.id, require_position=False)


async def evidence_visible(session: AsyncSession, principal: Principal, incident_id: uuid.UUID) -> None:
    """Evidence of a case is seen by whoever may see the case (registered in `create_app`)."""
    await load_visible(session, principal, incident_id)
