"""Art. 6 scoring: written weight, totals, ranking, 1:1 offers and filling withdrawals."""

from __future__ import annotations

import random
from decimal import Decimal
from uuid import UUID

import pytest

from backend.core.errors import Unprocessable
from backend.guards.recruitment import Candidate, RankedCandidate, rank, require_written_weight, total_score


def names(ranking: list[RankedCandidate]) -> list[str]:
    return [r.name for r in ranking]


def offered(ranking: list[RankedCandidate]) -> list[str]:
    return [r.name for r in ranking if r.offered]


# ---------------------------------------------------------------------------------------------
# Written weight
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "expected"), [(0.6, "0.6"), ("0.75", "0.75"), (1, "1"), (Decimal("0.60"), "0.60")]
)
def test_written_weight_accepted(w: object, expected: str) -> None:
    assert require_written_weight(w) == Decimal(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("w", [0.59, 0.5999999, 0, -0.6, 1.01, 2, "abc", float("nan"), float("inf"), True])
def test_written_weight_refused(w: object) -> None:
    with pytest.raises(Unprocessable) as exc:
        require_written_weight(w)  # type: ignore[arg-type]
    err = exc.value
    assert err.code == "ART6_WRITTEN_WEIGHT"
    assert err.article == "6"
    assert err.http_status == 422
    assert err.detail["errors"][0]["field"] == "written_weight"
    assert "60%" in err.message_zh


def test_float_point_six_is_not_below_point_six() -> None:
    # 0.6 as a float is 0.59999999999999997779...; converting through str keeps it at 0.6.
    assert require_written_weight(0.6) == Decimal("0.6")


# ---------------------------------------------------------------------------------------------
# Totals
# ---------------------------------------------------------------------------------------------


def test_total_formula() -> None:
    # 80 × 0.6 + 90 × 0.4 = 48 + 36 = 84
    assert total_score(80, 90, 0.6) == Decimal("84.00")
    assert total_score(80, 90, 1) == Decimal("80.00")
    assert total_score("85.5", "77.25", "0.7") == Decimal("83.03")  # 59.85 + 23.175 = 83.025 → 83.03


def test_total_rounds_half_up_exactly() -> None:
    # 70.1 × 0.65 + 80.3 × 0.35 = 45.565 + 28.105 = 73.67 exactly; floats would drift.
    assert total_score(70.1, 80.3, 0.65) == Decimal("73.67")
    # A half rounds up, not to even (banker's rounding would give 0.00 and 80.02).
    assert total_score("0.005", "0", "1") == Decimal("0.01")
    assert total_score("80.025", "0", "1") == Decimal("80.03")
    # 60.0125 × 0.6 + 60 × 0.4 = 36.0075 + 24 = 60.0075 → 60.01
    assert total_score("60.0125", "60", "0.6") == Decimal("60.01")


@pytest.mark.parametrize(("written", "interview"), [(-1, 80), (80, float("nan")), ("x", 80), (80, None)])
def test_bad_scores_refused(written: object, interview: object) -> None:
    with pytest.raises(Unprocessable) as exc:
        total_score(written, interview, 0.6)  # type: ignore[arg-type]
    assert exc.value.code == "VALIDATION_ERROR"


# ---------------------------------------------------------------------------------------------
# Ranking and offers
# ---------------------------------------------------------------------------------------------

POOL = [
    Candidate("c1", "Zhao", 80, 90),  # 84.00
    Candidate("c2", "Qian", 90, 60),  # 78.00
    Candidate("c3", "Sun", 70, 95),  # 80.00
    Candidate("c4", "Li", 85, 85),  # 85.00
    Candidate("c5", "Zhou", 60, 100),  # 76.00
]


def test_rank_orders_by_total_and_offers_one_to_one() -> None:
    ranking = rank(POOL, posts=2, written_weight=0.6)
    assert names(ranking) == ["Li", "Zhao", "Sun", "Qian", "Zhou"]
    assert [r.total for r in ranking] == [Decimal(x) for x in ("85.00", "84.00", "80.00", "78.00", "76.00")]
    assert [r.rank for r in ranking] == [1, 2, 3, 4, 5]
    assert offered(ranking) == ["Li", "Zhao"]


def test_weight_changes_the_order() -> None:
    # With the written exam at 100 %, Qian's 90 beats Li's 85.
    ranking = rank(POOL, posts=1, written_weight=1)
    assert names(ranking)[:2] == ["Qian", "Li"]
    assert offered(ranking) == ["Qian"]


def test_withdrawal_is_filled_by_the_next_in_score_order() -> None:
    pool = [c if c.name != "Zhao" else Candidate("c1", "Zhao", 80, 90, withdrawn=True) for c in POOL]
    ranking = rank(pool, posts=2, written_weight=0.6)
    # Zhao keeps the place but is not offered; Sun, next in order, is.
    assert names(ranking) == ["Li", "Zhao", "Sun", "Qian", "Zhou"]
    assert offered(ranking) == ["Li", "Sun"]
    zhao = ranking[1]
    assert zhao.withdrawn
    assert not zhao.offered


def test_successive_withdrawals() -> None:
    pool = [Candidate(c.id, c.name, c.written, c.interview, withdrawn=c.name in {"Li", "Sun"}) for c in POOL]
    assert offered(rank(pool, posts=2, written_weight=0.6)) == ["Zhao", "Qian"]


def test_more_posts_than_candidates() -> None:
    pool = [*POOL[:2], Candidate("c9", "Wu", 50, 50, withdrawn=True)]
    ranking = rank(pool, posts=10, written_weight=0.6)
    assert offered(ranking) == ["Zhao", "Qian"]
    assert len(ranking) == 3


def test_empty_pool() -> None:
    assert rank([], posts=3, written_weight=0.6) == []


def test_tie_on_total_goes_to_higher_written_score() -> None:
    # Both total 80.00 at w = 0.6: 80×0.6+80×0.4 and 90×0.6+65×0.4.
    pool = [Candidate("a", "Aaa", 80, 80), Candidate("b", "Bbb", 90, 65)]
    ranking = rank(pool, posts=1, written_weight=0.6)
    assert [r.total for r in ranking] == [Decimal("80.00"), Decimal("80.00")]
    assert names(ranking) == ["Bbb", "Aaa"]
    assert offered(ranking) == ["Bbb"]


def test_tie_uses_the_rounded_total() -> None:
    # 80.004 vs 80.000 both publish as 80.00; the higher written score wins, not the hidden 0.004.
    pool = [Candidate("a", "A", "80.01", "79.995"), Candidate("b", "B", "80.02", "79.97")]
    ranking = rank(pool, posts=1, written_weight=0.6)
    assert [r.total for r in ranking] == [Decimal("80.00"), Decimal("80.00")]
    assert names(ranking) == ["B", "A"]


def test_full_tie_broken_by_name_then_id() -> None:
    pool = [
        Candidate("z", "Wang", 80, 80),
        Candidate("a", "Wang", 80, 80),
        Candidate("m", "Chen", 80, 80),
    ]
    ranking = rank(pool, posts=1, written_weight=0.6)
    assert [(r.name, r.id) for r in ranking] == [("Chen", "m"), ("Wang", "a"), ("Wang", "z")]
    assert offered(ranking) == ["Chen"]


def test_ranking_is_independent_of_input_order() -> None:
    pool = [*POOL, Candidate("c6", "Wu", 80, 90), Candidate("c7", "Zheng", 85, 85, withdrawn=True)]
    expected = rank(pool, posts=3, written_weight="0.65")
    rng = random.Random(6)
    for _ in range(20):
        shuffled = pool[:]
        rng.shuffle(shuffled)
        assert rank(shuffled, posts=3, written_weight="0.65") == expected


def test_ranked_fields_and_id_types() -> None:
    uid = UUID("12345678-1234-5678-1234-567812345678")
    [r] = rank([Candidate(uid, "Li", 85.5, 70)], posts=1, written_weight=0.6)
    assert r == RankedCandidate(
        id=uid,
        name="Li",
        written=Decimal("85.5"),
        interview=Decimal("70"),
        total=Decimal("79.30"),
        rank=1,
        withdrawn=False,
        offered=True,
    )


def test_rank_checks_weight_and_posts() -> None:
    with pytest.raises(Unprocessable) as exc:
        rank(POOL, posts=2, written_weight=0.5)
    assert exc.value.code == "ART6_WRITTEN_WEIGHT"
    for posts in (0, -1, True, 1.5):
        with pytest.raises(Unprocessable) as exc:
            rank(POOL, posts=posts, written_weight=0.6)  # type: ignore[arg-type]
        assert exc.value.detail["errors"][0]["field"] == "posts"


def test_rank_refuses_bad_candidate_scores() -> None:
    with pytest.raises(Unprocessable) as exc:
        rank([Candidate("x", "X", 80, -5)], posts=1, written_weight=0.6)
    assert exc.value.detail["errors"][0]["field"] == "interview"
