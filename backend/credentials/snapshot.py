"""What a public verification needs, in memory: credential id and number → holder fields, agency
name, status. A scan then costs one signature check (cached for a token seen before) and a dict
lookup — no database round trip on the hot path.

Freshness, across workers and machines:
- in this process, a credential change is applied the moment its transaction commits (SQLAlchemy
  `after_commit`), so the worker that revoked answers "revoked" on the next request;
- on PostgreSQL, the `credentials` trigger NOTIFYs every listening process, which re-reads that one
  row (`backend.core.changes`): a revocation reaches every node within milliseconds;
- everywhere, the `change_versions` counter is checked every `change_poll_s` (1 s): a missed
  notification, a change made by the CLI or on SQLite by another process, a renamed agency all end
  in a reload within one interval.
A lookup that misses (a credential issued a moment ago on another node) reads that one row from the
database, so a new card never verifies as "unknown"."""

from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from backend.credentials import repository
from backend.credentials.models import Credential


@dataclass(frozen=True, slots=True)
class CredentialView:
    """The fields of a credential a verification shows or compares (duck-types `Credential`)."""

    id: uuid.UUID
    number: str
    kind: str
    person_id: uuid.UUID
    holder_name: str
    agency_code: str
    agency_name: str
    issued_at: datetime
    expires_at: datetime
    status: str


class CredentialSnapshot:
    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._by_id: dict[uuid.UUID, CredentialView] = {}
        self._by_number: dict[str, uuid.UUID] = {}
        self._agency_names: dict[str, str] = {}
        self._reloading = False
        #: Changes committed in this process while a reload was reading rows: re-applied after it.
        self._pending: dict[uuid.UUID, CredentialView | None] = {}
        self.loaded = False

    # --- the hot path ------------------------------------------------------------------------------

    async def by_id(self, credential_id: uuid.UUID) -> CredentialView | None:
        view = self._by_id.get(credential_id)
        if view is not None:
            return view
        async with self._maker() as session:
            row = await repository.verification_row(session, credential_id=credential_id)
        return self._store(row)

    async def by_number(self, number: str) -> CredentialView | None:
        credential_id = self._by_number.get(number)
        if credential_id is not None and credential_id in self._by_id:
            return self._by_id[credential_id]
        async with self._maker() as session:
            row = await repository.verification_row(session, number=number)
        return self._store(row)

    # --- keeping it fresh --------------------------------------------------------------------------

    async def reload(self) -> None:
        self._reloading = True
        self._pending = {}
        try:
            async with self._maker() as session:
                rows = await repository.verification_rows(session)
                agencies = await repository.agency_names(session)
        finally:
            self._reloading = False
        by_id = {view.id: view for view in (_view(row) for row in rows)}
        self._by_id = by_id
        self._by_number = {view.number: view.id for view in by_id.values()}
        self._agency_names = agencies
        pending, self._pending = self._pending, {}
        for credential_id, pending_view in pending.items():
            self._put(credential_id, pending_view)
        self.loaded = True

    async def refresh(self, detail: str) -> None:
        """One credential changed elsewhere (a notification's detail is its id)."""
        try:
            credential_id = uuid.UUID(detail)
        except ValueError:
            await self.reload()
            return
        async with self._maker() as session:
            row = await repository.verification_row(session, credential_id=credential_id)
        if row is None:
            self._put(credential_id, None)
        else:
            self._store(row)

    def committed(self, credentials: list[Credential]) -> None:
        """Credentials this process just committed: apply them without a round trip."""
        for credential in credentials:
            name = self._agency_names.get(credential.agency_code)
            # Unknown agency (new since the last reload): drop the entry; the next lookup reads it.
            view = None if name is None else CredentialView(
                id=credential.id, number=credential.number, kind=credential.kind, person_id=credential.person_id,
                holder_name=credential.holder_name, agency_code=credential.agency_code, agency_name=name,
                issued_at=credential.issued_at, expires_at=credential.expires_at, status=credential.status)
            self._put(credential.id, view)

    def _store(self, row: Any) -> CredentialView | None:
        if row is None:
            return None
        view = _view(row)
        self._agency_names.setdefault(view.agency_code, view.agency_name)
        self._put(view.id, view)
        return view

    def _put(self, credential_id: uuid.UUID, view: CredentialView | None) -> None:
        if self._reloading:
            self._pending[credential_id] = view
        old = self._by_id.pop(credential_id, None)
        if old is not None:
            self._by_number.pop(old.number, None)
        if view is not None:
            self._by_id[credential_id] = view
            self._by_number[view.number] = credential_id

    # --- in-process commits ----------------------------------------------------------------------

    def watch(self, engine: Any) -> None:
        """Receive the credential changes committed in this process to this engine's database,
        through any engine (the app's, the CLI's run in-process, a test's)."""
        _WATCHERS.setdefault(str(engine.url), weakref.WeakSet()).add(self)


def _view(row: Any) -> CredentialView:
    return CredentialView(id=row.id, number=row.number, kind=row.kind, person_id=row.person_id,
                          holder_name=row.holder_name, agency_code=row.agency_code, agency_name=row.agency_name,
                          issued_at=row.issued_at, expires_at=row.expires_at, status=row.status)


_WATCHERS: dict[str, weakref.WeakSet[CredentialSnapshot]] = {}
_KEY = "fieldcheck_changed_credentials"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context: Any) -> None:
    changed = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, Credential)]
    if changed:
        session.info.setdefault(_KEY, {}).update({id(c): c for c in changed})


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    changed = session.info.pop(_KEY, None)
    if not changed:
        return
    bind = session.get_bind()
    for snapshot in list(_WATCHERS.get(str(bind.engine.url), ())):
        snapshot.committed(list(changed.values()))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
