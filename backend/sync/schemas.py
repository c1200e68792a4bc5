"""Request and response bodies of offline sync."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.core.times import ApiStruct


class SyncOpIn(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """One request the phone made while offline, replayed as if sent directly."""

    op_id: uuid.UUID
    method: Literal["POST", "PUT"]
    #: "/api/v1/..." without query string. May name an earlier op's result as `$op:<op_id>`
    #: (replaced by that op's created `id`), e.g. "/api/v1/inspections/$op:<uuid>/check-ins".
    path: Annotated[str, msgspec.Meta(min_length=8, max_length=500)]
    #: The JSON body of the request; null or absent for endpoints without one. String values
    #: "$op:<op_id>" are replaced by the `id` of that earlier op's result.
    body: dict[str, Any] | None = None
    #: When the act happened on the phone (RFC 3339 with an offset); kept beside the server's time.
    recorded_at: datetime


class SyncRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    ops: list[SyncOpIn]


class SyncResult(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    op_id: uuid.UUID
    #: What the direct call answered (201, 200, 403, 409, ...); the first answer again on a replay.
    status: int
    #: The direct call's response body (the API error body for a refusal).
    body: Any
    #: True when this op_id had been applied before and this is its stored first result.
    replayed: bool


class SyncResponse(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    results: list[SyncResult]


class SyncOpRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    op_id: uuid.UUID
    #: applied: the answer is final; awaiting_upload: a photo's metadata op whose file has not
    #: arrived yet (upload it with Idempotency-Key: op:<op_id>). "pending" is no longer used.
    state: Literal["pending", "applied", "awaiting_upload"]
    device_id: str
    method: str
    path: str
    status: int | None
    body: Any
    recorded_at: datetime
    applied_at: datetime | None
