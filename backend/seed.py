"""Reference and demo data: the agency tree (always) and the demo accounts of DOMAIN.md §Demo data
(`fieldcheck seed --demo`). Idempotent: a second run finds everything in place and adds nothing."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import hash_password
from backend.core.checksums import mask_id_number, validate_id_number
from backend.core.signing import Keys
from backend.credentials.models import Credential
from backend.credentials.service import issue_credential, qr_text
from backend.personnel.models import (
    Agency,
    Appointment,
    Person,
    Qualification,
    SigningAuthorisation,
    Training,
)
from backend.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SYSTEM = "system"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def demo_account_lines() -> list[str]:
    """Every demo account as one line (username, role, agency, what it is for): the run banner
    (scripts/run.sh) prints these, so a new user sees all of them, not a hand-kept subset."""
    fixture = load_fixture("demo_accounts.json")
    agencies = {a["code"]: a["name"] for a in load_fixture("agencies.json")}
    lines = []
    for acc in fixture["accounts"]:
        extra = []
        if acc.get("employment"):
            extra.append(acc["employment"])
        if acc.get("credential"):
            extra.append("credential")
        note = f" [{', '.join(extra)}]" if extra else ""
        lines.append(f"{acc['username']:<24} {acc['role']:<20} {acc['agency_code']} "
                     f"{agencies.get(acc['agency_code'], '')}{note}")
    return lines


async def seed_agencies(session: AsyncSession, now: datetime) -> int:
    rows = load_fixture("agencies.json")
    existing = set((await session.execute(select(Agency.code))).scalars())
    paths: dict[str, str] = {a.code: a.path for a in (await session.execute(select(Agency))).scalars()}
    added = 0
    for row in rows:  # parents come before children in the fixture
        parent = row["parent"]
        path = (paths[parent] if parent else "") + row["code"] + "/"
        paths[row["code"]] = path
        if row["code"] in existing:
            continue
        session.add(Agency(code=row["code"], name=row["name"], name_en=row.get("name_en"), level=row["level"],
                           parent_code=parent, path=path))
        await session.flush()
        await record(session, actor=SYSTEM, action="agency.created", subject=f"agency:{row['code']}",
                     data={"name": row["name"], "parent_code": parent, "level": row["level"]}, at=now)
        added += 1
    return added


async def seed_demo(session: AsyncSession, now: datetime) -> list[str]:
    """Demo accounts (flagged `is_demo`: they log in only when FIELDCHECK_DEMO=1)."""
    fixture = load_fixture("demo_accounts.json")
    password_hash = await anyio.to_thread.run_sync(hash_password, fixture["password"])
    created: list[str] = []
    for acc in fixture["accounts"]:
        found = (await session.execute(select(Person).where(Person.username == acc["username"]))).scalar_one_or_none()
        if found is not None:
            continue
        info = validate_id_number(acc["id_number"])
        cert = acc.get("enforcement_certificate")
        # Stable ids let the field app's demo build refer to demo people.
        person_id = uuid.uuid5(uuid.NAMESPACE_URL, f"fieldcheck-demo:{acc['username']}")
        person = Person(
            id=person_id, name=acc["name"], id_number=info.number, birth_date=info.birth_date, phone=acc["phone"],
            agency_code=acc["agency_code"], role=acc["role"], employment=acc.get("employment"), status="active",
            username=acc["username"], password_hash=password_hash, is_demo=True,
            enforcement_certificate_number=cert["number"] if cert else None,
            enforcement_certificate_valid_until=date.fromisoformat(cert["valid_until"]) if cert else None,
            created_at=now, updated_at=now,
        )
        session.add(person)
        await session.flush()
        await record(session, actor=SYSTEM, action="person.created", subject=f"person:{person.id}",
                     data={"name": person.name, "agency_code": person.agency_code, "role": person.role,
                           "id_number": mask_id_number(person.id_number), "demo": True}, at=now)
        for q in acc.get("qualifications", []):
            session.add(Qualification(person_id=person.id, kind=q["kind"], level=q["level"], field=q.get("field"),
                                      safety_related=q.get("safety_related", False), created_at=now))
        if ap := acc.get("appointment"):
            session.add(Appointment(
                person_id=person.id, agency_code=person.agency_code, role=ap["role"], employment=ap.get("employment"),
                start_date=date.fromisoformat(ap["start_date"]),
                end_date=date.fromisoformat(ap["end_date"]) if ap.get("end_date") else None,
                contract_type=ap["contract_type"], route=ap["route"], experience_years=ap.get("experience_years"),
                declarations=ap["declarations"], consents=ap["consents"], recommended_by=ap.get("recommended_by"),
                status="active", created_at=now,
            ))
        for t in acc.get("trainings", []):
            session.add(Training(person_id=person.id, kind=t["kind"], start_date=date.fromisoformat(t["start_date"]),
                                 days=t["days"], assessment_passed=t.get("assessment_passed"), created_at=now))
        if sa := acc.get("signing_authorisation"):
            admin = (await session.execute(select(Person).where(Person.username == "sy.admin"))).scalar_one()
            session.add(SigningAuthorisation(person_id=person.id, document_types=sa["document_types"],
                                             valid_until=date.fromisoformat(sa["valid_until"]), granted_by=admin.id,
                                             created_at=now))
        await session.flush()
        created.append(acc["username"])
    return created


async def seed_demo_credentials(session: AsyncSession, keys: Keys, settings: Settings, now: datetime) -> list[str]:
    """Issue a credential to every demo account whose fixture says `"credential": true`, as the
    system would through the provincial personnel office. Idempotent: an account that already
    holds a credential of its kind (in any status) gets no second one.

    `keys` and `settings` are not needed to issue (QR tokens are derived from the row and the
    current credential key whenever a card or a read asks for one); they are taken so the seed can
    report what a scan of each demo card would read."""
    fixture = load_fixture("demo_accounts.json")
    issued: list[str] = []
    for acc in fixture["accounts"]:
        if not acc.get("credential") or not acc.get("appointment"):
            continue
        person = (await session.execute(select(Person).where(Person.username == acc["username"]))).scalar_one_or_none()
        if person is None:
            continue
        kind = acc["appointment"]["role"]
        held = (await session.execute(
            select(Credential.id).where(Credential.person_id == person.id, Credential.kind == kind).limit(1)
        )).first()
        if held is not None:
            continue
        credential, _ = await issue_credential(session, person_id=person.id, kind=kind, actor=SYSTEM, now=now)
        issued.append(f"{acc['username']} {credential.number} {qr_text(keys, settings, credential)}")
    return issued
