"""Failed-login limits: per account (guessing one account's password from many addresses) and per
client address (trying many accounts from one). Counted only on failures, in the shared store when
Redis is configured so the limit holds across workers and machines; an account's counter is
cleared by a successful login. Refused attempts are 429 RATE_LIMITED before the password is even
checked, so a locked-out guesser does not get to burn argon2 time either."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from backend.core.errors import RateLimited, Unauthenticated
from backend.core.ratelimit import Limiter, make_limiter
from backend.settings import Settings

T = TypeVar("T")
_MESSAGE = ("Too many failed logins; try again later", "登录失败次数过多，请稍后再试")


def login_limiters(redis: Any, settings: Settings) -> dict[str, Limiter]:
    return {
        "login_account_limiter": make_limiter(redis, settings.redis_prefix, "login-account",
                                              settings.login_fail_limit, settings.login_fail_window_s, _MESSAGE),
        "login_address_limiter": make_limiter(redis, settings.redis_prefix, "login-address",
                                              settings.login_fail_address_limit, settings.login_fail_window_s,
                                              _MESSAGE),
    }


async def limited_login(state: Any, username: str, address: str, attempt: Callable[[], Awaitable[T]]) -> T:
    account: Limiter = state["login_account_limiter"]
    by_address: Limiter = state["login_address_limiter"]
    account_key = username.strip().casefold()
    await account.peek(account_key)
    await by_address.peek(address)
    try:
        result = await attempt()
    except Unauthenticated:
        # This attempt still gets its 401; the limit refuses the next ones.
        with contextlib.suppress(RateLimited):
            await account.hit(account_key)
        with contextlib.suppress(RateLimited):
            await by_address.hit(address)
        raise
    await account.reset(account_key)
    return result
