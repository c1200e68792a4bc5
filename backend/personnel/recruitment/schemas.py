"""Request and response bodies of exam recruitments (Art. 6): recruitments, candidates, the ranking
and withdrawals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, get_args

import msgspec

from backend.core.times import ApiStruct

WithdrawalReason = Literal["withdrawal", "failed_medical", "failed_background"]
WITHDRAWAL_REASONS = frozenset(get_args(WithdrawalReason))
Note = Annotated[str, msgspec.Meta(max_length=2000)]
AgencyCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Score = Annotated[float, msgspec.Meta(ge=0, le=100)]


class RecruitmentCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    agency_code: AgencyCode
    posts: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    written_weight: float
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class RecruitmentRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    agency_code: str
    title: str | None
    posts: int
    written_weight: float
    candidates: int
    created_at: datetime


class CandidateCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    person_id: uuid.UUID | None = None
    written: Score
    interview: Score


class CandidateRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
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


class RankingRow(ApiStruct, kw_only=True, forbid_unknown_fields=True):
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


class Ranking(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    recruitment_id: uuid.UUID
    agency_code: str
    posts: int
    written_weight: float
    items: list[RankingRow]


class WithdrawRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
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
