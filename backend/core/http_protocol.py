"""Request headers that stall are cut.

Uvicorn (0.55) has no timeout for the header phase of a request: its keep-alive timer runs only
*between* requests (armed after a response, cancelled by the first byte received), and a fresh
connection has no timer at all. A client that connects and sends nothing, or sends half its
headers and stalls, holds the connection (a file descriptor and the parser's buffers) for ever; an
ASGI middleware cannot help, since the app is called only once the headers are complete
(core/timeouts.py times the body, from there on). Uvicorn's own limits (`h11_max_incomplete_event_size`,
httptools' header size) bound the size of a header block, not its time.

`HeaderTimeoutProtocol` is uvicorn's httptools protocol with one timer more: armed when the
connection opens and when the first byte of a request arrives, disarmed when that request's
headers are complete. When it fires, the client gets 408 REQUEST_TIMEOUT with the API.md error
body (if it had begun a request; a connection that never sent a byte is just closed, as uvicorn
closes an idle keep-alive one) and the connection is closed. While an earlier request of the same
connection is still being answered (pipelining), the timer waits for that answer instead.

`fieldcheck serve` runs uvicorn with this protocol (`http=`); the bound is the setting
`header_timeout_s` (FIELDCHECK_HEADER_TIMEOUT_S), read once per worker process."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.settings import Settings


@functools.cache
def _header_timeout_s() -> float:
    return Settings.from_env().header_timeout_s


def timeout_response(timeout_s: float) -> bytes:
    """The raw 408 answer (status line, headers, API.md error body) sent before closing."""
    reason = f"request headers not complete after {timeout_s:g} s"
    body = json.dumps({
        "status": 408, "code": "REQUEST_TIMEOUT",
        "message": f"The request headers arrived too slowly ({reason})",
        "message_zh": f"请求头传输过慢（{reason}），已中断",
        "article": None, "detail": {"reason": reason, "header_timeout_s": timeout_s},
    }, ensure_ascii=False, separators=(",", ":")).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = _header_timeout_s()
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # An earlier request of this connection is still being answered: judge the stalled
            # one once that answer is out (writing a 408 now would cut into it).
            self._arm_header_timer()
            return
        if self._request_begun:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
            self.logger.info("%s - request headers not complete after %g s: 408, closed", client,
                             self.header_timeout_s)
            self.transport.write(timeout_response(self.header_timeout_s))
        self.transport.close()

    # The connection opens: nothing received yet is bounded too.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    # A request's first byte (on a kept-alive connection the keep-alive timer stops here).
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self._request_begun = False
        super().on_headers_complete()
