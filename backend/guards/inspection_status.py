"""The life of an inspection as a transition table: planned → in_progress → finished, nothing
else. Starting and finishing are the only moves (who may make them and when is article13's:
officers only, two officers ready to start); check-ins, displays and other presence records are
taken while the inspection is still open (planned or in progress). Pure: no database."""

from __future__ import annotations

from typing import Final

from backend.core.errors import Conflict

PLANNED: Final = "planned"
IN_PROGRESS: Final = "in_progress"
FINISHED: Final = "finished"

#: Each status and the statuses it may move to.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PLANNED: frozenset({IN_PROGRESS}),
    IN_PROGRESS: frozenset({FINISHED}),
    FINISHED: frozenset(),
}
#: Statuses with a move left: the inspection is still open for presence records.
OPEN_STATUSES: Final = tuple(status for status, targets in TRANSITIONS.items() if targets)

#: The refusal of a move into each target, as API.md names it.
_REFUSALS: Final[dict[str, tuple[str, str, str]]] = {
    IN_PROGRESS: ("INSPECTION_NOT_PLANNED", "Only a planned inspection can start", "仅计划中的检查可以开始"),
    FINISHED: ("INSPECTION_NOT_IN_PROGRESS", "Only an inspection in progress can finish", "仅进行中的检查可以结束"),
}


def may_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def require_transition(current: str, target: str) -> None:
    """409 with the target's code when the table has no move from `current` to `target`."""
    if may_move(current, target):
        return
    code, message, message_zh = _REFUSALS.get(
        target, ("INVALID_TRANSITION", f"An inspection cannot move from {current} to {target}", "检查状态不能如此变更"))
    raise Conflict(message, message_zh, code=code, detail={"status": current})


def require_open(status: str) -> None:
    """Presence records (check-in, check-out, displays) only while the inspection is open."""
    if status not in OPEN_STATUSES:
        raise Conflict("The inspection is finished", "检查已结束", code="INSPECTION_FINISHED",
                       detail={"status": status})
