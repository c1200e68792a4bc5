"""How a process learns that shared state changed elsewhere (another worker, another machine, the
CLI): the `change_versions` counters, bumped by database triggers, and on PostgreSQL the
notifications the same triggers send (`LISTEN fieldcheck_changes`).

A subscriber (the credential snapshot, the shared key rings) registers a topic with two callbacks:
`on_item(detail)` for a notification that names what changed, `on_reset()` when the counter moved
in a way the notifications did not account for (a missed notification, a lost listening
connection, SQLite). The periodic check is the fallback that makes notifications an optimisation,
never a requirement for correctness: whatever happens, a process is at most one poll interval
behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.availability import is_database_unavailable
from backend.core.shared_models import ChangeVersion

log = logging.getLogger("fieldcheck.changes")
CHANNEL = "fieldcheck_changes"


@dataclass
class _Topic:
    on_item: Callable[[str], Awaitable[None]] | None
    on_reset: Callable[[], Awaitable[None]]
    #: The counter this process's copy reflects; None until the first reset.
    seen: int | None = None


@dataclass
class ChangeFeed:
    engine: AsyncEngine
    poll_s: float = 1.0
    _topics: dict[str, _Topic] = field(default_factory=dict)
    _queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _listener: Any = None

    def subscribe(self, topic: str, *, on_reset: Callable[[], Awaitable[None]],
                  on_item: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._topics[topic] = _Topic(on_item, on_reset)

    async def versions(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(ChangeVersion.name, ChangeVersion.version))).all()
        return {name: int(version) for name, version in rows}

    async def check(self) -> None:
        """Reset every topic whose counter moved past what this process has seen. The counter is
        read before the subscriber reloads, so a change committed during the reload moves it again
        and the next check reloads once more: never stale for longer than one interval."""
        versions = await self.versions()
        for name, topic in self._topics.items():
            current = versions.get(name)
            if current is not None and topic.seen != current:
                await topic.on_reset()
                topic.seen = current

    async def start(self) -> None:
        """Listen first, then load: a change committed in between is both notified and loaded,
        which is harmless; the other order could miss it until the next check."""
        if self.engine.dialect.name == "postgresql":
            await self._listen()
        await self.check()
        self._tasks = [asyncio.create_task(self._poll()), asyncio.create_task(self._consume())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._unlisten()

    # --- PostgreSQL notifications ------------------------------------------------------------------

    async def _listen(self) -> None:
        """A dedicated connection outside the pool: LISTEN lasts as long as the connection."""
        import asyncpg

        url = self.engine.url.set(drivername="postgresql")
        try:
            conn = await asyncpg.connect(url.render_as_string(hide_password=False))
            await conn.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            # A database outage is expected and says nothing new: one line, no traceback.
            log.warning("cannot LISTEN for changes (%s); polling every %ss", type(exc).__name__, self.poll_s,
                        exc_info=not is_database_unavailable(exc))
            return
        self._listener = conn

    async def _unlisten(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._queue.put_nowait(payload)

    async def _consume(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                await self._apply(payload)
            except Exception as exc:
                log.warning("change notification %r failed (%s); the next check catches up", payload,
                            type(exc).__name__, exc_info=not is_database_unavailable(exc))

    async def _apply(self, payload: str) -> None:
        name, _, rest = payload.partition(":")
        version_text, _, detail = rest.partition(":")
        topic = self._topics.get(name)
        if topic is None or not version_text.isdigit():
            return
        version = int(version_text)
        if topic.seen is not None and version <= topic.seen:
            return  # already reflected (our copy was built after this change)
        if topic.seen is None or version != topic.seen + 1 or not detail or topic.on_item is None:
            # A gap (a notification we never got) or a change that names nothing: start over.
            current = (await self.versions()).get(name)
            await topic.on_reset()
            topic.seen = current
            return
        await topic.on_item(detail)
        topic.seen = version

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                if self.engine.dialect.name == "postgresql" and self._listener is None:
                    await self._listen()
                elif self._listener is not None and self._listener.is_closed():
                    self._listener = None
                await self.check()
            except Exception as exc:
                log.warning("change check failed (%s); retrying", type(exc).__name__,
                            exc_info=not is_database_unavailable(exc))
