"""Response Structs of the seal authority's public endpoint."""

from __future__ import annotations

from datetime import datetime

from backend.core.times import ApiStruct


class CertificateRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    kind: str
    agency_code: str | None
    key_kid: str
    issuer_kid: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime
    pem: str


class CertificateSet(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    #: Trust anchors: import one into a PDF reader to see documents' seals as trusted.
    roots: list[CertificateRead]
    #: Every agency seal certificate ever issued (the PDFs carry theirs too).
    seals: list[CertificateRead]
