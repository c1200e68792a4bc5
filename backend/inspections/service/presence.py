"""Presence records: check-ins and check-outs (inside the site's radius, measured by the spatial
database) and credential displays (Art. 12)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.db import point
from backend.core.errors import (
    Conflict,
    DomainError,
    Unprocessable,
    validation_error,
)
from backend.core.signing import Keys
from backend.credentials.verification import verify_qr  # the credentials domain owns verification
from backend.guards.article13 import OFFICER
from backend.inspections import repository
from backend.inspections.models import CheckIn, CredentialDisplay
from backend.inspections.schemas import (
    CheckInCreate,
    CheckInRead,
    CheckOutCreate,
    CredentialDisplayCreate,
    CredentialDisplayRead,
)
from backend.inspections.service.context import (
    MAX_ACCURACY_ALLOWANCE_M,
    load_inspection,
    local_day,
    require_active,
    require_member,
    require_not_future,
    wgs84,
)
from backend.inspections.service.reads import (
    check_in_read,
    display_read,
)
from backend.personnel.people.repository import person_by_certificate
from backend.settings import Settings

# ------------------------------------------------------------------------------------------------
# Presence: check-ins, check-outs, credential displays
# ------------------------------------------------------------------------------------------------

#: Verification results as the Chinese message says them.
_RESULT_ZH = {"revoked": "已吊销", "suspended": "已暂停", "expired": "已过期", "forged": "疑似伪造",
              "unknown": "查无此证"}


async def check_in(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID, data: CheckInCreate,
                   now: datetime) -> CheckInRead:
    ctx = await load_inspection(session, principal, inspection_id, write=True)
    require_member(ctx, principal)
    require_active(ctx)
    at = require_not_future(data.at, now, "at")
    lon, lat = wgs84(data.position)
    if ctx.open_check_in(principal.person_id) is not None:
        raise Conflict("You are already checked in", "您已签到", code="ALREADY_CHECKED_IN")
    distance = await repository.distance_to_site_m(session, inspection_id, lon, lat)
    allowance = min(data.position.accuracy_m or 0.0, MAX_ACCURACY_ALLOWANCE_M)
    limit = ctx.inspection.site_radius_m + allowance
    if distance > limit:
        raise Unprocessable(
            f"You are {distance:.0f} m from the site; at most {limit:.0f} m is accepted",
            f"您距检查地点 {distance:.0f} 米，超出允许范围 {limit:.0f} 米",
            code="CHECKIN_OUTSIDE_SITE",
            detail={"distance_m": round(distance, 2), "radius_m": ctx.inspection.site_radius_m,
                    "accuracy_allowance_m": allowance, "max_distance_m": limit,
                    "position": {"lon": lon, "lat": lat, "crs": "wgs84"}},
        )
    row = CheckIn(id=data.id or uuid.uuid4(), inspection_id=inspection_id, person_id=principal.person_id, at=at,
                  position=point(lon, lat), lon=lon, lat=lat, accuracy_m=data.position.accuracy_m,
                  reported_crs=data.position.crs, distance_m=distance, created_at=now)
    await repository.add(session, row)
    await record(session, actor=principal.actor, action="inspection.checked_in", subject=f"inspection:{inspection_id}",
                 data={"check_in_id": str(row.id), "person_id": principal.actor, "at": at,
                       "distance_m": round(distance, 2), "reported_crs": data.position.crs}, at=now)
    return check_in_read(row)


async def check_out(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID, data: CheckOutCreate,
                    now: datetime) -> CheckInRead:
    ctx = await load_inspection(session, principal, inspection_id, write=True)
    require_member(ctx, principal)
    require_active(ctx)
    at = require_not_future(data.at, now, "at")
    row = ctx.open_check_in(principal.person_id)
    if row is None:
        raise Conflict("You are not checked in", "您尚未签到", code="NOT_CHECKED_IN")
    if at < row.at:
        raise validation_error("at", "before_check_in", "is before your check-in", "早于签到时间")
    lon = lat = None
    if data.position is not None:
        lon, lat = wgs84(data.position)
    row.out_at = at
    row.out_lon, row.out_lat = lon, lat
    row.out_accuracy_m = data.position.accuracy_m if data.position else None
    row.out_id = data.id or uuid.uuid4()
    await repository.flush(session)
    await record(session, actor=principal.actor, action="inspection.checked_out",
                 subject=f"inspection:{inspection_id}",
                 data={"check_in_id": str(row.id), "person_id": principal.actor, "at": at}, at=now)
    return check_in_read(row)


async def _work_credential_holder(session: AsyncSession, keys: Keys, settings: Settings, qr_text: str,
                                  now: datetime) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(person_id, credential_id, number) of a scanned work credential that verifies as valid."""
    try:
        outcome = await verify_qr(session, keys, settings, qr_text, now)
    except DomainError as exc:
        if exc.http_status >= 500:
            raise
        raise Unprocessable("The scanned credential could not be read", "无法识别所扫描的证件",
                            code="CREDENTIAL_NOT_VALID", article="12",
                            detail={"result": "malformed", "reason": exc.code}) from exc
    credential = outcome.credential
    if outcome.result != "valid" or credential is None:
        raise Unprocessable(f"The credential is not valid ({outcome.result})",
                            f"证件无效（{_RESULT_ZH.get(outcome.result, '无法核验')}）",
                            code="CREDENTIAL_NOT_VALID", article="12",
                            detail={"result": outcome.result, "reason": getattr(outcome, "reason", None)})
    return credential.person_id, credential.id, str(credential.number)


async def record_display(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                         data: CredentialDisplayCreate, now: datetime, keys: Keys,
                         settings: Settings) -> CredentialDisplayRead:
    """Art. 12: a team member records that a holder on the team showed their credential."""
    if (data.qr_text is None) == (data.enforcement_certificate_number is None):
        raise validation_error("qr_text", "one_of", "give exactly one of qr_text or enforcement_certificate_number",
                               "须且仅须提供 qr_text 或 enforcement_certificate_number 之一")
    ctx = await load_inspection(session, principal, inspection_id, write=True)
    require_member(ctx, principal)
    require_active(ctx)
    at = require_not_future(data.at, now, "at")
    lon, lat = wgs84(data.position)
    credential_id: uuid.UUID | None = None
    if data.qr_text is not None:
        holder_id, credential_id, number = await _work_credential_holder(session, keys, settings, data.qr_text, now)
        kind = "work_credential"
        if ctx.member(holder_id) is None:
            raise Unprocessable("The credential's holder is not on this inspection's team",
                                "证件持有人不是本次检查的检查组成员", code="NOT_A_TEAM_MEMBER", article="12",
                                detail={"person_id": str(holder_id), "number": number})
    else:
        number = (data.enforcement_certificate_number or "").strip()
        kind = "enforcement_certificate"
        member = next((p for _, p in ctx.team if p.enforcement_certificate_number == number), None)
        if member is None:
            holder = await person_by_certificate(session, number)
            if holder is None or holder.role != OFFICER:
                raise Unprocessable("No officer holds this enforcement certificate", "无行政执法人员持有该执法证",
                                    code="CREDENTIAL_NOT_VALID", detail={"result": "unknown", "number": number})
            raise Unprocessable("The certificate's holder is not on this inspection's team",
                                "执法证持有人不是本次检查的检查组成员", code="NOT_A_TEAM_MEMBER",
                                detail={"number": number})
        valid_until = member.enforcement_certificate_valid_until
        if member.status != "active" or valid_until is None or valid_until < local_day(at):
            raise Unprocessable("The enforcement certificate is not valid that day", "该执法证在当日无效",
                                code="CREDENTIAL_NOT_VALID",
                                detail={"result": "expired" if member.status == "active" else "holder_inactive",
                                        "number": number,
                                        "valid_until": valid_until.isoformat() if valid_until else None})
        holder_id = member.id
    row = CredentialDisplay(
        id=data.id or uuid.uuid4(), inspection_id=inspection_id, person_id=holder_id, kind=kind,
        credential_id=credential_id, number=number, shown_to_name=data.shown_to.name,
        shown_to_role=data.shown_to.role, position=point(lon, lat), lon=lon, lat=lat,
        accuracy_m=data.position.accuracy_m, at=at, recorded_by=principal.person_id, created_at=now,
    )
    await repository.add(session, row)
    holder_found = ctx.member(holder_id)
    assert holder_found is not None
    await record(session, actor=principal.actor, action="inspection.credential_displayed",
                 subject=f"inspection:{inspection_id}",
                 data={"display_id": str(row.id), "holder": str(holder_id), "kind": kind, "number": number,
                       "shown_to_role": data.shown_to.role, "at": at}, at=now)
    return display_read(row, holder_found[1])


