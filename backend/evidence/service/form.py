"""The text fields of a photo upload, checked all at once (one 422 lists every problem), and the
received upload they arrive with: what the HTTP side (backend/evidence/upload.py) hands intake."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.core.clock import iso_utc
from backend.core.errors import Unprocessable
from backend.core.geo import to_wgs84
from backend.core.times import TimeInvalid, utc_instant

MAX_NOTE_CHARS = 4000


@dataclass
class ReceivedUpload:
    """An upload as received: the file spooled to disk (fsync'ed), its hash, the text fields and
    the problems already found with them (unknown or repeated fields)."""

    spool_path: Path
    sha256: str
    size: int
    head: bytes
    filename: str | None
    fields: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)


def invalid_fields(errors: list[dict[str, str]]) -> Unprocessable:
    """422 VALIDATION_ERROR listing `errors` ({field, code, message} each)."""
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return Unprocessable(f"{first['field']}: {first['message']}", f"{first['field']}：字段无效",
                         detail={"errors": errors})

@dataclass(frozen=True)
class IntakeForm:
    sha256: str
    captured_at: datetime
    device: tuple[float, float] | None  # WGS84
    crs: str
    accuracy_m: float | None
    note: str | None
    id: uuid.UUID | None

    def fingerprint_body(self, computed_sha256: str) -> dict[str, Any]:
        return {
            "sha256": computed_sha256, "captured_at": iso_utc(self.captured_at),
            "lon": self.device[0] if self.device else None, "lat": self.device[1] if self.device else None,
            "crs": self.crs, "accuracy_m": self.accuracy_m, "note": self.note,
            "id": str(self.id) if self.id else None,
        }


def _float(fields: dict[str, str], name: str, errors: list[dict[str, str]]) -> float | None:
    raw = fields.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        errors.append({"field": name, "code": "type", "message": "must be a number"})
        return None
    if not math.isfinite(value):
        errors.append({"field": name, "code": "type", "message": "must be a finite number"})
        return None
    return value


def parse_form(upload: ReceivedUpload, *, require_position: bool) -> IntakeForm:
    """The upload's text fields, checked all at once: one 422 VALIDATION_ERROR lists every problem."""
    fields = upload.fields
    errors = list(upload.errors)
    sha = fields.get("sha256", "").strip().lower()
    if not sha:
        errors.append({"field": "sha256", "code": "required", "message": "the SHA-256 computed on the phone"})
    elif len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        errors.append({"field": "sha256", "code": "invalid", "message": "must be 64 hex characters"})
    captured: datetime | None = None
    raw_time = fields.get("captured_at", "").strip()
    if not raw_time:
        errors.append({"field": "captured_at", "code": "required", "message": "RFC 3339 time the photo was taken"})
    else:
        try:
            captured = utc_instant(datetime.fromisoformat(raw_time))
        except TimeInvalid as exc:
            errors.append({"field": "captured_at", "code": exc.code, "message": str(exc)})
            captured = None
        except ValueError:
            errors.append({"field": "captured_at", "code": "invalid", "message": "must be an RFC 3339 time"})
    lon = _float(fields, "lon", errors)
    lat = _float(fields, "lat", errors)
    crs = (fields.get("crs") or "wgs84").strip().lower()
    device: tuple[float, float] | None = None
    if lon is None and lat is None:
        if require_position:
            for name in ("lon", "lat"):
                if not any(e["field"] == name for e in errors):
                    errors.append({"field": name, "code": "required", "message": "the device position is required"})
    elif lon is None or lat is None:
        missing = "lat" if lat is None else "lon"
        if not any(e["field"] == missing for e in errors):
            errors.append({"field": missing, "code": "required", "message": "lon and lat go together"})
    try:
        if lon is not None and lat is not None:
            device = to_wgs84(lon, lat, crs)
        else:
            to_wgs84(0.0, 0.0, crs)  # the CRS is checked even without a position
    except Unprocessable as exc:
        errors.extend(exc.detail.get("errors", []))
    accuracy = _float(fields, "accuracy_m", errors)
    if accuracy is not None and not 0 <= accuracy <= 100_000:
        errors.append({"field": "accuracy_m", "code": "range", "message": "must be between 0 and 100000"})
    note = fields.get("note")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        errors.append({"field": "note", "code": "too_long", "message": f"at most {MAX_NOTE_CHARS} characters"})
    elif note is not None and "\x00" in note:  # PostgreSQL text cannot hold U+0000
        errors.append({"field": "note", "code": "invalid", "message": "must not contain U+0000"})
    client_id: uuid.UUID | None = None
    raw_id = (fields.get("id") or "").strip()
    if raw_id:
        try:
            client_id = uuid.UUID(raw_id)
        except ValueError:
            errors.append({"field": "id", "code": "invalid", "message": "must be a UUID"})
    if errors or captured is None:
        raise invalid_fields(errors)
    return IntakeForm(sha256=sha, captured_at=captured, device=device, crs=crs,
                      accuracy_m=accuracy, note=note or None, id=client_id)


