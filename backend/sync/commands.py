"""The registry of offline commands: the allowlist of what a phone may record in the field and send
through /sync later. Each entry maps `(method, path pattern)` of the HTTP contract to the same
msgspec Struct and the same command function as its endpoint; anything not listed here is refused
per op with OP_NOT_ALLOWED_OFFLINE. A new endpoint is therefore never usable offline by accident."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from backend.core.idempotency import Outcome
from backend.evidence import commands as evidence
from backend.evidence.schemas import EvidenceDeclare
from backend.incidents import commands as incidents
from backend.incidents.schemas import ActionCreate, IncidentCreate
from backend.inspections import commands as inspections
from backend.inspections.schemas import (
    CheckInCreate,
    CheckOutCreate,
    CorrectionCreate,
    CredentialDisplayCreate,
    DocumentCreate,
    DocumentUpdate,
    FindingCreate,
    SignatureCreate,
)
from backend.personnel.training import commands as personnel
from backend.personnel.training.schemas import TrainingCreate
from backend.supervision import commands as supervision
from backend.supervision.schemas import SubmissionCreate

API_PREFIX = "/api/v1/"


@dataclass(frozen=True, slots=True)
class OfflineCommand:
    method: str
    #: Path below /api/v1/, e.g. "inspections/{}/check-ins"; each `{}` is a UUID path parameter.
    pattern: str
    #: The request body's Struct (None: the endpoint takes no body).
    body: type[Any] | None
    #: The endpoint's command function: (ctx, *uuid path parameters[, body]) -> Outcome.
    run: Callable[..., Awaitable[Outcome]]
    #: (caller, path parameters, raw body) -> the op's ledger fingerprint, when it is not the
    #: request as sent (a photo's metadata op: the same as its upload's, see sync/ledger.py).
    fingerprint: Callable[[str, tuple[uuid.UUID, ...], Any], str] | None = None

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.split("/"))


COMMANDS: tuple[OfflineCommand, ...] = (
    OfflineCommand("POST", "inspections/{}/check-ins", CheckInCreate, inspections.check_in),
    OfflineCommand("POST", "inspections/{}/check-outs", CheckOutCreate, inspections.check_out),
    OfflineCommand("POST", "inspections/{}/credential-displays", CredentialDisplayCreate,
                   inspections.credential_display),
    OfflineCommand("POST", "inspections/{}/start", None, inspections.start),
    OfflineCommand("POST", "inspections/{}/finish", None, inspections.finish),
    OfflineCommand("POST", "inspections/{}/findings", FindingCreate, inspections.add_finding),
    OfflineCommand("POST", "inspections/{}/documents", DocumentCreate, inspections.create_document),
    OfflineCommand("PUT", "documents/{}", DocumentUpdate, inspections.update_document),
    OfflineCommand("POST", "documents/{}/corrections", CorrectionCreate, inspections.correct_document),
    OfflineCommand("POST", "documents/{}/signatures", SignatureCreate, inspections.sign),
    OfflineCommand("POST", "inspections/{}/evidence", EvidenceDeclare, evidence.declare_photo,
                   evidence.declare_fingerprint),
    OfflineCommand("POST", "incidents", IncidentCreate, incidents.report),
    OfflineCommand("POST", "incidents/{}/actions", ActionCreate, incidents.add_action),
    OfflineCommand("POST", "supervision/submissions", SubmissionCreate, supervision.submit),
    OfflineCommand("POST", "people/{}/trainings", TrainingCreate, personnel.add_training),
)

#: (method, number of segments) → candidates, so matching a path costs a couple of comparisons.
_BY_SHAPE: dict[tuple[str, int], list[OfflineCommand]] = {}
for _cmd in COMMANDS:
    _BY_SHAPE.setdefault((_cmd.method, len(_cmd.segments)), []).append(_cmd)


@dataclass(frozen=True, slots=True)
class Match:
    command: OfflineCommand
    params: tuple[uuid.UUID, ...]


class NotAllowed(Exception):
    """The path names no offline command (or a malformed id inside one)."""


def match(method: str, path: str) -> Match:
    """The command an op's (method, path) names; raises NotAllowed otherwise. A trailing slash is
    accepted as the HTTP router accepts it; query strings are not part of any command."""
    if not path.startswith(API_PREFIX) or "?" in path or "#" in path:
        raise NotAllowed(path)
    segments = path[len(API_PREFIX):].rstrip("/").split("/")
    for cmd in _BY_SHAPE.get((method, len(segments)), ()):
        params: list[uuid.UUID] = []
        for want, got in zip(cmd.segments, segments, strict=True):
            if want == "{}":
                try:
                    params.append(uuid.UUID(got))
                except ValueError:
                    break
            elif want != got:
                break
        else:
            return Match(cmd, tuple(params))
    raise NotAllowed(path)
