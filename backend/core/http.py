"""HTTP edge: the error body of API.md for every non-2xx response, request ids, JSON body limits.
Services never see Litestar; controllers call these helpers. Cursor pagination lives in
core/pagination (no Litestar)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    InternalServerException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import StatementError

from backend.core.availability import database_unavailable, is_database_unavailable
from backend.core.errors import BadRequest, DomainError

log = logging.getLogger("fieldcheck.http")


class ErrorItem(msgspec.Struct, kw_only=True):
    field: str
    code: str
    message: str


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every non-2xx response body (API.md §Conventions)."""

    status: int
    code: str
    message: str
    message_zh: str
    article: str | None
    detail: dict[str, Any]


def error_response(status: int, code: str, message: str, message_zh: str, article: str | None = None,
                   detail: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response[Any]:
    body = {
        "status": status,
        "code": code,
        "message": message,
        "message_zh": message_zh,
        "article": article,
        "detail": detail or {},
    }
    return Response(content=body, status_code=status, headers=headers, media_type="application/json")


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    headers = None
    retry = exc.detail.get("retry_after_s") if exc.detail else None
    if retry is not None:
        headers = {"Retry-After": str(int(retry))}
    return error_response(exc.http_status, exc.code, exc.message, exc.message_zh, exc.article, exc.detail, headers)


_KNOWN = {
    400: ("BAD_REQUEST", "Bad request", "请求有误"),
    401: ("UNAUTHENTICATED", "Authentication required", "需要登录"),
    403: ("FORBIDDEN", "Forbidden", "无权访问"),
    404: ("NOT_FOUND", "Not found", "未找到"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed", "不支持该请求方法"),
    413: ("TOO_LARGE", "Request body too large", "请求体过大"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "不支持的媒体类型"),
    429: ("RATE_LIMITED", "Too many requests", "请求过于频繁"),
}

_FIELD_RE = re.compile(r"`\$\.?([^`]*)`")
_MISSING_PARAM_RE = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_OWN_CHECK_RE = re.compile(r"^`([^`$]+)` (.*?)(?: - at `\$\.?([^`]*)`)?$", re.DOTALL)


def _validation_items(exc: ValidationException) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for raw in extra:
        if not isinstance(raw, dict):
            continue
        message = str(raw.get("message", "invalid value"))
        key = str(raw.get("key") or "")
        if key in {"data", ""}:
            key = ""
        own = _OWN_CHECK_RE.match(message)
        if own:
            # A check of the schema's own (core/times.ApiStruct): "`field` why - at `$.path`".
            name, why, where = own.group(1), own.group(2), own.group(3) or key
            field = f"{where}.{name}" if where else name
            code = "range" if "between" in why else "timezone_required" if "offset" in why else "invalid"
            items.append({"field": field, "code": code, "message": why})
            continue
        # msgspec puts the location inside the message ("... - at `$.team[0]`"); Litestar strips it.
        match = _FIELD_RE.search(message)
        if match and not key:
            key = match.group(1)
        low = message.lower()
        if "unknown field" in low:
            code = "unknown_field"
            unknown = re.search(r"unknown field `([^`]*)`", message)
            if unknown:
                key = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
        elif "missing required field" in low:
            code = "required"
            missing = re.search(r"required field `([^`]*)`", message)
            if missing:
                key = f"{key}.{missing.group(1)}" if key else missing.group(1)
        elif low.startswith("expected"):
            code = "type"
        else:
            code = "invalid"
        items.append({"field": key or "body", "code": code, "message": message})
    if items:
        return items
    missing = _MISSING_PARAM_RE.match(str(exc.detail))
    if missing:
        # Litestar says which parameter in the text only: name it as the field.
        kind, name = missing.group(1), missing.group(2)
        return [{"field": name, "code": "required", "message": f"required {kind} parameter"}]
    return [{"field": "body", "code": "invalid", "message": str(exc.detail)}]


def is_client_disconnect(exc: BaseException) -> bool:
    """Litestar reports an `http.disconnect` while reading the body as a 500 InternalServerException."""
    return isinstance(exc, InternalServerException) and "client disconnected" in str(exc.detail)


def http_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ValidationException):
        detail_text = str(exc.detail)
        if "malformed" in detail_text.lower() or ("json" in detail_text.lower() and "decode" in detail_text.lower()):
            return error_response(400, "MALFORMED_JSON", "Request body is not valid JSON", "请求体不是有效的 JSON")
        items = _validation_items(exc)
        return error_response(
            422, "VALIDATION_ERROR", "The request does not match the schema", "请求内容不符合要求",
            detail={"errors": items},
        )
    if is_client_disconnect(exc):
        # The client hung up (a phone losing signal mid-upload): nothing is wrong with the server
        # and nobody will read an answer. One INFO line, no traceback, no ERROR.
        log.info("client disconnected request_id=%s %s %s",
                 request.scope.get("state", {}).get("request_id"), request.method, request.url.path)
        return error_response(400, "REQUEST_INTERRUPTED", "The client disconnected before the request was read",
                              "客户端在请求读取完成前断开了连接")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 400:
            text = str(exc.detail)
            if "json" in text.lower() or "malformed" in text.lower():
                return error_response(400, "MALFORMED_JSON", "Request body is not valid JSON",
                                      "请求体不是有效的 JSON")
        if isinstance(exc, NotFoundException):
            status = 404
        elif isinstance(exc, MethodNotAllowedException):
            status = 405
        elif isinstance(exc, NotAuthorizedException):
            status = 401
        elif isinstance(exc, PermissionDeniedException):
            status = 403
        if status >= 500:
            return internal_error_handler(request, exc)
        code, message, message_zh = _KNOWN.get(status, ("HTTP_ERROR", str(exc.detail), str(exc.detail)))
        headers = dict(exc.headers or {}) if getattr(exc, "headers", None) else None
        return error_response(status, code, message, message_zh, headers=headers)
    return internal_error_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):
        # msgspec refuses JSON nested deeper than the interpreter's recursion limit: bad input.
        return error_response(400, "MALFORMED_JSON", "Request body is nested too deeply",
                              "请求体 JSON 嵌套层数过多")
    request_id = request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex
    if is_database_unavailable(exc):
        # Not a bug: the database is restarting, overloaded or locked. The client retries.
        log.warning("database unavailable request_id=%s %s %s: %s", request_id, request.method, request.url.path,
                    type(exc).__name__)
        return domain_error_handler(request, database_unavailable())
    if isinstance(exc, StatementError):
        # The log line must not carry bound parameters (password hashes, identity numbers).
        exc.hide_parameters = True
    log.error("unhandled error request_id=%s %s %s", request_id, request.method, request.url.path,
              exc_info=exc)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error; reported with its request id",
        "服务器内部错误，已记录", detail={"request_id": request_id},
    )


_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _nul_error(field: str) -> DomainError:
    return BadRequest("Text may not contain the NUL character (U+0000)", "文本不能包含空字符 (U+0000)",
                      code="VALIDATION_ERROR", status=422,
                      detail={"errors": [{"field": field, "code": "invalid",
                                          "message": "must not contain U+0000"}]})


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def require_json_body(request: Request[Any, Any, Any]) -> None:
    """415 UNSUPPORTED_MEDIA_TYPE (API.md) for a body declared as something other than JSON sent
    to an endpoint that reads a JSON body. A request without Content-Type is read as JSON (some
    HTTP stacks leave it out; replayed sync ops carry none). Uploads declare no JSON body and check
    their own multipart type."""
    content_type = request.headers.get("content-type")
    if content_type is None or not content_type.strip() or is_json_media_type(content_type):
        return
    if request.route_handler.parsed_data_field is None:
        return
    if request.headers.get("content-length") == "0":
        return
    raise BadRequest("The body must be JSON (Content-Type: application/json)",
                     "请求体须为 JSON（Content-Type: application/json）",
                     code="UNSUPPORTED_MEDIA_TYPE", status=415,
                     detail={"content_type": content_type[:200], "expected": "application/json"})


async def reject_nul_characters(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: U+0000 in a path, query or JSON body is refused up front. PostgreSQL
    cannot store it in text or JSON columns, and no field of the API has a use for it."""
    if "\x00" in request.url.path:
        raise BadRequest("Not found", "未找到", code="NOT_FOUND", status=404)
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _nul_error(f"query.{name.replace(chr(0), '')}")
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    require_json_body(request)
    if request.headers.get("content-type", "").lower().startswith(_FORM_TYPES):
        return  # uploads stream; their text fields are validated by their handlers
    body = await request.body()
    if b"\\u0000" in body and _NUL_ESCAPE.search(body):
        raise _nul_error("body")


def validation_error_items(message: str) -> list[dict[str, str]]:
    """`detail.errors` for a msgspec validation message about a request body, exactly as the HTTP
    layer words it (offline ops decode their bodies outside Litestar)."""
    # Litestar hands the location over as `key` and drops it from the message; do the same.
    text, sep, where = message.rpartition(" - at `$")
    key = where.rstrip("`").lstrip(".") if sep else ""
    extra = [{"message": text if sep else message, "key": key}]
    return _validation_items(ValidationException(detail=message, extra=extra))
