"""The HTTP side of a photo upload: a multipart/form-data body streamed to a temp file in the data
directory while it is hashed, never more than ~1 MiB of it in memory, and parsed with
python-multipart. What it yields (`ReceivedUpload`: the spooled file, its hash, the text fields)
is handed to the service (backend/evidence/service/intake.py), which knows nothing of HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from backend.core.errors import BadRequest, TooLarge, Unprocessable, UnsupportedMediaType
from backend.evidence.service.form import ReceivedUpload, invalid_fields
from backend.evidence.storage import EvidenceStore, SpoolFile

#: Body bytes gathered on the event loop before one off-loop step parses, writes and hashes them.
FEED_BYTES = 1 << 20
#: The form fields around the file are small; the body may exceed the file by this much.
BODY_SLACK = 256 * 1024
MAX_FIELD_BYTES = 16 * 1024
MAX_PARTS = 32
FIELDS = ("file", "sha256", "captured_at", "lon", "lat", "crs", "accuracy_m", "note", "id")


def _malformed(reason: str) -> BadRequest:
    return BadRequest(f"Malformed multipart/form-data body: {reason}", f"multipart/form-data 请求体格式错误：{reason}",
                      code="MALFORMED_MULTIPART", detail={"reason": reason})


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"The photo exceeds the upload limit of {limit} bytes", f"照片超过上传大小上限（{limit} 字节）",
                    detail={"max_bytes": limit})


def check_declared_length(content_length: str | None, max_file_bytes: int) -> None:
    """Refuse a body announced too large before reading a byte of it."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise BadRequest("Invalid Content-Length", "Content-Length 无效") from None
    if declared > max_file_bytes + BODY_SLACK:
        raise _too_large(max_file_bytes)


class _FormSink:
    """python-multipart callbacks: file data goes to a SpoolFile (disk + SHA-256), fields to memory.
    Runs in a worker thread, one `feed` per ~1 MiB of body."""

    def __init__(self, store: EvidenceStore, max_file_bytes: int) -> None:
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.spool: SpoolFile | None = None
        self.fields: dict[str, str] = {}
        self.errors: list[dict[str, str]] = []
        self.filename: str | None = None
        self.parts = 0
        self.ended = False
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._buf = bytearray()
        self._skip = False

    def callbacks(self) -> Any:  # python-multipart's MultipartCallbacks (a TypedDict)
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._hname.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._hvalue.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _error(self, name: str, code: str, message: str) -> None:
        self.errors.append({"field": name, "code": code, "message": message})

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        self._headers = {}
        self._name = None
        self._is_file = False
        self._skip = False
        self._buf = bytearray()

    def _header_end(self) -> None:
        self._headers[bytes(self._hname).strip().lower()] = bytes(self._hvalue).strip()
        self._hname = bytearray()
        self._hvalue = bytearray()

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition")
        if disposition is None:
            raise _malformed("a part has no Content-Disposition")
        _, params = parse_options_header(disposition)
        raw_name = params.get(b"name")
        if raw_name is None:
            raise _malformed("a part has no name")
        name = raw_name.decode("utf-8", "replace")
        self._name = name
        if name not in FIELDS:
            self._error(name, "unknown_field", "unknown field")
            self._skip = True
        elif name == "file":
            if self.spool is not None:
                self._error("file", "duplicate", "only one file per upload")
                self._skip = True
                return
            self._is_file = True
            filename = params.get(b"filename")
            self.filename = filename.decode("utf-8", "replace")[:200] if filename else None
            self.spool = self.store.open_upload()
        elif name in self.fields:
            self._error(name, "duplicate", "given more than once")
            self._skip = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._skip:
            return
        if self._is_file:
            assert self.spool is not None
            if self.spool.size + (end - start) > self.max_file_bytes:
                raise _too_large(self.max_file_bytes)
            self.spool.write([data[start:end]])
            return
        self._buf.extend(data[start:end])
        if len(self._buf) > MAX_FIELD_BYTES:
            raise _too_large_field(self._name or "?")

    def _part_end(self) -> None:
        if self._skip or self._is_file or self._name is None:
            return
        try:
            self.fields[self._name] = bytes(self._buf).decode("utf-8")
        except UnicodeDecodeError:
            self._error(self._name, "encoding", "must be UTF-8 text")

    def _end(self) -> None:
        self.ended = True

    def feed(self, parser: MultipartParser, chunks: list[bytes]) -> None:
        try:
            for chunk in chunks:
                parser.write(chunk)
        except FormParserError as exc:
            raise _malformed(str(exc)[:200]) from exc

    def finish(self, parser: MultipartParser, chunks: list[bytes]) -> ReceivedUpload:
        self.feed(parser, chunks)
        try:
            parser.finalize()
        except FormParserError as exc:
            raise _malformed(str(exc)[:200]) from exc
        if not self.ended:
            raise _malformed("the body ends before the closing boundary")
        if self.spool is None:
            raise invalid_fields([*self.errors,
                                  {"field": "file", "code": "required", "message": "a photo is required"}])
        sha = self.spool.finish()
        return ReceivedUpload(spool_path=self.spool.path, sha256=sha, size=self.spool.size, head=self.spool.head,
                              filename=self.filename, fields=self.fields, errors=self.errors)

    def abort(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.store.discard(self.spool.path)


def _too_large_field(name: str) -> Unprocessable:
    return invalid_fields([{"field": name, "code": "too_long", "message": f"at most {MAX_FIELD_BYTES} bytes"}])


def _check_body_size(total: int, max_body: int, max_file_bytes: int) -> None:
    if total > max_body:
        raise _too_large(max_file_bytes)


async def receive_upload(chunks: AsyncIterator[bytes], *, content_type: str | None, content_length: str | None,
                         store: EvidenceStore, max_file_bytes: int) -> ReceivedUpload:
    """Stream a multipart/form-data body to a temp file in the data directory, hashing as it
    goes; never more than ~1 MiB of it in memory. Refuses (and cleans up) what is too large
    (413), not multipart (415) or malformed (400 MALFORMED_MULTIPART)."""
    ctype, params = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise UnsupportedMediaType("Send the photo as multipart/form-data", "请以 multipart/form-data 格式上传照片",
                                   detail={"expected": "multipart/form-data"})
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed("no boundary in Content-Type")
    check_declared_length(content_length, max_file_bytes)
    # Refuse (507) before reading a byte when the photo would not fit above the reserve.
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    await anyio.to_thread.run_sync(store.check_room, declared)
    max_body = max_file_bytes + BODY_SLACK
    sink = _FormSink(store, max_file_bytes)
    try:
        try:
            parser = MultipartParser(boundary, callbacks=sink.callbacks())
        except (FormParserError, ValueError) as exc:
            raise _malformed("bad boundary") from exc
        pending: list[bytes] = []
        pending_bytes = 0
        total = 0
        async for chunk in chunks:
            if not chunk:
                continue
            total += len(chunk)
            _check_body_size(total, max_body, max_file_bytes)
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= FEED_BYTES:
                await anyio.to_thread.run_sync(sink.feed, parser, pending)
                pending, pending_bytes = [], 0
        return await anyio.to_thread.run_sync(sink.finish, parser, pending)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(sink.abort)
        raise


