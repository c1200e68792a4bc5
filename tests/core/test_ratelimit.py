"""Rate limits: the in-memory store (embedded default) and the Redis store behave the same, and
the Redis one is shared by every limiter (process) that uses the same name."""

from __future__ import annotations

import os
import uuid

import pytest

from backend.core.errors import RateLimited
from backend.core.ratelimit import RateLimiter, RedisRateLimiter, make_redis

REDIS_URL = os.environ.get("FIELDCHECK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_memory_limit_window_and_reset():
    limiter = RateLimiter(3, 60)
    for _ in range(3):
        limiter.hit_now("1.2.3.4", now=100.0)
    with pytest.raises(RateLimited) as refused:
        limiter.hit_now("1.2.3.4", now=110.0)
    assert refused.value.detail == {"retry_after_s": 50, "limit": 3, "window_s": 60}
    limiter.hit_now("5.6.7.8", now=110.0)  # other clients are not affected
    limiter.hit_now("1.2.3.4", now=160.0)  # a new window
    await limiter.reset("1.2.3.4")
    await limiter.peek("1.2.3.4")


async def test_redis_limit_is_shared_between_limiters():
    redis = make_redis(REDIS_URL)
    name = f"fieldcheck-test-{uuid.uuid4().hex}:public"
    try:
        one, two = RedisRateLimiter(redis, name, 4, 60), RedisRateLimiter(redis, name, 4, 60)
        for limiter in (one, two, one, two):
            await limiter.hit("1.2.3.4")
        with pytest.raises(RateLimited) as refused:
            await one.hit("1.2.3.4")
        assert 1 <= refused.value.detail["retry_after_s"] <= 60
        with pytest.raises(RateLimited):
            await two.peek("1.2.3.4")
        await two.hit("5.6.7.8")
        await one.reset("1.2.3.4")
        await two.peek("1.2.3.4")
        assert 0 < await redis.pttl(f"{name}:5.6.7.8") <= 60_000  # every counter expires
    finally:
        await redis.delete(f"{name}:1.2.3.4", f"{name}:5.6.7.8")
        await redis.aclose()


async def test_redis_down_lets_requests_through():
    # A limit protects the service; an unreachable store must not turn into a 500 for everyone.
    redis = make_redis("redis://127.0.0.1:1/0")
    try:
        limiter = RedisRateLimiter(redis, "fieldcheck-test:down", 1, 60)
        for _ in range(3):
            await limiter.hit("1.2.3.4")
        await limiter.peek("1.2.3.4")
    finally:
        await redis.aclose()
