"""The domain error tree. Services raise these; one handler (core/http.py) turns them into the
error body of API.md. No HTTP exceptions inside services."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every refusal. `code`, `status` and `article` are what the client sees."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        message_zh: str = "",
        *,
        code: str | None = None,
        article: str | None = None,
        detail: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.message_zh = message_zh or message
        self.article = article
        self.detail = detail or {}
        if status is not None:
            self.status_override: int | None = status
        else:
            self.status_override = None

    @property
    def http_status(self) -> int:
        return self.status_override or self.status


class BadRequest(DomainError):
    status = 400
    default_code = "BAD_REQUEST"


class Unauthenticated(DomainError):
    status = 401
    default_code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    status = 403
    default_code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    default_code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    default_code = "CONFLICT"


class TooLarge(DomainError):
    status = 413
    default_code = "TOO_LARGE"


class UnsupportedMediaType(DomainError):
    status = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class Unprocessable(DomainError):
    """422 with a specific code (e.g. ID_NUMBER_INVALID, NOT_ELIGIBLE)."""

    status = 422
    default_code = "VALIDATION_ERROR"


class RateLimited(DomainError):
    status = 429
    default_code = "RATE_LIMITED"


class GuardError(DomainError):
    """A refusal that rests on an article of the implementing rules (raised from backend/guards)."""


def validation_error(field: str, code: str, message: str, message_zh: str = "") -> Unprocessable:
    """A 422 VALIDATION_ERROR for one field, in the `detail.errors` shape of API.md."""
    return Unprocessable(
        f"{field}: {message}",
        message_zh or f"{field}：{message}",
        detail={"errors": [{"field": field, "code": code, "message": message}]},
    )


class InsufficientStorage(DomainError):
    """507: no room to store what was sent (the photo store's disk is full or at its reserve)."""

    status = 507
    default_code = "INSUFFICIENT_STORAGE"
