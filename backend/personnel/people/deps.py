"""The `principal` dependency: who is calling, from the bearer token and the database."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal, decode_access_token
from backend.core.deps import bearer_token
from backend.core.errors import Unauthenticated
from backend.core.signing import Keys
from backend.personnel.people.service import load_principal
from backend.settings import Settings


async def provide_principal(request: Request[Any, Any, Any], session: AsyncSession, signing_keys: Keys,
                            settings: Settings) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("Bearer token required", "需要登录令牌")
    claims = decode_access_token(signing_keys.access, token, issuer=settings.origin,
                                 max_lifetime_s=settings.access_token_ttl_s)
    return await load_principal(session, claims.person_id)
