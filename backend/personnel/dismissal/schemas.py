"""Request and response bodies of dismissals, their public notices and equipment checklists
(Art. 25), lapsed terms, and misconduct records (Art. 26, 27)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Final, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct

DismissalReason = Literal["health", "non_performance", "discipline", "criminal", "term_expired", "other"]
ChecklistItemName = Literal["credential_card", "protective_equipment", "technical_equipment"]
Sanction = Literal["warning", "criticism", "self_examination", "discipline",
                   "transfer_to_discipline_inspection", "transfer_to_judicial"]

#: Art. 26 items (一)–(八), in the order of the text; `item` accepts the number or the name.
MISCONDUCT_ITEMS: Final[dict[str, tuple[int, str]]] = {
    "exceeding_authority": (1, "超越职权，违反规定履行职责，造成严重后果或者恶劣社会影响的"),
    "serious_dereliction": (2, "在开展现场执法检查、复查和调查取证工作中严重失职，致使未能正确作出行政执法决定的"),
    "abusive_conduct": (3, "对执法对象态度蛮横、行为粗暴、故意刁难或者吃拿卡要的"),
    "abuse_of_position": (4, "利用工作之便为本人或者他人谋取不正当利益的"),
    "credential_misuse": (5, "擅自转借、赠送、出租、抵押、转卖工作证件的"),
    "leaking_confidential": (6, "泄露、扩散或者打探、窃取有关执法工作尚未公开事项或者其他应当保密的内容的"),
    "refusing_handover": (7, "解聘后拒不办理工作交接手续的"),
    "other_violation": (8, "有其他违规违纪违法行为的"),
}
MisconductItem = Literal["exceeding_authority", "serious_dereliction", "abusive_conduct", "abuse_of_position",
                         "credential_misuse", "leaking_confidential", "refusing_handover", "other_violation"]
MisconductItemNumber = Annotated[int, msgspec.Meta(ge=1, le=len(MISCONDUCT_ITEMS))]
Note = Annotated[str, msgspec.Meta(max_length=2000)]


class DismissalCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    reason: DismissalReason
    effective_date: date
    note: Note | None = None


class ChecklistItem(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    item: str
    returned: bool
    note: str | None
    recorded_by: uuid.UUID | None
    recorded_at: datetime | None


class ChecklistUpdate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    returned: bool
    note: Note | None = None


class DismissalRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    name: str
    agency_code: str
    reason: str
    effective_date: date
    note: str | None
    misconduct_id: uuid.UUID | None
    ended_appointment_ids: list[uuid.UUID]
    revoked_credential_ids: list[uuid.UUID]
    published_at: datetime
    checklist: list[ChecklistItem]
    checklist_complete: bool
    created_by: str
    created_at: datetime


class PublicDismissal(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """A public notice (部门公示): nothing that identifies beyond name and credential numbers."""

    id: uuid.UUID
    name: str
    role: str
    credential_numbers: list[str]
    agency_code: str
    agency_name: str
    effective_date: date
    reason: str
    published_at: datetime


class PublicDismissalPage(Page[PublicDismissal], kw_only=True, forbid_unknown_fields=True):
    items: list[PublicDismissal]


class ExpiredTerm(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    appointment_id: uuid.UUID
    person_id: uuid.UUID
    end_date: date
    #: dismissed (no renewal: the person is dismissed) | ended (a renewal carries on)
    outcome: str
    dismissal_id: uuid.UUID | None




class MisconductCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    #: Art. 26 item: its number (1–8) or English name
    item: MisconductItemNumber | MisconductItem
    sanction: Sanction
    note: Note | None = None
    occurred_on: date | None = None
    leads_to_dismissal: bool = False
    #: Effective date of the dismissal when `leads_to_dismissal` (default: today)
    effective_date: date | None = None


class MisconductRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    item: str
    item_number: int
    item_text_zh: str
    article: str
    sanction: str
    note: str | None
    occurred_on: date | None
    leads_to_dismissal: bool
    dismissal_id: uuid.UUID | None
    dismissal: DismissalRead | None
    created_at: datetime


class MisconductList(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    items: list[MisconductRead]
    next_cursor: str | None = None
