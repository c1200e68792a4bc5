"""The radius query (`?near_lon=&near_lat=&within_m=`) goes through the spatial index on both
databases, and returns exactly what a brute-force geodesic filter returns.

PostGIS: the plan scans idx_evidence_location_geog (GiST on `location::geography`).
SpatiaLite: the plan reads the SpatialIndex virtual table (the R*Tree), not every row."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text

from backend.core.db import dialect_name, make_engine, make_sessionmaker
from backend.evidence import repository
from backend.evidence.models import Evidence
from tests.conftest import demo_id

pytestmark = pytest.mark.db

OWNER = uuid.UUID("00000000-0000-4000-8000-00000000e71d")
ROWS = 4000


def _row(rng: random.Random, lon: float, lat: float) -> dict:
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4), "owner_kind": "plan_test", "owner_id": OWNER,
        "inspection_id": None, "sha256": f"{rng.getrandbits(256):064x}", "size": 1, "media_type": "image/jpeg",
        "width": 1, "height": 1, "oriented_width": 1, "oriented_height": 1, "orientation": 1,
        "location": repository.point(lon, lat), "location_lon": lon, "location_lat": lat, "location_source": "device",
        "flags": [], "checks": {}, "captured_at": now, "uploaded_by": demo_id("sy.officer1"), "received_at": now,
        "receipt": "-", "thumbnail_size": 1,
    }


@pytest.fixture
async def session(db_url):
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    rng = random.Random(7)
    rows = [_row(rng, rng.uniform(118.8, 125.8), rng.uniform(38.7, 43.5)) for _ in range(ROWS)]  # Liaoning
    # A cluster near the query point, and a few at high latitude.
    rows += [_row(rng, 123.4315 + rng.uniform(-0.01, 0.01), 41.8057 + rng.uniform(-0.01, 0.01)) for _ in range(200)]
    rows += [_row(rng, 20 + rng.uniform(-0.05, 0.05), 78.2 + rng.uniform(-0.01, 0.01)) for _ in range(50)]
    async with maker() as s:
        await s.execute(insert(Evidence), rows)
        await s.commit()
        await s.execute(text("ANALYZE"))
        await s.commit()
    async with maker() as s:
        yield s
    await engine.dispose()


def _query(session, lon: float, lat: float, within_m: float):
    return repository.list_query(session, "plan_test", OWNER, near=(lon, lat, within_m), after=None, limit=None)


async def test_radius_query_uses_the_spatial_index(session):
    plan = "\n".join(await repository.explain(session, _query(session, 123.4315, 41.8057, 300)))
    if dialect_name(session) == "sqlite":
        assert "SpatialIndex" in plan, plan
        assert "VIRTUAL TABLE" in plan, plan
    else:
        assert "idx_evidence_location_geog" in plan, plan
        assert "Index Scan" in plan, plan  # "Index Scan using ..." or "Bitmap Index Scan on ..."
        assert "Seq Scan on evidence" not in plan, plan


@pytest.mark.parametrize(("lon", "lat", "within_m"), [
    (123.4315, 41.8057, 300),
    (123.4315, 41.8057, 900),
    (123.44, 41.80, 50),
    (121.6, 38.9, 20_000),
    (20.0, 78.2, 1500),  # high latitude: a degree of longitude is ~23 km
])
async def test_radius_query_matches_brute_force(session, lon, lat, within_m):
    found = {e.id for e in (await session.execute(_query(session, lon, lat, within_m))).scalars()}
    here = repository.point(lon, lat)
    if dialect_name(session) == "sqlite":
        dist = func.ST_Distance(Evidence.location, here, 1)
    else:
        from geoalchemy2 import Geography
        from sqlalchemy import cast

        dist = func.ST_Distance(cast(Evidence.location, Geography(srid=4326)), cast(here, Geography(srid=4326)))
    expected = {r[0] for r in (await session.execute(
        select(Evidence.id).where(Evidence.owner_kind == "plan_test", dist <= within_m))).all()}
    assert found == expected
    assert expected or within_m < 100
