"""The contract's PDF paths end in `.pdf` inside the id segment (`/api/v1/documents/{id}.pdf`),
which Litestar's router cannot express next to the JSON route `/api/v1/documents/{id}` (a `str`
parameter there would shadow it). This ASGI middleware maps `/{id}.pdf` to `/{id}/pdf` and
`/{id}/versions/{n}.pdf` to `/{id}/versions/{n}/pdf`; both spellings work. It must wrap the
app's ASGI handler (Litestar's `middleware=` runs after routing). Kept apart from the controllers
so that app.py can import it without importing the domains."""

from __future__ import annotations

import re

from litestar.types import ASGIApp, Receive, Scope, Send

_PDF_PATH = re.compile(r"^(/api/v1/documents/[^/]+(?:/versions/[^/]+)?)\.pdf$")


def pdf_path_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = _PDF_PATH.match(scope["path"])
            if match:
                path = f"{match.group(1)}/pdf"
                scope["path"] = path
                scope["raw_path"] = path.encode()
        await app(scope, receive, send)

    return middleware
