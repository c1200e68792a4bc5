"""Request bodies that stall are cut.

Uvicorn times out idle keep-alive connections but not a request body: a client that declares
`Content-Length: 100000` and sends one byte holds its connection, its handler and (for uploads) a
half-written temp file for ever. This ASGI middleware bounds every `receive()` of the body: nothing
for `idle_s`, or the body not complete after `total_s`, and the receive raises 408
REQUEST_TIMEOUT. The handler unwinds as for any error (the upload intake removes its temp file),
the client gets the API.md error body and the connection is closed (`Connection: close`), since
the rest of that body will never be read.

Only the body is timed: once it is complete, a receive (a handler waiting for the client to go
away) may wait as long as it likes."""

from __future__ import annotations

from typing import Any

import anyio
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from backend.core.errors import DomainError


class BodyTimeout(DomainError):
    status = 408
    default_code = "REQUEST_TIMEOUT"


def _timeout(idle_s: float, total_s: float, stalled: bool) -> BodyTimeout:
    reason = f"no data for {idle_s:g} s" if stalled else f"body not complete after {total_s:g} s"
    return BodyTimeout(f"The request body arrived too slowly ({reason})", f"请求体传输过慢（{reason}），已中断",
                       detail={"reason": reason, "idle_timeout_s": idle_s, "body_timeout_s": total_s})


def body_timeout_middleware(idle_s: float, total_s: float) -> Any:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            deadline = anyio.current_time() + total_s
            state = {"complete": False, "cut": False}

            async def timed_receive() -> ReceiveMessage:
                if state["complete"]:
                    return await receive()
                remaining = deadline - anyio.current_time()
                wait = min(idle_s, remaining)
                with anyio.move_on_after(max(wait, 0)) as waiting:
                    message = await receive()
                if waiting.cancelled_caught:
                    state["cut"] = True
                    raise _timeout(idle_s, total_s, stalled=wait >= idle_s)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    state["complete"] = True
                return message

            async def send_closing(message: Message) -> None:
                if message["type"] == "http.response.start" and state["cut"]:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message["headers"] = [*headers, (b"connection", b"close")]
                await send(message)

            await app(scope, timed_receive, send_closing)

        return middleware

    return factory
