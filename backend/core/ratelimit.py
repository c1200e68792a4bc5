"""Fixed-window rate limits: the public endpoints (per client address) and failed logins (per
account and per address).

Two stores behind one interface (`await limiter.hit(key)`, `await limiter.peek(key)`):
- in memory, per process: the embedded default (one process, no Redis);
- Redis (`FIELDCHECK_REDIS_URL`), shared by every worker and machine, so a limit holds for the
  deployment and does not multiply with the number of workers. One round trip per hit: INCR and
  the window's expiry in one Lua script, so a crash between them cannot leave a counter without
  an expiry.
A limit protects the service from one noisy client; it is not an accounting system, so when Redis
is unreachable a hit is let through (and logged) rather than turning the outage into a 500 for
every public request."""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Any, Protocol

from backend.core.errors import RateLimited

log = logging.getLogger("fieldcheck.ratelimit")


def _refusal(limit: int, window_s: int, retry_s: float, message: tuple[str, str] | None = None) -> RateLimited:
    en, zh = message or ("Too many requests; try again later", "请求过于频繁，请稍后再试")
    return RateLimited(en, zh, detail={"retry_after_s": max(1, math.ceil(retry_s)), "limit": limit,
                                       "window_s": window_s})


class Limiter(Protocol):
    limit: int
    window_s: int

    async def hit(self, key: str) -> None:
        """Count one event for `key`; RateLimited when it is over the limit."""

    async def peek(self, key: str) -> None:
        """RateLimited when `key` is already at the limit (counts nothing)."""

    async def reset(self, key: str) -> None: ...


class RateLimiter:
    """In memory, per process."""

    def __init__(self, limit: int, window_s: int, max_clients: int = 100_000,
                 message: tuple[str, str] | None = None) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self.message = message
        self._hits: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, count = self._hits.get(key, (now, 0))
        if now - start >= self.window_s:
            return now, 0
        return start, count

    def hit_now(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        start, count = self._current(key, now)
        count += 1
        self._hits[key] = (start, count)
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_clients:
            self._hits.popitem(last=False)
        if count > self.limit:
            raise _refusal(self.limit, self.window_s, self.window_s - (now - start), self.message)

    async def hit(self, key: str) -> None:
        self.hit_now(key)

    async def peek(self, key: str) -> None:
        now = time.monotonic()
        start, count = self._current(key, now)
        if count >= self.limit:
            raise _refusal(self.limit, self.window_s, self.window_s - (now - start), self.message)

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)


# KEYS[1] counter; ARGV[1] window in ms. Returns {count, ms left in the window}.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RedisRateLimiter:
    """Shared by every process that uses the same Redis and `name`."""

    def __init__(self, redis: Any, name: str, limit: int, window_s: int,
                 message: tuple[str, str] | None = None) -> None:
        self.redis = redis
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self.message = message
        self._script = redis.register_script(_HIT)

    def _key(self, key: str) -> str:
        return f"{self.name}:{key}"

    async def hit(self, key: str) -> None:
        try:
            count, ttl_ms = await self._script(keys=[self._key(key)], args=[self.window_s * 1000])
        except Exception:  # Redis down: let the request through, see the module docstring
            log.warning("rate limit store unreachable; %s not counted", self.name, exc_info=True)
            return
        if int(count) > self.limit:
            raise _refusal(self.limit, self.window_s, int(ttl_ms) / 1000, self.message)

    async def peek(self, key: str) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                count, ttl_ms = await pipe.get(self._key(key)).pttl(self._key(key)).execute()
        except Exception:
            log.warning("rate limit store unreachable; %s not checked", self.name, exc_info=True)
            return
        if count is not None and int(count) >= self.limit:
            raise _refusal(self.limit, self.window_s, max(int(ttl_ms), 1000) / 1000, self.message)

    async def reset(self, key: str) -> None:
        try:
            await self.redis.delete(self._key(key))
        except Exception:
            log.warning("rate limit store unreachable; %s not reset", self.name, exc_info=True)


def make_redis(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def make_limiter(redis: Any, prefix: str, name: str, limit: int, window_s: int,
                 message: tuple[str, str] | None = None) -> Limiter:
    if redis is None:
        return RateLimiter(limit, window_s, message=message)
    return RedisRateLimiter(redis, f"{prefix}{name}", limit, window_s, message=message)
