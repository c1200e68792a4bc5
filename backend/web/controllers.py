"""Public HTML pages: `GET /v/{token}`, what a phone camera opens when it scans a credential card.
No login; rate-limited per client address like the verification API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.enums import MediaType

from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.errors import BadRequest, RateLimited
from backend.core.signing import Keys
from backend.credentials import service
from backend.web.pages import render_error_page, render_verification_page

#: The API's reason codes, as the page says them.
REASONS_ZH = {
    "bad_signature": "签名校验未通过",
    "unknown_signing_key": "签名密钥不属于本系统",
    "algorithm_not_accepted": "签名算法不被接受",
    "unsupported_header": "二维码格式不被接受",
    "wrong_token_type": "不是证件二维码",
    "claims_invalid": "二维码内容不完整",
    "claims_mismatch": "二维码内容与登记信息不符",
}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _html(body: str, status: int, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(content=body, status_code=status, media_type=MediaType.HTML,
                    headers={**_HEADERS, **(headers or {})})


@get("/v/{token:str}", media_type=MediaType.HTML, tags=["verification"],
     summary="Verification page of a scanned credential (HTML, zh-CN)")
async def verification_page(token: str, request: Request[Any, Any, Any], signing_keys: Keys,
                            clock: Clock) -> Response[str]:
    now = clock.now()
    try:
        await request.app.state["public_limiter"].hit(client_address(request))
    except RateLimited as exc:
        retry = str(int(exc.detail.get("retry_after_s", 60)))
        return _html(render_error_page(429, exc.message_zh, exc.message), 429, {"Retry-After": retry})
    try:
        outcome = await service.verify_qr_public(request.app.state["credential_snapshot"], signing_keys, token, now)
    except BadRequest:
        return _html(render_verification_page(None, checked_at=now), 400)
    result: dict[str, Any] = msgspec.to_builtins(service.verify_response(outcome, now))
    # The explanation on the page already says what revoked/expired/unknown mean; only the
    # forgery reasons add something a reader can use.
    result["reason"] = REASONS_ZH.get(outcome.reason or "")
    return _html(render_verification_page(result, checked_at=now), 200)


ROUTES: list[Any] = [verification_page]
