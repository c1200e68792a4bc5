"""What an offline op is, apart from running it: its outcome and stored result, the error body it
answers, `$op:` references between ops of a batch, and the checks and decoding of its body before it
runs (the sync service runs it)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from backend.core.errors import Conflict, DomainError, TooLarge, Unprocessable
from backend.core.http import validation_error_items
from backend.sync import commands
from backend.sync.models import SyncOp
from backend.sync.schemas import SyncOpIn

MAX_OPS = 500

INTERNAL_BODY = {"status": 500, "code": "INTERNAL_ERROR", "message": "Internal error", "message_zh": "服务器内部错误",
             "article": None, "detail": {}}

_REF_RE = re.compile(r"\$op:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


@dataclass(frozen=True, slots=True)
class OpOutcome:
    op_id: uuid.UUID
    status: int
    body: Any
    replayed: bool


@dataclass(frozen=True, slots=True)
class Stored:
    """What the ledger holds for an op (the row, or what this batch just wrote)."""

    caller: str
    fingerprint: str
    status: int
    body: Any

    @classmethod
    def of(cls, row: SyncOp) -> Stored:
        return cls(row.caller, row.request_sha256, row.status_code, row.response)


def error_body(exc: DomainError) -> dict[str, Any]:
    """The API error body (API.md §Conventions), as the direct call would have answered."""
    return {"status": exc.http_status, "code": exc.code, "message": exc.message, "message_zh": exc.message_zh,
            "article": exc.article, "detail": exc.detail}


def idempotency_key(op_id: uuid.UUID) -> str:
    """The Idempotency-Key a direct upload belonging to an op carries."""
    return f"op:{op_id}"


def conflict_body(op_id: uuid.UUID) -> dict[str, Any]:
    return error_body(Conflict("This op_id was already used for a different request",
                               "该操作编号已用于另一个不同的请求", code="ID_CONFLICT", detail={"op_id": str(op_id)}))


def not_allowed(method: str, path: str) -> DomainError:
    return DomainError(
        "This request cannot be recorded offline; send it directly when online",
        "该操作不能离线记录，请联网后直接提交", code="OP_NOT_ALLOWED_OFFLINE", status=403,
        detail={"method": method, "path": path})


class DependencyPending(Exception):
    def __init__(self, ref: uuid.UUID) -> None:
        super().__init__(str(ref))
        self.ref = ref


def references(value: Any, found: set[uuid.UUID]) -> None:
    if isinstance(value, str):
        if "$op:" in value:
            found.update(uuid.UUID(m) for m in _REF_RE.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            references(item, found)
    elif isinstance(value, list):
        for item in value:
            references(item, found)


def substitute(value: Any, ids: dict[uuid.UUID, str]) -> Any:
    if isinstance(value, str):
        return _REF_RE.sub(lambda m: ids[uuid.UUID(m.group(1))], value) if "$op:" in value else value
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    return value


def validate(ops: Sequence[SyncOpIn]) -> None:
    if len(ops) > MAX_OPS:
        raise TooLarge(f"At most {MAX_OPS} ops per sync call; send the rest in another call",
                       f"每次同步最多 {MAX_OPS} 个操作，其余请分批发送",
                       detail={"reason": "too_many_ops", "max_ops": MAX_OPS, "ops": len(ops)})
    errors = [{"field": f"ops[{i}].recorded_at", "code": "timezone", "message": "needs a UTC offset"}
              for i, op in enumerate(ops) if op.recorded_at.tzinfo is None]
    if errors:
        raise Unprocessable("recorded_at needs a UTC offset", "recorded_at 须带时区偏移", detail={"errors": errors})


def decode(command: commands.OfflineCommand, body: Any) -> Any:
    """The op's body as the endpoint's Struct, with the endpoint's validation errors."""
    if command.body is None:
        if body not in (None, {}):
            raise Unprocessable("The request does not match the schema", "请求内容不符合要求", code="VALIDATION_ERROR",
                                detail={"errors": [{"field": "body", "code": "unknown_field",
                                                    "message": "this request takes no body"}]})
        return None
    if body is None:
        raise Unprocessable("The request does not match the schema", "请求内容不符合要求", code="VALIDATION_ERROR",
                            detail={"errors": [{"field": "body", "code": "required", "message": "body required"}]})
    try:
        # Through JSON, so that strings become datetimes, UUIDs and enums exactly as on the wire.
        return msgspec.json.decode(msgspec.json.encode(body), type=command.body)
    except msgspec.ValidationError as exc:
        raise Unprocessable("The request does not match the schema", "请求内容不符合要求", code="VALIDATION_ERROR",
                            detail={"errors": validation_error_items(str(exc))}) from exc
