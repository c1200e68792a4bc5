"""Shared helpers of the inspection API tests: a Shenyang site, valid credit codes, signature PNGs,
and short-hands for the steps of an on-site check."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.checksums import make_credit_code
from backend.core.db import make_engine, make_sessionmaker
from backend.core.geo import wgs84_to_gcj02
from tests.conftest import demo_id

SITE_LON, SITE_LAT = 123.4315, 41.8057
RADIUS_M = 200.0
CERTS = {
    "sy.officer1": "LN-ZF-210100-2024004",
    "sy.officer2": "LN-ZF-210100-2024005",
    "sy.officer3": "LN-ZF-210100-2024006",
    "dl.officer1": "LN-ZF-210200-2024012",
}
RECORD = "on_site_inspection_record"
DEFAULT_TEAM = ("sy.officer1", "sy.officer2", "sy.inspector.ft", "sy.inspector.pt")


def credit_code() -> str:
    return make_credit_code("91210102MA0Y2K3L4")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def at(clock: Any, minutes: float = 0) -> str:
    return iso(clock.now() + timedelta(minutes=minutes))


def position(dx_m: float = 0.0, dy_m: float = 0.0, *, crs: str = "wgs84", accuracy: float = 8.0) -> dict[str, Any]:
    """A position dx_m east and dy_m north of the site (flat-earth offset: fine for metres)."""
    lat = SITE_LAT + dy_m / 111_320.0
    lon = SITE_LON + dx_m / (111_320.0 * 0.7455)  # cos(41.8°)
    if crs == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return {"lon": lon, "lat": lat, "crs": crs, "accuracy_m": accuracy}


def inspection_body(clock: Any, *, team: tuple[str, ...] = DEFAULT_TEAM, classification: str = "normal",
                    **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "on_site_inspection",
        "enterprise": {"name": "沈阳示例化工有限公司", "credit_code": credit_code()},
        "site": {"lon": SITE_LON, "lat": SITE_LAT, "crs": "wgs84", "radius_m": RADIUS_M,
                 "address": "沈阳市和平区南京北街1号"},
        "team": [str(demo_id(u)) for u in team],
        "planned_at": at(clock, 30),
        "classification": classification,
    }
    body.update(over)
    return body


def signature_png(size: tuple[int, int] = (400, 150)) -> str:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    w, h = size
    pts = [(int(w * x), int(h * y)) for x, y in [(0.1, 0.7), (0.25, 0.3), (0.4, 0.75), (0.55, 0.25), (0.9, 0.6)]]
    ImageDraw.Draw(im).line(pts, fill=(10, 10, 80, 255), width=5)
    out = io.BytesIO()
    im.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def blank_png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (400, 150), (255, 255, 255)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


class Flow:
    """Steps of an on-site check through the API, as a test reads them."""

    def __init__(self, client: Any, token_for: Any, clock: Any) -> None:
        self.client = client
        self.token_for = token_for
        self.clock = clock

    async def create(self, who: str = "sy.officer1", **kw: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/inspections", json=inspection_body(self.clock, **kw),
                                   headers=self.token_for(who))
        assert r.status_code == 201, r.text
        return r.json()

    async def check_in(self, iid: str, who: str, **pos: Any) -> Any:
        return await self.client.post(f"/api/v1/inspections/{iid}/check-ins",
                                      json={"position": position(**pos), "at": at(self.clock)},
                                      headers=self.token_for(who))

    async def show_certificate(self, iid: str, who: str, *, recorder: str | None = None) -> Any:
        return await self.client.post(
            f"/api/v1/inspections/{iid}/credential-displays",
            json={"enforcement_certificate_number": CERTS[who],
                  "shown_to": {"name": "李厂长", "role": "企业负责人"}, "position": position(), "at": at(self.clock)},
            headers=self.token_for(recorder or who))

    async def qr_text_of(self, who: str) -> str:
        r = await self.client.get(f"/api/v1/credentials?person_id={demo_id(who)}", headers=self.token_for("sy.hr"))
        assert r.status_code == 200, r.text
        items = [c for c in r.json()["items"] if c["status"] == "valid"]
        assert items, f"no valid credential seeded for {who}"
        return str(items[0]["qr_text"])

    async def show_work_credential(self, iid: str, who: str, *, recorder: str | None = None) -> Any:
        return await self.client.post(
            f"/api/v1/inspections/{iid}/credential-displays",
            json={"qr_text": await self.qr_text_of(who), "shown_to": {"name": "李厂长", "role": "企业负责人"},
                  "position": position(), "at": at(self.clock)},
            headers=self.token_for(recorder or who))

    async def ready_officers(self, iid: str, officers: tuple[str, ...] = ("sy.officer1", "sy.officer2")) -> None:
        for who in officers:
            r = await self.check_in(iid, who)
            assert r.status_code == 201, r.text
            r = await self.show_certificate(iid, who)
            assert r.status_code == 201, r.text

    async def start(self, iid: str, who: str = "sy.officer1") -> Any:
        return await self.client.post(f"/api/v1/inspections/{iid}/start", headers=self.token_for(who))

    async def started(self, **kw: Any) -> dict[str, Any]:
        """An inspection in progress: officers 1 and 2 in and shown; sy.inspector.ft (when on the
        team) in and shown."""
        ins = await self.create(**kw)
        await self.ready_officers(ins["id"])
        r = await self.start(ins["id"])
        assert r.status_code == 200, r.text
        if "sy.inspector.ft" not in kw.get("team", DEFAULT_TEAM):
            return ins
        r = await self.check_in(ins["id"], "sy.inspector.ft")
        assert r.status_code == 201, r.text
        r = await self.show_work_credential(ins["id"], "sy.inspector.ft")
        assert r.status_code == 201, r.text
        return r.json() | {"id": ins["id"]}

    async def document(self, iid: str, who: str = "sy.officer1", doc_type: str = RECORD,
                       content: dict[str, Any] | None = None) -> Any:
        return await self.client.post(f"/api/v1/inspections/{iid}/documents",
                                      json={"type": doc_type, "content": content or {"text": "现场检查记录"}},
                                      headers=self.token_for(who))

    async def sign(self, doc: dict[str, Any], who: str, role: str, **extra: Any) -> Any:
        body = {"signer_role": role, "image_png": signature_png(), "content_sha256": doc["content_sha256"],
                "position": position(), "at": at(self.clock)}
        body.update(extra)
        body = {k: v for k, v in body.items() if v is not None}
        return await self.client.post(f"/api/v1/documents/{doc['id']}/signatures", json=body,
                                      headers=self.token_for(who))


def new_uuid() -> str:
    return str(uuid.uuid4())


@asynccontextmanager
async def db_session(db_url: str) -> AsyncIterator[AsyncSession]:
    """A session on the test database from the test's own event loop (the app's sessionmaker
    belongs to the test client's loop, which asyncpg connections cannot cross). Commits on exit."""
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
            await session.commit()
    finally:
        await engine.dispose()
