"""Credentials through the HTTP API: issuance (Art. 14, 24), numbering (also under concurrency),
validity, the lifecycle, reads, the card, and the dismissal interface."""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend.audit.models import AuditEntry, AuditPending
from backend.core.checksums import make_id_number
from backend.core.db import make_engine, make_sessionmaker, transaction
from backend.credentials import service
from backend.credentials.models import Credential
from backend.credentials.numbering import parse_number
from backend.personnel.models import Appointment, Person, Training
from tests.conftest import demo_id

pytestmark = pytest.mark.db


@pytest.fixture
async def db(db_url):
    """Sessions on the test's own event loop (the test client runs the app on another loop, whose
    connections must not be shared)."""
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()

NUMBER_RE = re.compile(r"^LN[JS]-\d{4}-\d{6}-[0-9X]$")
_seq = itertools.count(1)


def _id_number() -> str:
    n = next(_seq) + uuid.uuid4().int % 500 * 1000
    day = date(1980, 1, 1) + timedelta(days=n % 7000)
    return make_id_number(f"210102{day:%Y%m%d}{n % 1000:03d}")


async def add_candidate(db, *, name: str = "王五", role: str = "technical_inspector",
                        employment: str | None = "full_time", agency_code: str = "210102",
                        start: date = date(2026, 1, 1), end: date | None = None, appointment: bool = True,
                        appointment_role: str | None = None, appointment_status: str = "active",
                        training: bool | None = True) -> uuid.UUID:
    """A person with (optionally) an appointment and a pre-job training, straight into the DB."""
    now = datetime.now(UTC)
    person_id = uuid.uuid4()
    id_number = _id_number()
    async with db() as s:
        s.add(Person(id=person_id, name=name, id_number=id_number,
                     birth_date=date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
                     phone="13900000000", agency_code=agency_code, role=role,
                     employment=employment if role == "technical_inspector" else None, status="active",
                     is_demo=False, created_at=now, updated_at=now))
        await s.flush()
        if appointment:
            s.add(Appointment(person_id=person_id, agency_code=agency_code, role=appointment_role or role,
                              employment=employment if role == "technical_inspector" else None,
                              start_date=start, end_date=end, contract_type="labor", route="exam",
                              declarations={}, consents={"self": True, "employer": True},
                              status=appointment_status, created_at=now))
        if training is not None:
            s.add(Training(person_id=person_id, kind="pre_job", start_date=start, days=5,
                           assessment_passed=training, created_at=now))
        await s.commit()
    return person_id


async def issue(client, token_for, person_id, kind="technical_inspector", who="ln.hr", **extra):
    return await client.post("/api/v1/credentials", json={"person_id": str(person_id), "kind": kind, **extra},
                             headers=token_for(who))


async def demo_credential(client, token_for, username="sy.inspector.ft"):
    r = await client.get(f"/api/v1/credentials?person_id={demo_id(username)}", headers=token_for("ln.hr"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    return items[0]


async def audit_actions(db, credential_id) -> list[str]:
    """Recorded actions, oldest first: integrated ones in seq order, then pending ones in the id
    order the sequencer will integrate them (the test app runs no sequencer)."""
    subject = f"credential:{credential_id}"
    async with db() as s:
        rows = await s.execute(select(AuditEntry.action).where(AuditEntry.subject == subject)
                               .order_by(AuditEntry.seq))
        pending = await s.execute(select(AuditPending.action).where(AuditPending.subject == subject)
                                  .order_by(AuditPending.id))
        return [*rows.scalars(), *pending.scalars()]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- issuance ------------------------------------------------------------------------------------


async def test_provincial_hr_issues_to_a_trained_appointee(client, token_for, db, clock):
    r = await issue(client, token_for, demo_id("sy.inspector.new"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"id", "number", "kind", "person_id", "agency_code", "issued_at", "expires_at", "status",
                         "qr_text"}
    assert NUMBER_RE.match(body["number"]) and body["number"].startswith("LNJ-")
    parsed = parse_number(body["number"])
    assert parsed.year == clock.now().year and parsed.canonical == body["number"]
    assert body["kind"] == "technical_inspector" and body["status"] == "valid"
    assert body["person_id"] == str(demo_id("sy.inspector.new")) and body["agency_code"] == "210100"
    assert body["holder_name"] and body["agency_name"]
    assert body["issued_at"].endswith("Z") and body["expires_at"].endswith("Z")
    # Open-ended full-time appointment: three years from issue.
    issued, expires = ts(body["issued_at"]), ts(body["expires_at"])
    assert expires == issued.replace(year=issued.year + 3)
    assert body["qr_text"].startswith("http://testserver.local/v/") and len(body["qr_text"]) <= 600
    # Reads give the same credential; the holder sees it in their list.
    got = await client.get(f"/api/v1/credentials/{body['id']}", headers=token_for("sy.inspector.new"))
    assert got.status_code == 200 and got.json() == body
    assert await audit_actions(db, body["id"]) == ["credential.issued"]


async def test_issue_is_idempotent_by_client_id(client, token_for):
    cid = str(uuid.uuid4())
    first = await issue(client, token_for, demo_id("sy.inspector.new"), id=cid)
    assert first.status_code == 201, first.text
    assert first.json()["id"] == cid
    again = await issue(client, token_for, demo_id("sy.inspector.new"), id=cid)
    assert again.status_code == 200 and again.json() == first.json()
    other = await issue(client, token_for, demo_id("sy.inspector.new"), kind="social_supervisor", id=cid)
    assert other.status_code == 409 and other.json()["code"] == "ID_CONFLICT"


async def test_validity_runs_to_the_end_of_the_appointment(client, token_for, db):
    pid = await add_candidate(db, role="social_supervisor", employment=None, end=date(2027, 6, 30))
    r = await issue(client, token_for, pid, kind="social_supervisor")
    assert r.status_code == 201, r.text
    assert r.json()["number"].startswith("LNS-")
    # The end of 30 June 2027 in Beijing time (UTC+8).
    assert ts(r.json()["expires_at"]) == datetime(2027, 6, 30, 16, 0, tzinfo=UTC)


async def test_only_the_provincial_personnel_office_issues(client, token_for):
    r = await issue(client, token_for, demo_id("sy.inspector.new"), who="sy.hr")
    assert r.status_code == 403
    assert r.json()["code"] == "ART24_PROVINCIAL_ONLY" and r.json()["article"] == "24"
    for who in ("sy.officer1", "sy.admin", "sy.inspector.ft", "sy.supervisor", "dl.officer1"):
        r = await issue(client, token_for, demo_id("sy.inspector.new"), who=who)
        assert r.status_code == 403, who
        assert r.json()["code"] in {"FORBIDDEN", "ART24_PROVINCIAL_ONLY"}
    r = await client.post("/api/v1/credentials", json={"person_id": str(demo_id("sy.inspector.new")),
                                                       "kind": "technical_inspector"})
    assert r.status_code == 401


async def test_pre_job_training_is_required(client, token_for, db):
    r = await issue(client, token_for, demo_id("sy.inspector.untrained"))
    assert r.status_code == 409
    assert r.json()["code"] == "ART14_PRE_JOB_TRAINING_REQUIRED" and r.json()["article"] == "14"
    failed = await add_candidate(db, training=False)
    r = await issue(client, token_for, failed)
    assert r.status_code == 409 and r.json()["code"] == "ART14_PRE_JOB_TRAINING_REQUIRED"


async def test_an_active_appointment_is_required(client, token_for, db):
    # An officer has no inspector appointment; the new inspector none as a supervisor.
    r = await issue(client, token_for, demo_id("sy.officer1"))
    assert r.status_code == 409 and r.json()["code"] == "NO_ACTIVE_APPOINTMENT"
    r = await issue(client, token_for, demo_id("sy.inspector.new"), kind="social_supervisor")
    assert r.status_code == 409 and r.json()["code"] == "NO_ACTIVE_APPOINTMENT"
    for kwargs in ({"appointment": False}, {"appointment_status": "dismissed"},
                   {"start": date(2031, 1, 1)}, {"start": date(2020, 1, 1), "end": date(2021, 12, 31)}):
        pid = await add_candidate(db, **kwargs)
        r = await issue(client, token_for, pid)
        assert r.status_code == 409, kwargs
        assert r.json()["code"] == "NO_ACTIVE_APPOINTMENT", kwargs


async def test_one_live_credential_per_kind(client, token_for):
    r = await issue(client, token_for, demo_id("sy.inspector.ft"))
    assert r.status_code == 409 and r.json()["code"] == "CREDENTIAL_EXISTS"
    existing = await demo_credential(client, token_for)
    assert r.json()["detail"]["number"] == existing["number"]
    # After revocation a new one may be issued (a replacement card gets a new number).
    rv = await client.post(f"/api/v1/credentials/{existing['id']}/revoke", json={"reason": "card lost"},
                           headers=token_for("ln.hr"))
    assert rv.status_code == 200
    again = await issue(client, token_for, demo_id("sy.inspector.ft"))
    assert again.status_code == 201 and again.json()["number"] != existing["number"]


async def test_bad_input_is_4xx(client, token_for):
    headers = {**token_for("ln.hr"), "Content-Type": "application/json"}
    r = await client.post("/api/v1/credentials", content=b"{not json", headers=headers)
    assert r.status_code == 400
    pid = str(demo_id("sy.inspector.new"))
    for body in ({"person_id": pid, "kind": "officer"}, {"person_id": "nope", "kind": "technical_inspector"},
                 {"person_id": pid}, {"person_id": pid, "kind": "technical_inspector", "extra": 1},
                 {"person_id": 5, "kind": "technical_inspector"}, []):
        r = await client.post("/api/v1/credentials", json=body, headers=token_for("ln.hr"))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR"
    r = await issue(client, token_for, uuid.uuid4())
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "person_id"


# --- numbering -----------------------------------------------------------------------------------


async def test_serials_are_consecutive_per_kind(client, token_for, db):
    numbers = []
    for _ in range(3):
        pid = await add_candidate(db)
        r = await issue(client, token_for, pid)
        assert r.status_code == 201, r.text
        numbers.append(parse_number(r.json()["number"]))
    serials = [n.serial for n in numbers]
    assert serials == list(range(serials[0], serials[0] + 3))
    sup = await add_candidate(db, role="social_supervisor", employment=None, end=date(2028, 12, 31))
    r = await issue(client, token_for, sup, kind="social_supervisor")
    # The demo seed issued one supervisor credential; supervisors count on their own.
    assert parse_number(r.json()["number"]).serial == 2


async def test_concurrent_issues_never_share_a_number(client, token_for, db, clock):
    # The test client handles one request at a time, so concurrency is exercised at the service
    # layer: each task is its own transaction on its own connection, as requests would be.
    people = [await add_candidate(db, name=f"并发{i}") for i in range(16)]

    async def one(pid):
        async with transaction(db) as s:
            credential, _ = await service.issue_credential(s, person_id=pid, kind="technical_inspector",
                                                           actor="tester", now=clock.now())
            return credential.number

    numbers = await asyncio.gather(*(one(pid) for pid in people))
    serials = sorted(parse_number(n).serial for n in numbers)
    assert len(set(serials)) == len(people)
    assert serials == list(range(serials[0], serials[0] + len(people)))
    # One person, many concurrent requests: one credential, the others refused.
    pid = await add_candidate(db)
    outcomes = await asyncio.gather(*(one(pid) for _ in range(5)), return_exceptions=True)
    assert sum(isinstance(o, str) for o in outcomes) == 1, outcomes
    assert all(getattr(o, "code", None) == "CREDENTIAL_EXISTS" for o in outcomes if not isinstance(o, str))
    # Through the API too, one after another.
    r = await issue(client, token_for, await add_candidate(db))
    assert parse_number(r.json()["number"]).serial == serials[-1] + 2  # +1 went to the same-person race


async def test_serials_restart_each_year(client, token_for, db, clock):
    clock.set(datetime(2027, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 on 31 Dec in Beijing
    a = await issue(client, token_for, await add_candidate(db))
    clock.set(datetime(2027, 12, 31, 16, 1, tzinfo=UTC))  # 00:01 on 1 Jan 2028 in Beijing
    b = await issue(client, token_for, await add_candidate(db))
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert parse_number(a.json()["number"]).year == 2027
    assert parse_number(b.json()["number"])[1:3] == (2028, 1)


# --- lifecycle -----------------------------------------------------------------------------------


async def test_suspend_reinstate_revoke(client, token_for, db):
    cred = await demo_credential(client, token_for)
    url = f"/api/v1/credentials/{cred['id']}"
    r = await client.post(f"{url}/suspend", json={"reason": "under investigation"}, headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended" and r.json()["status_reason"] == "under investigation"
    # Suspending again changes nothing.
    r = await client.post(f"{url}/suspend", headers=token_for("sy.hr"))
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = await client.post(f"{url}/reinstate", headers=token_for("ln.hr"))
    assert r.status_code == 200 and r.json()["status"] == "valid"
    r = await client.post(f"{url}/revoke", json={"reason": "misconduct"}, headers=token_for("sy.hr"))
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    for action, body in (("reinstate", None), ("suspend", {}), ("revoke", {"reason": "again"})):
        r = await client.post(f"{url}/{action}", json=body, headers=token_for("ln.hr"))
        assert r.status_code == 409, action
        assert r.json()["code"] == "CREDENTIAL_REVOKED"
    assert await audit_actions(db, cred["id"]) == [
        "credential.issued", "credential.suspended", "credential.reinstated", "credential.revoked"]


async def test_lifecycle_permissions(client, token_for):
    cred = await demo_credential(client, token_for)
    url = f"/api/v1/credentials/{cred['id']}"
    for who in ("sy.officer1", "sy.admin", "sy.inspector.ft", "sy.supervisor"):
        r = await client.post(f"{url}/suspend", json={}, headers=token_for(who))
        assert r.status_code == 403, who
    r = await client.post(f"{url}/revoke", json={"reason": "x"}, headers=token_for("dl.officer1"))
    assert r.status_code == 404
    r = await client.post(f"{url}/revoke", json={}, headers=token_for("ln.hr"))
    assert r.status_code == 422
    r = await client.post(f"{url}/revoke", json={"reason": ""}, headers=token_for("ln.hr"))
    assert r.status_code == 422
    r = await client.post(f"/api/v1/credentials/{uuid.uuid4()}/revoke", json={"reason": "x"},
                          headers=token_for("ln.hr"))
    assert r.status_code == 404
    r = await client.post(f"{url}/revoke", json={"reason": "x"})
    assert r.status_code == 401
    r = await client.get(f"{url}", headers=token_for("ln.hr"))
    assert r.json()["status"] == "valid"


async def test_expiry_is_computed_from_the_clock(client, token_for, clock):
    cred = await demo_credential(client, token_for)
    clock.set(ts(cred["expires_at"]) - timedelta(seconds=1))
    r = await client.get(f"/api/v1/credentials/{cred['id']}", headers=token_for("ln.hr"))
    assert r.json()["status"] == "valid"
    clock.advance(seconds=1)
    r = await client.get(f"/api/v1/credentials/{cred['id']}", headers=token_for("ln.hr"))
    assert r.json()["status"] == "expired"
    # An expired credential can still be revoked (and then says so).
    r = await client.post(f"/api/v1/credentials/{cred['id']}/revoke", json={"reason": "x"},
                          headers=token_for("ln.hr"))
    assert r.status_code == 200 and r.json()["status"] == "revoked"


async def test_revoke_all_for_person(client, token_for, db, clock):
    cred = await demo_credential(client, token_for, "sy.inspector.pt")
    person = demo_id("sy.inspector.pt")
    async with db() as s:
        ids = await service.revoke_all_for_person(s, person, "dismissal: discipline", "tester", clock.now())
        await s.commit()
    assert ids == [uuid.UUID(cred["id"])]
    async with db() as s:
        again = await service.revoke_all_for_person(s, person, "dismissal: discipline", "tester", clock.now())
        await s.commit()
    assert again == []
    r = await client.get(f"/api/v1/credentials/{cred['id']}", headers=token_for("ln.hr"))
    assert r.json()["status"] == "revoked" and r.json()["status_reason"] == "dismissal: discipline"
    assert await audit_actions(db, cred["id"]) == ["credential.issued", "credential.revoked"]


# --- reads ---------------------------------------------------------------------------------------


async def test_reads_follow_jurisdiction(client, token_for):
    cred = await demo_credential(client, token_for)
    url = f"/api/v1/credentials/{cred['id']}"
    for who in ("sy.inspector.ft", "sy.officer1", "sy.hr", "ln.hr"):
        r = await client.get(url, headers=token_for(who))
        assert r.status_code == 200, who
    r = await client.get(url, headers=token_for("dl.officer1"))
    assert r.status_code == 404
    r = await client.get("/api/v1/credentials?limit=500", headers=token_for("dl.officer1"))
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get("/api/v1/credentials", headers=token_for("sy.inspector.ft"))
    numbers = {c["number"] for c in r.json()["items"]}
    assert cred["number"] in numbers and len(numbers) == 3  # the city's three demo credentials
    r = await client.get(f"{url}")
    assert r.status_code == 401


async def test_list_pages(client, token_for):
    seen, cursor = [], None
    while True:
        r = await client.get("/api/v1/credentials", params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                             headers=token_for("ln.hr"))
        assert r.status_code == 200, r.text
        seen += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3
    r = await client.get("/api/v1/credentials?cursor=%%%", headers=token_for("ln.hr"))
    assert r.status_code == 400
    r = await client.get("/api/v1/credentials?limit=0", headers=token_for("ln.hr"))
    assert r.status_code == 422
    r = await client.get("/api/v1/credentials?person_id=nope", headers=token_for("ln.hr"))
    assert r.status_code in {400, 422}


async def test_card_png_carries_the_qr_text(client, token_for):
    import zxingcpp

    cred = await demo_credential(client, token_for)
    r = await client.get(f"/api/v1/credentials/{cred['id']}/card.png", headers=token_for("sy.inspector.ft"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (1011, 638)
    decoded = [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert decoded == [cred["qr_text"]]
    assert (await client.get(f"/api/v1/credentials/{cred['id']}/card.png", headers=token_for("sy.hr"))).status_code == 200
    r = await client.get(f"/api/v1/credentials/{cred['id']}/card.png", headers=token_for("sy.officer1"))
    assert r.status_code == 403
    r = await client.get(f"/api/v1/credentials/{cred['id']}/card.png", headers=token_for("dl.officer1"))
    assert r.status_code == 404
    await client.post(f"/api/v1/credentials/{cred['id']}/revoke", json={"reason": "x"}, headers=token_for("ln.hr"))
    r = await client.get(f"/api/v1/credentials/{cred['id']}/card.png", headers=token_for("sy.inspector.ft"))
    assert r.status_code == 409 and r.json()["code"] == "CREDENTIAL_REVOKED"


async def test_long_names_keep_the_qr_text_short(client, token_for, db):
    pid = await add_candidate(db, name="阿" * 100)
    r = await issue(client, token_for, pid)
    assert r.status_code == 201, r.text
    assert len(r.json()["qr_text"]) <= 600
    v = await client.post("/api/v1/verify", json={"qr_text": r.json()["qr_text"]})
    assert v.json()["result"] == "valid" and v.json()["credential"]["holder_name"] == "阿" * 100


async def test_demo_seed_is_idempotent(app, client, db, settings, clock):
    from backend.core.signing import Keys
    from backend.seed import seed_demo_credentials

    async with db() as s:
        before = (await s.execute(select(func.count()).select_from(Credential))).scalar_one()
        issued = await seed_demo_credentials(s, app.state["keys"], settings, clock.now())
        await s.commit()
    assert before == 3 and issued == []
    assert isinstance(app.state["keys"], Keys)


async def test_serial_exhaustion_is_a_conflict(client, token_for, db, clock):
    from backend.core.clock import LOCAL_TZ
    from backend.credentials.models import CredentialSerial

    year = clock.now().astimezone(LOCAL_TZ).year
    async with db() as s:
        row = await s.get(CredentialSerial, ("technical_inspector", year))
        row.last_serial = 999_999
        await s.commit()
    r = await issue(client, token_for, demo_id("sy.inspector.new"))
    assert r.status_code == 409 and r.json()["code"] == "SERIAL_EXHAUSTED"
    # Nothing was issued, and the counter did not move past the end.
    async with db() as s:
        assert (await s.get(CredentialSerial, ("technical_inspector", year))).last_serial == 999_999
