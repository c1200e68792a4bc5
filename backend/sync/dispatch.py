"""Replaying one op as an in-process HTTP request through the application itself.

Going through the whole ASGI app (routing, body limits, schema validation, the principal, every
guard and jurisdiction rule, idempotent creates, the error mapping, the per-request session and its
transaction) is what makes "the same rules as the direct call" true by construction, also for
endpoints written after this module. Nothing here knows any endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

#: Any ASGI application (typed loosely: Litestar's own signature is a union of scope kinds).
ASGIApp = Callable[..., Awaitable[None]]

#: Headers of the sync request that the replayed request carries too.
FORWARDED_HEADERS = ("host", "authorization", "user-agent", "accept-language")


def forwarded_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for name in FORWARDED_HEADERS:
        value = headers.get(name)
        if value is not None:
            out.append((name.encode("latin-1"), value.encode("latin-1")))
    return out


def decode_body(content_type: str, raw: bytes) -> Any:
    """The response body as JSON data; non-JSON bodies are described, not embedded."""
    if not raw:
        return None
    if "json" in content_type:
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            pass
    return {"content_type": content_type or None, "size": len(raw)}


def _server(scope: Mapping[str, Any]) -> tuple[str, int] | None:
    server = scope.get("server")
    if not server:
        return None
    host, port = server[0], server[1]
    if port is None:  # some ASGI clients leave it out; URLs built from the scope need one
        port = 443 if scope.get("scheme") == "https" else 80
    return host, int(port)


async def call(app: ASGIApp, *, base_scope: Mapping[str, Any], method: str, path: str,
               headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, Any]:
    """Run one HTTP request through `app` in process; (status, decoded JSON body)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": base_scope.get("scheme", "http"),
        "server": _server(base_scope),
        "client": base_scope.get("client"),
        "root_path": "",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "extensions": {},
    }
    done = asyncio.Event()
    sent_body = False
    status = 500
    content_type = ""
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    content_type = value.decode("latin-1").lower()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return status, decode_body(content_type, b"".join(chunks))
