"""Request and response bodies of a person's working life: qualifications, appointments,
trainings and the training report, recruitments (Art. 6), dismissals and their public notices
(Art. 25), misconduct (Art. 26, 27) and dispatches (Art. 16)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Final, Literal, get_args

import msgspec

from backend.core.times import ApiStruct

QualificationKind = Literal["degree", "professional_title", "vocational_qualification", "registered_safety_engineer"]
AppointedRole = Literal["technical_inspector", "social_supervisor"]
Employment = Literal["full_time", "part_time"]
ContractType = Literal["labor", "service", "other"]
Route = Literal["exam", "assessment", "expert_pool", "recommendation", "invitation"]
InviteeCategory = Literal["people_congress_deputy", "cppcc_member", "lawyer", "other"]
TrainingKind = Literal["pre_job", "rotation", "special"]
DismissalReason = Literal["health", "non_performance", "discipline", "criminal", "term_expired", "other"]
WithdrawalReason = Literal["withdrawal", "failed_medical", "failed_background"]
WITHDRAWAL_REASONS = frozenset(get_args(WithdrawalReason))
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

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Note = Annotated[str, msgspec.Meta(max_length=2000)]
AgencyCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Score = Annotated[float, msgspec.Meta(ge=0, le=100)]


class Struct(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    pass


# ---------------------------------------------------------------------------------- qualifications


class QualificationCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: QualificationKind
    level: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    field: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    safety_related: bool = False


class QualificationRead(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    level: str
    field: str | None
    safety_related: bool
    created_at: datetime


class QualificationList(Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[QualificationRead]
    next_cursor: str | None = None


# ------------------------------------------------------------------------------------ appointments


class Declarations(Struct, kw_only=True, forbid_unknown_fields=True):
    """What the person declares (Art. 11). A missing key is "not declared"."""

    full_civil_capacity: bool | None = None
    criminal_record: bool | None = None
    pending_criminal_case: bool | None = None
    dismissed_from_public_office: bool | None = None
    unresolved_labor_dispute: bool | None = None
    dishonest_list: bool | None = None


class AppointmentCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    role: AppointedRole
    employment: Employment | None = None
    start_date: date
    end_date: date | None = None
    contract_type: ContractType
    route: Route
    experience_years: Annotated[float, msgspec.Meta(ge=0, le=80)] | None = None
    declarations: Declarations = msgspec.field(default_factory=Declarations)
    consents: dict[Literal["self", "employer"], bool] = msgspec.field(default_factory=dict)
    exception_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    recommended_by: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    invitee_category: InviteeCategory | None = None
    consulted: Annotated[str, msgspec.Meta(max_length=2000)] | list[
        Annotated[str, msgspec.Meta(max_length=200)]] | None = None


class AppointmentRead(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    agency_code: str
    role: str
    employment: str | None
    start_date: date
    end_date: date | None
    contract_type: str
    route: str
    experience_years: float | None
    declarations: dict[str, bool]
    consents: dict[str, bool]
    exception_reason: str | None
    recommended_by: str | None
    invitee_category: str | None
    consulted: str | None
    #: active | ended | dismissed
    status: str
    ended_on: date | None
    created_at: datetime


class AppointmentList(Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[AppointmentRead]
    next_cursor: str | None = None


# --------------------------------------------------------------------------------------- trainings


class TrainingCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: TrainingKind
    start_date: date
    days: Annotated[int, msgspec.Meta(ge=1, le=365)]
    assessment_passed: bool | None = None


class TrainingRead(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    start_date: date
    days: int
    assessment_passed: bool | None
    created_at: datetime


class TrainingList(Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[TrainingRead]
    next_cursor: str | None = None


class TrainingReportRow(Struct, kw_only=True, forbid_unknown_fields=True):
    person_id: uuid.UUID
    name: str
    agency_code: str
    agency_name: str
    employment: str | None
    status: str
    pre_job_passed: bool
    rotation_days: int
    special_days: int
    #: rotation + special in the year (Art. 14: at least 7)
    days: int
    shortfall_days: int
    compliant: bool


class TrainingReport(Struct, kw_only=True, forbid_unknown_fields=True):
    year: int
    agency_code: str
    required_days: int
    compliant_count: int
    non_compliant_count: int
    items: list[TrainingReportRow]
    next_cursor: str | None = None


# ------------------------------------------------------------------------------------ recruitments


class RecruitmentCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    agency_code: AgencyCode
    posts: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    written_weight: float
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class RecruitmentRead(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    agency_code: str
    title: str | None
    posts: int
    written_weight: float
    candidates: int
    created_at: datetime


class CandidateCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    person_id: uuid.UUID | None = None
    written: Score
    interview: Score


class CandidateRead(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    recruitment_id: uuid.UUID
    name: str
    person_id: uuid.UUID | None
    written: float
    interview: float
    total: float
    withdrawn: bool
    withdrawal_reason: str | None
    created_at: datetime


class RankingRow(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    name: str
    person_id: uuid.UUID | None
    written: float
    interview: float
    total: float
    rank: int
    withdrawn: bool
    withdrawal_reason: str | None
    offered: bool


class Ranking(Struct, kw_only=True, forbid_unknown_fields=True):
    recruitment_id: uuid.UUID
    agency_code: str
    posts: int
    written_weight: float
    items: list[RankingRow]


class WithdrawRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """`reason` is the free text API.md promises ("放弃录用", "体检不合格"), or one of the categories
    `withdrawal` | `failed_medical` | `failed_background`. `category` says the kind when the reason
    is free text (default `withdrawal`)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000,
                                        examples=["考生本人书面放弃录用", "failed_medical"])]
    category: WithdrawalReason | None = None
    note: Note | None = None

    @property
    def kind(self) -> str:
        if self.category is not None:
            return self.category
        return self.reason if self.reason in WITHDRAWAL_REASONS else "withdrawal"

    @property
    def text(self) -> str | None:
        """The free-text part: `note`, else a `reason` that is not a category name."""
        if self.note is not None:
            return self.note
        return None if self.reason in WITHDRAWAL_REASONS else self.reason


# -------------------------------------------------------------------------------------- dismissals


class DismissalCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    reason: DismissalReason
    effective_date: date
    note: Note | None = None


class ChecklistItem(Struct, kw_only=True, forbid_unknown_fields=True):
    item: str
    returned: bool
    note: str | None
    recorded_by: uuid.UUID | None
    recorded_at: datetime | None


class ChecklistUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    returned: bool
    note: Note | None = None


class DismissalRead(Struct, kw_only=True, forbid_unknown_fields=True):
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


class PublicDismissal(Struct, kw_only=True, forbid_unknown_fields=True):
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


class PublicDismissalPage(Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[PublicDismissal]
    next_cursor: str | None


class ExpiredTerm(Struct, kw_only=True, forbid_unknown_fields=True):
    appointment_id: uuid.UUID
    person_id: uuid.UUID
    end_date: date
    #: dismissed (no renewal: the person is dismissed) | ended (a renewal carries on)
    outcome: str
    dismissal_id: uuid.UUID | None


# -------------------------------------------------------------------------------------- misconduct


class MisconductCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    #: Art. 26 item: its number (1–8) or English name
    item: MisconductItemNumber | MisconductItem
    sanction: Sanction
    note: Note | None = None
    occurred_on: date | None = None
    leads_to_dismissal: bool = False
    #: Effective date of the dismissal when `leads_to_dismissal` (default: today)
    effective_date: date | None = None


class MisconductRead(Struct, kw_only=True, forbid_unknown_fields=True):
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


class MisconductList(Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[MisconductRead]
    next_cursor: str | None = None


# -------------------------------------------------------------------------------------- dispatches


class DispatchCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    person_id: uuid.UUID
    to_agency_code: AgencyCode
    start_date: date
    end_date: date


class DispatchRead(Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    from_agency_code: str
    to_agency_code: str
    start_date: date
    end_date: date
    created_by: uuid.UUID
    created_at: datetime


class DispatchPage(Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[DispatchRead]
    next_cursor: str | None
