"""An offline field day as three phones queue it: two officers and a full-time technical inspector
at one inspection. Each phone's ops are built the way the app builds them offline: client ids for
everything it creates, `$op:` references, document hashes computed on the phone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from backend.inspections.documents import content_sha256
from backend.inspections.models import CheckIn, CredentialDisplay, Document, Finding, Signature
from backend.sync.models import SyncOp
from tests.inspections.helpers import CERTS, RECORD, position, signature_png

SHOWN_TO = {"name": "李厂长", "role": "企业负责人"}
CONTENT = {"place": "储罐区", "findings": ["消防通道堵塞", "储罐区未设可燃气体报警"]}


def op(path: str, body: dict[str, Any] | None = None, method: str = "POST", recorded_at: str | None = None,
       op_id: str | None = None) -> dict[str, Any]:
    return {"op_id": op_id or str(uuid.uuid4()), "method": method, "path": path, "body": body,
            "recorded_at": recorded_at or "2026-11-20T09:30:00+08:00"}


@dataclass
class FieldDay:
    iid: str
    when: str
    ft_qr: str
    doc_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def doc_sha(self) -> str:
        return content_sha256(RECORD, uuid.UUID(self.iid), 1, CONTENT)

    def _presence(self, who: str, display: dict[str, Any]) -> list[dict[str, Any]]:
        base = f"/api/v1/inspections/{self.iid}"
        return [
            op(f"{base}/check-ins", {"id": str(uuid.uuid4()), "position": position(dx_m=20), "at": self.when}),
            op(f"{base}/credential-displays", {"id": str(uuid.uuid4()), **display, "shown_to": SHOWN_TO,
                                               "position": position(), "at": self.when}),
        ]

    def _sign(self, role: str, **extra: Any) -> dict[str, Any]:
        return op(f"/api/v1/documents/{self.doc_id}/signatures", {
            "id": str(uuid.uuid4()), "signer_role": role, "image_png": signature_png(),
            "content_sha256": self.doc_sha, "position": position(), "at": self.when, **extra})

    def officer2_morning(self) -> list[dict[str, Any]]:
        return self._presence("sy.officer2", {"enforcement_certificate_number": CERTS["sy.officer2"]})

    def officer1(self) -> list[dict[str, Any]]:
        base = f"/api/v1/inspections/{self.iid}"
        finding = op(f"{base}/findings", {"id": str(uuid.uuid4()), "description": "消防通道堵塞",
                                          "hazard_level": "general", "position": position(10, 10)})
        document = op(f"{base}/documents", {"id": self.doc_id, "type": RECORD, "content": CONTENT})
        # The signature names the document by its op (as the app does when it has no id to hand).
        sign = self._sign("officer")
        sign["path"] = f"/api/v1/documents/$op:{document['op_id']}/signatures"
        return [*self._presence("sy.officer1", {"enforcement_certificate_number": CERTS["sy.officer1"]}),
                op(f"{base}/start"), finding, document, sign,
                self._sign("enterprise_representative", signer_name="李厂长")]

    def inspector(self) -> list[dict[str, Any]]:
        base = f"/api/v1/inspections/{self.iid}"
        return [
            *self._presence("sy.inspector.ft", {"qr_text": self.ft_qr}),
            op(f"{base}/findings", {"id": str(uuid.uuid4()), "description": "储罐区未设可燃气体报警",
                                    "hazard_level": "major"}),
            # Art. 13: an inspector may not issue a decision. Refused inside the batch...
            op(f"{base}/documents", {"id": str(uuid.uuid4()), "type": "rectification_order",
                                     "content": {"order": "限期整改"}}),
            # ...and the ops after it still apply.
            self._sign("technical_inspector"),
        ]

    def officer2_evening(self) -> list[dict[str, Any]]:
        return [self._sign("officer")]

    def phones(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(who, ops) in the order the phones come back online."""
        return [("sy.officer2", self.officer2_morning()), ("sy.officer1", self.officer1()),
                ("sy.inspector.ft", self.inspector()), ("sy.officer2", self.officer2_evening())]


async def effects(maker: Any, iid: str) -> dict[str, int]:
    """How many of each effect the inspection has, and the ledger rows."""
    inspection = uuid.UUID(iid)
    async with maker() as s:
        async def n(stmt: Any) -> int:
            return int((await s.execute(stmt)).scalar_one())

        return {
            "check_ins": await n(select(func.count()).select_from(CheckIn).where(CheckIn.inspection_id == inspection)),
            "displays": await n(select(func.count()).select_from(CredentialDisplay)
                                .where(CredentialDisplay.inspection_id == inspection)),
            "findings": await n(select(func.count()).select_from(Finding).where(Finding.inspection_id == inspection)),
            "documents": await n(select(func.count()).select_from(Document)
                                 .where(Document.inspection_id == inspection)),
            "signatures": await n(select(func.count()).select_from(Signature).join(Document)
                                  .where(Document.inspection_id == inspection)),
            "ops": await n(select(func.count()).select_from(SyncOp)),
        }
