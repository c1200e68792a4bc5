"""All SQL of evidence photos and their custody log, including the geodesic distances and radius
queries (computed by SpatiaLite or PostGIS, never in Python)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import and_, cast, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from backend.core.db import dialect_name, point
from backend.core.pagination import TimeKey, keyset_after
from backend.evidence.models import Blob, BlobChunk, CustodyEvent, Evidence

#: Metres per degree of latitude (upper bound over the ellipsoid, rounded up): the SpatiaLite
#: search frame must cover the circle, never cut it.
_M_PER_DEG = 110_500.0


def point_expr(session: AsyncSession, lon: float, lat: float) -> ColumnElement[Any]:
    """A WGS84 point built in SQL from two numbers (renders as plain literals in EXPLAIN)."""
    if dialect_name(session) == "sqlite":
        return func.MakePoint(lon, lat, 4326)
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def _distance(session: AsyncSession, a: Any, b: Any) -> ColumnElement[float]:
    if dialect_name(session) == "sqlite":
        return func.ST_Distance(a, b, 1)
    return func.ST_Distance(cast(a, Geography(srid=4326)), cast(b, Geography(srid=4326)))


async def distances_m(session: AsyncSession, pairs: Sequence[tuple[tuple[float, float], tuple[float, float]]]
                      ) -> list[float]:
    """Geodesic distances (metres, WGS84 ellipsoid) between pairs of (lon, lat) points, in one query."""
    if not pairs:
        return []
    exprs = [_distance(session, point(*a), point(*b)) for a, b in pairs]
    row = (await session.execute(select(*exprs))).one()
    return [float(v) for v in row]


async def get(session: AsyncSession, evidence_id: uuid.UUID) -> Evidence | None:
    return await session.get(Evidence, evidence_id)


async def by_owner_sha(session: AsyncSession, owner_kind: str, owner_id: uuid.UUID, sha256: str) -> Evidence | None:
    return (await session.execute(
        select(Evidence).where(Evidence.owner_kind == owner_kind, Evidence.owner_id == owner_id,
                               Evidence.sha256 == sha256)
    )).scalar_one_or_none()


async def insert_evidence(session: AsyncSession, evidence: Evidence) -> bool:
    """Insert; False when the same photo for the same owner (or the same id) won a race."""
    try:
        async with session.begin_nested():
            session.add(evidence)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def add_custody(session: AsyncSession, events: Iterable[dict[str, Any]]) -> None:
    rows = list(events)
    if rows:
        await session.execute(insert(CustodyEvent), rows)


async def custody(session: AsyncSession, evidence_id: uuid.UUID, after_seq: int | None,
                  limit: int) -> Sequence[CustodyEvent]:
    query = select(CustodyEvent).where(CustodyEvent.evidence_id == evidence_id)
    if after_seq is not None:
        query = query.where(CustodyEvent.seq > after_seq)
    return (await session.execute(query.order_by(CustodyEvent.seq).limit(limit))).scalars().all()


async def count_for_owner(session: AsyncSession, owner_kind: str, owner_id: uuid.UUID) -> int:
    return int((await session.execute(
        select(func.count()).select_from(Evidence)
        .where(Evidence.owner_kind == owner_kind, Evidence.owner_id == owner_id)
    )).scalar_one())


def near_filter(session: AsyncSession, lon: float, lat: float, within_m: float) -> ColumnElement[bool]:
    """`location` within `within_m` metres (geodesic) of (lon, lat), through the spatial index.

    PostGIS: ST_DWithin on `location::geography`, which the expression GiST index
    idx_evidence_location_geog serves. SpatiaLite never consults its R*Tree by itself: the rows
    come from the SpatialIndex virtual table (a square frame around the circle, in degrees), then
    the exact geodesic distance decides."""
    here = point_expr(session, lon, lat)
    if dialect_name(session) != "sqlite":
        return func.ST_DWithin(cast(Evidence.location, Geography(srid=4326)), cast(here, Geography(srid=4326)),
                               within_m)
    # A degree of longitude shrinks with cos(latitude); the frame is square, so size it for the
    # longitude direction (the larger one in degrees), with 1 % to spare.
    cos_lat = max(math.cos(math.radians(min(abs(lat) + within_m / _M_PER_DEG, 89.9))), 1e-3)
    radius_deg = min(within_m / (_M_PER_DEG * cos_lat) * 1.01, 360.0)
    frame = text(
        "evidence.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'evidence' "
        "AND f_geometry_column = 'location' AND search_frame = BuildCircleMbr(:near_lon, :near_lat, :near_r))"
    ).bindparams(near_lon=lon, near_lat=lat, near_r=radius_deg)
    return and_(frame, func.ST_Distance(Evidence.location, here, 1) <= within_m)


def list_query(session: AsyncSession, owner_kind: str, owner_id: uuid.UUID, *,
               near: tuple[float, float, float] | None, after: TimeKey | None,
               limit: int | None) -> Any:
    query = select(Evidence).where(Evidence.owner_kind == owner_kind, Evidence.owner_id == owner_id)
    if near is not None:
        query = query.where(near_filter(session, *near))
    if after is not None:
        query = query.where(keyset_after(Evidence.received_at, Evidence.id, after, descending=False))
    query = query.order_by(Evidence.received_at, Evidence.id)
    if limit is not None:
        query = query.limit(limit)
    return query


async def list_for_owner(session: AsyncSession, owner_kind: str, owner_id: uuid.UUID, *,
                         near: tuple[float, float, float] | None, after: TimeKey | None,
                         limit: int | None) -> Sequence[Evidence]:
    query = list_query(session, owner_kind, owner_id, near=near, after=after, limit=limit)
    return (await session.execute(query)).scalars().all()


async def explain(session: AsyncSession, query: Any) -> list[str]:
    """The database's plan for a query (tests check that the spatial index is used)."""
    sql = str(query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if dialect_name(session) == "sqlite" else "EXPLAIN "
    conn = await session.connection()
    rows = (await conn.exec_driver_sql(prefix + sql)).all()
    return [" ".join(str(c) for c in row) for row in rows]


async def referenced_shas(session: AsyncSession, shas: set[str]) -> set[str]:
    if not shas:
        return set()
    rows = (await session.execute(select(Evidence.sha256).where(Evidence.sha256.in_(shas)).distinct())).all()
    return {r[0] for r in rows}


async def all_shas(session: AsyncSession) -> list[str]:
    rows = (await session.execute(select(Evidence.sha256).distinct())).all()
    return [r[0] for r in rows]



# --- the database blob store (blobs.py) ---------------------------------------------------------

async def claim_blob(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Insert a blob's row unless that (sha256, kind) is stored already. True: the caller writes
    the chunks. A concurrent writer of the same bytes waits here for the first one's commit (the
    primary key), then finds the row and writes nothing."""
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Blob).values(row)
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["sha256", "kind"]))
    return bool(getattr(result, "rowcount", 0))


async def add_blob_chunk(session: AsyncSession, sha256: str, kind: str, seq: int, data: bytes) -> None:
    await session.execute(insert(BlobChunk).values(sha256=sha256, kind=kind, seq=seq, data=data))


async def blob_meta(session: AsyncSession, sha256: str, kind: str) -> Blob | None:
    return (await session.execute(select(Blob).where(Blob.sha256 == sha256, Blob.kind == kind))).scalar_one_or_none()


async def blob_kinds(session: AsyncSession, sha256: str) -> set[str]:
    return set((await session.execute(select(Blob.kind).where(Blob.sha256 == sha256))).scalars())


async def blob_chunk(session: AsyncSession, sha256: str, kind: str, seq: int) -> bytes | None:
    return (await session.execute(select(BlobChunk.data).where(
        BlobChunk.sha256 == sha256, BlobChunk.kind == kind, BlobChunk.seq == seq))).scalar_one_or_none()


async def orphan_blobs(session: AsyncSession, created_before: datetime) -> list[str]:
    """Hashes of blobs no evidence row refers to, stored before `created_before`."""
    referenced = select(Evidence.id).where(Evidence.sha256 == Blob.sha256).exists()
    rows = await session.execute(select(Blob.sha256).where(~referenced, Blob.created_at < created_before).distinct())
    return list(rows.scalars())


async def delete_blob(session: AsyncSession, sha256: str) -> None:
    await session.execute(delete(BlobChunk).where(BlobChunk.sha256 == sha256))
    await session.execute(delete(Blob).where(Blob.sha256 == sha256))


async def shas_without_blobs(session: AsyncSession) -> list[str]:
    """Evidence hashes whose original or thumbnail is not stored (never expected)."""
    stored = (select(func.count()).select_from(Blob).where(Blob.sha256 == Evidence.sha256)
              .scalar_subquery())
    rows = await session.execute(select(Evidence.sha256).where(stored < 2).distinct())
    return list(rows.scalars())
