"""The queries shared by the things a person files with an agency and that the agency must act on
by a deadline: incident reports (Art. 28/29) and supervision submissions (Art. 20).

Both are read the same way: joined with the agency (for its path, the jurisdiction filter) and
the filer (for the name), with the stored position as two numbers; listed newest first behind a
keyset cursor, visible to the filer and to whoever sees the agency's subtree; swept when overdue,
with a once-only claim before the overdue notice goes out. Each domain describes its table once
(`Filings(...)`) and keeps its own row type and its own overdue predicate (the SQL twin of its
guard). The agency and person models are passed in, so core still imports no domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import TimeKey, keyset_after

M = TypeVar("M")
R = TypeVar("R")


class Filings(Generic[M, R]):
    """Queries over one table of filings.

    `model` has `id`, `agency_code`, `position`, `overdue_notified_at` and the two columns named
    here: `filer` (the person's id) and `at` (when it was filed, the list order). `row` builds the
    domain's row from (filing, agency path, filer name, lon, lat)."""

    def __init__(self, *, model: Any, filer: Any, at: Any, agency: Any, person: Any,
                 overdue: Callable[[datetime], ColumnElement[bool]],
                 row: Callable[[M, str, str, float | None, float | None], R]) -> None:
        self.model = model
        self.filer = filer
        self.at = at
        self.agency = agency
        self.person = person
        self.overdue = overdue
        self.row = row

    def _base(self) -> Any:
        model = self.model
        return (
            select(model, self.agency.path, self.person.name, func.ST_X(model.position), func.ST_Y(model.position))
            .join(self.agency, self.agency.code == model.agency_code)
            .join(self.person, self.person.id == self.filer)
        )

    def _row(self, raw: Any) -> R:
        return self.row(raw[0], raw[1], raw[2], raw[3], raw[4])

    async def get(self, session: AsyncSession, filing_id: uuid.UUID, *, for_update: bool = False) -> R | None:
        query = self._base().where(self.model.id == filing_id)
        if for_update:
            # Two staff acting on one filing at once: the second waits and then sees the new state.
            query = query.with_for_update(of=self.model)
        raw = (await session.execute(query)).first()
        return None if raw is None else self._row(raw)

    async def visible(self, session: AsyncSession, *, viewer_id: uuid.UUID, subtree_prefix: str | None,
                      status: str | None, overdue_at: datetime | None, before: TimeKey | None,
                      limit: int) -> list[R]:
        """Newest first: the viewer's own filings, and (unless `subtree_prefix` is None) every
        filing with an agency in that subtree."""
        who: ColumnElement[bool] = self.filer == viewer_id
        if subtree_prefix is not None:
            who = or_(who, self.agency.path.startswith(subtree_prefix, autoescape=True))
        query = self._base().where(who)
        if status:
            query = query.where(self.model.status == status)
        if overdue_at is not None:
            query = query.where(self.overdue(overdue_at))
        if before is not None:
            query = query.where(keyset_after(self.at, self.model.id, before))
        query = query.order_by(self.at.desc(), self.model.id.desc()).limit(limit)
        return [self._row(r) for r in (await session.execute(query)).all()]

    async def overdue_in(self, session: AsyncSession, path_prefix: str, now: datetime) -> list[R]:
        """Every overdue filing under `path_prefix`, oldest first (a stable order, so concurrent
        sweeps lock rows in the same order)."""
        query = (self._base().where(self.agency.path.startswith(path_prefix, autoescape=True), self.overdue(now))
                 .order_by(self.at, self.model.id))
        return [self._row(r) for r in (await session.execute(query)).all()]

    async def claim_overdue_notice(self, session: AsyncSession, filing_id: uuid.UUID, now: datetime) -> bool:
        """Mark the filing as announced overdue; True for the one transaction that did it."""
        model = self.model
        result = await session.execute(
            update(model)
            .where(model.id == filing_id, model.overdue_notified_at.is_(None))
            .values(overdue_notified_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
