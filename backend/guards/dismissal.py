"""Articles 22, 25, 26 and 27 at the end of a working life, as pure checks: who is dismissed here,
what a dismissal stops and opens, when a lapsed term dismisses, and which dismissal reason a
misconduct sanction carries. The service gathers the facts and stores the outcome; no database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final, Literal

from backend.core.errors import Conflict, Unprocessable, validation_error

#: Art. 25 speaks of technical inspectors and social supervisors only (so does Art. 26).
DISMISSIBLE_ROLES: Final = ("technical_inspector", "social_supervisor")
#: Art. 25, last paragraph: 工作证件、防护装备、技术装备 are handed back.
CHECKLIST_ITEMS: Final = ("credential_card", "protective_equipment", "technical_equipment")

_NOT_DISMISSIBLE: Final = {
    "25": ("Only technical inspectors and social supervisors are dismissed here (Art. 25)",
           "仅技术检查员和社会监督员适用解聘（第二十五条）"),
    "26": ("Art. 26 applies to technical inspectors and social supervisors",
           "第二十六条适用于技术检查员和社会监督员"),
}


def require_dismissible(role: str, article: Literal["25", "26"]) -> None:
    """422 NOT_INSPECTOR_OR_SUPERVISOR for anyone Art. 25 (dismissal) or Art. 26 (misconduct)
    does not speak of: officers and agency staff are dealt with under other rules."""
    if role not in DISMISSIBLE_ROLES:
        message, message_zh = _NOT_DISMISSIBLE[article]
        raise Unprocessable(message, message_zh, code="NOT_INSPECTOR_OR_SUPERVISOR", article=article)


def require_not_dismissed(status: str) -> None:
    """A person is dismissed once (409 ALREADY_DISMISSED)."""
    if status == "dismissed":
        raise Conflict("The person is already dismissed", "该人员已被解聘", code="ALREADY_DISMISSED",
                       article="25")


def appointment_stops_on(end_date: date | None, effective_date: date) -> date:
    """The day a dismissed appointment stops: the dismissal's date, but never past the agreed end."""
    if end_date is not None and end_date < effective_date:
        return end_date
    return effective_date


def lapsed_term_outcome(*, role: str, status: str, renewed: bool) -> Literal["ended", "dismissed"]:
    """Art. 22, 25: a term that ends without renewal dismisses the person. With a renewal still
    running, or for someone already dismissed or not dismissible here, the appointment just ends."""
    if renewed or status == "dismissed" or role not in DISMISSIBLE_ROLES:
        return "ended"
    return "dismissed"


def lapsed_term_dismissal_date(end_date: date) -> date:
    """A lapsed term's dismissal takes effect the day after the term's last day."""
    return end_date + timedelta(days=1)


def misconduct_dismissal_reason(sanction: str) -> Literal["criminal", "discipline"]:
    """Art. 26, 27: a case transferred to the judicial organs dismisses as `criminal`, any other
    sanction that leads to dismissal as `discipline`."""
    return "criminal" if sanction == "transfer_to_judicial" else "discipline"


def require_effective_date_only_with_dismissal(effective_date: date | None, leads_to_dismissal: bool) -> None:
    """A misconduct record's `effective_date` is the dismissal's: without one it has no meaning."""
    if effective_date is not None and not leads_to_dismissal:
        raise validation_error("effective_date", "not_applicable", "only with leads_to_dismissal",
                               "仅在导致解聘时填写")
