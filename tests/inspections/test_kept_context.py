"""A session that keeps loaded inspections (a sync chunk): an act reuses what the acts before it
read, and each part a write touched (check-ins, displays, the inspection row, the team) is read
again, so every Article 12/13 check sees the state the acts before it produced."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event

from backend.core.auth import Principal
from backend.core.db import make_engine, make_sessionmaker, point, transaction
from backend.inspections import repository
from backend.inspections.models import CheckIn, CredentialDisplay, Finding
from backend.inspections.service.context import keep_loaded_inspections, load_inspection
from tests.conftest import demo_id
from tests.inspections.helpers import CERTS, SITE_LAT, SITE_LON, Flow

pytestmark = pytest.mark.db


def officer(who: str) -> Principal:
    return Principal(person_id=demo_id(who), role="officer", agency_code="210100", agency_path="210000/210100/",
                     name=who)


async def test_a_kept_inspection_reads_again_only_what_was_written(client, token_for, clock, db_url):
    flow = Flow(client, token_for, clock)
    iid = uuid.UUID((await flow.create(team=("sy.officer1", "sy.officer2")))["id"])
    engine = make_engine(db_url)
    reads: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            reads[statement.split("FROM", 1)[1].split()[0]] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    o1, o2 = officer("sy.officer1"), officer("sy.officer2")
    now = clock.now()
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            keep_loaded_inspections(session)
            first = await load_inspection(session, o1, iid, write=True)
            assert first.snapshot.present == frozenset() and first.snapshot.displayed == frozenset()
            assert sum(reads.values()) == 4
            # Nothing written: the same context, no statement.
            assert await load_inspection(session, o1, iid, write=True) is first
            assert sum(reads.values()) == 4

            session.add(CheckIn(id=uuid.uuid4(), inspection_id=iid, person_id=o2.person_id, at=now,
                                position=point(SITE_LON, SITE_LAT), lon=SITE_LON, lat=SITE_LAT, accuracy_m=5.0,
                                reported_crs="wgs84", distance_m=0.0, created_at=now))
            await session.flush()
            reads.clear()
            second = await load_inspection(session, o1, iid, write=True)
            assert second.snapshot.present == {o2.person_id}
            assert dict(reads) == {"inspection_check_ins": 1}

            session.add(CredentialDisplay(id=uuid.uuid4(), inspection_id=iid, person_id=o2.person_id,
                                          kind="enforcement_certificate", number=CERTS["sy.officer2"],
                                          shown_to_name="李厂长", shown_to_role="企业负责人",
                                          position=point(SITE_LON, SITE_LAT), lon=SITE_LON, lat=SITE_LAT,
                                          accuracy_m=5.0, at=now, recorded_by=o2.person_id, created_at=now))
            await session.flush()
            reads.clear()
            third = await load_inspection(session, o1, iid, write=True)
            assert third.snapshot.displayed == {o2.person_id} and third.snapshot.present == {o2.person_id}
            assert dict(reads) == {"inspection_credential_displays": 1}

            third.inspection.status = "in_progress"
            await session.flush()
            reads.clear()
            fourth = await load_inspection(session, o1, iid, write=True)
            assert fourth.snapshot.status == "in_progress"
            assert dict(reads) == {"inspections": 1}

            # A rollback (a refused op's savepoint) drops everything.
            async with session.begin_nested() as savepoint:
                await savepoint.rollback()
            reads.clear()
            await load_inspection(session, o1, iid, write=True)
            assert sum(reads.values()) == 4
            await session.rollback()
    finally:
        await engine.dispose()


async def test_findings_added_without_a_flush_are_read_back(client, token_for, clock, db_url):
    """add_finding leaves the INSERT to the session's next flush; reading the findings flushes
    first, so a finding added a moment ago in the same transaction is there."""
    flow = Flow(client, token_for, clock)
    iid = uuid.UUID((await flow.create(team=("sy.officer1", "sy.officer2")))["id"])
    engine = make_engine(db_url)
    now = clock.now()
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            added = [Finding(id=uuid.uuid4(), inspection_id=iid, description=f"隐患{i}", hazard_level="general",
                             created_by=demo_id("sy.officer1"), created_at=now) for i in range(3)]
            for f in added:
                repository.add_finding(session, f)
            assert all(f in session.new for f in added)  # not inserted yet
            assert {f.id for f in await repository.findings(session, iid)} == {f.id for f in added}
    finally:
        await engine.dispose()
