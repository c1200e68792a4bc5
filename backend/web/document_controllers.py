"""`GET /d/{token}`: the public page a printed document's QR code opens. No login; rate-limited
per client address like `/v/{token}`; a read-only session."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.enums import MediaType
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.errors import RateLimited
from backend.core.signing import Keys
from backend.documents_pdf.service import public_document
from backend.web.controllers import _HEADERS
from backend.web.document_pages import render_document_page
from backend.web.pages import render_error_page


@get("/d/{token:str}", media_type=MediaType.HTML, tags=["verification"],
     summary="Public page of a printed document (HTML, zh-CN)")
async def document_page(token: str, request: Request[Any, Any, Any], read_session: AsyncSession,
                        signing_keys: Keys, clock: Clock) -> Response[str]:
    try:
        await request.app.state["public_limiter"].hit(client_address(request))
    except RateLimited as exc:
        retry = str(int(exc.detail.get("retry_after_s", 60)))
        return Response(render_error_page(429, exc.message_zh, exc.message), status_code=429,
                        media_type=MediaType.HTML, headers={**_HEADERS, "Retry-After": retry})
    doc = await public_document(read_session, signing_keys, token)
    return Response(render_document_page(doc, checked_at=clock.now()), status_code=200 if doc else 404,
                    media_type=MediaType.HTML, headers=_HEADERS)


ROUTES: list[Any] = [document_page]
