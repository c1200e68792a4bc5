"""Art. 6 exam scoring for full-time inspectors: the written weight, totals, ranking and offers.

Owns the arithmetic and the order; storing candidates and recording withdrawals is the personnel
service's job. Pure and deterministic: the same candidates always give the same ranking, so a
published ranking can be recomputed and checked.

Art. 6: "考试总成绩由笔试和面试成绩按比例折算，笔试成绩原则上占考试总成绩比例不低于60%" — total =
written × w + interview × (1 − w) with w ≥ 0.6; "按照职位招聘人数1：1的比例确定拟聘用人员" — as many
offers as posts; "主动放弃或者体检、政审不合格的，按分数从高到低依次递补" — a withdrawn candidate (or
one who failed the medical or background check) is skipped and the next in score order is offered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final
from uuid import UUID

from backend.core.errors import Unprocessable, validation_error

__all__ = ["Candidate", "RankedCandidate", "rank", "require_written_weight", "total_score"]

Score = Decimal | int | float | str

MIN_WRITTEN_WEIGHT: Final = Decimal("0.6")
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str | int | UUID
    name: str
    written: Score
    interview: Score
    # Withdrew, or failed the medical or background check: never offered, still listed.
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    id: str | int | UUID
    name: str
    written: Decimal
    interview: Decimal
    total: Decimal  # rounded half-up to 2 places; ranking uses this published figure
    rank: int  # 1-based position in the ranking (withdrawn candidates keep their place)
    withdrawn: bool
    offered: bool


def _decimal(value: Score) -> Decimal | None:
    # Through str() so that 85.1 means 85.1, not its binary approximation 85.0999999999999943...
    if isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def require_written_weight(w: Score) -> Decimal:
    """The written weight as a Decimal; `422 ART6_WRITTEN_WEIGHT` unless 0.6 ≤ w ≤ 1 (Art. 6)."""
    d = _decimal(w)
    if d is None or d < MIN_WRITTEN_WEIGHT or d > 1:
        message = "The written exam must weigh at least 60% of the total and at most 100% (Art. 6)."
        raise Unprocessable(
            message,
            "笔试成绩占考试总成绩的比例不得低于60%，且不得超过100%（第六条）。",
            code="ART6_WRITTEN_WEIGHT",
            article="6",
            detail={
                "errors": [{"field": "written_weight", "code": "ART6_WRITTEN_WEIGHT", "message": message}]
            },
        )
    return d


def _score(value: Score, field: str) -> Decimal:
    d = _decimal(value)
    if d is None or d < 0:
        raise validation_error(field, "INVALID_SCORE", "must be a finite number ≥ 0", "应为不小于0的有限数值")
    return d


def total_score(written: Score, interview: Score, written_weight: Score) -> Decimal:
    """written × w + interview × (1 − w), rounded half-up to 2 places."""
    w = require_written_weight(written_weight)
    total = _score(written, "written") * w + _score(interview, "interview") * (1 - w)
    return total.quantize(_CENT, rounding=ROUND_HALF_UP)


def rank(candidates: Iterable[Candidate], posts: int, written_weight: Score) -> list[RankedCandidate]:
    """All candidates by total, highest first; the top `posts` not withdrawn are `offered`.

    Ties on the (rounded) total go to the higher written score, the written exam being the part
    Art. 6 weighs most; then by name and id, which carries no merit but keeps the order stable.
    """
    if isinstance(posts, bool) or not isinstance(posts, int) or posts < 1:
        raise validation_error("posts", "INVALID", "must be a whole number ≥ 1", "应为不小于1的整数")
    w = require_written_weight(written_weight)
    scored = []
    for c in candidates:
        written = _score(c.written, "written")
        interview = _score(c.interview, "interview")
        total = (written * w + interview * (1 - w)).quantize(_CENT, rounding=ROUND_HALF_UP)
        scored.append((c, written, interview, total))
    scored.sort(key=lambda t: (-t[3], -t[1], t[0].name, str(t[0].id)))

    out: list[RankedCandidate] = []
    offers_left = posts
    for position, (c, written, interview, total) in enumerate(scored, start=1):
        offered = not c.withdrawn and offers_left > 0
        if offered:
            offers_left -= 1
        out.append(
            RankedCandidate(
                id=c.id,
                name=c.name,
                written=written,
                interview=interview,
                total=total,
                rank=position,
                withdrawn=c.withdrawn,
                offered=offered,
            )
        )
    return out
