"""The life of an inspection as a transition table — pure rules."""

from __future__ import annotations

import pytest

from backend.core.errors import DomainError
from backend.guards.inspection_status import (
    FINISHED,
    IN_PROGRESS,
    OPEN_STATUSES,
    PLANNED,
    TRANSITIONS,
    may_move,
    require_open,
    require_transition,
)


def refusal(current: str, target: str) -> tuple[int, str, dict[str, object]]:
    with pytest.raises(DomainError) as info:
        require_transition(current, target)
    return info.value.http_status, info.value.code, info.value.detail


def test_planned_then_in_progress_then_finished_and_nothing_else() -> None:
    moves = {(a, b) for a in TRANSITIONS for b in TRANSITIONS if may_move(a, b)}
    assert moves == {(PLANNED, IN_PROGRESS), (IN_PROGRESS, FINISHED)}
    require_transition(PLANNED, IN_PROGRESS)
    require_transition(IN_PROGRESS, FINISHED)


def test_starting_anything_but_a_planned_inspection_is_refused() -> None:
    for current in (IN_PROGRESS, FINISHED):
        assert refusal(current, IN_PROGRESS) == (409, "INSPECTION_NOT_PLANNED", {"status": current})


def test_finishing_anything_but_an_inspection_in_progress_is_refused() -> None:
    for current in (PLANNED, FINISHED):
        assert refusal(current, FINISHED) == (409, "INSPECTION_NOT_IN_PROGRESS", {"status": current})


def test_nothing_moves_back_to_planned() -> None:
    for current in TRANSITIONS:
        assert refusal(current, PLANNED)[:2] == (409, "INVALID_TRANSITION")


def test_presence_is_recorded_only_while_the_inspection_is_open() -> None:
    assert OPEN_STATUSES == (PLANNED, IN_PROGRESS)
    require_open(PLANNED)
    require_open(IN_PROGRESS)
    with pytest.raises(DomainError) as info:
        require_open(FINISHED)
    assert (info.value.http_status, info.value.code) == (409, "INSPECTION_FINISHED")
