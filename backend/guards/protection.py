"""Protection of inspectors and supervisors (Art. 28, 29) and social supervision (Art. 19, 20), as
pure rules: which article a report falls under, which state changes a case may make, deadlines, who
may see and act on a case or a supervisor's submission. No database here; services gather the facts.

Readings of the implementing rules (reference/000_fe79f26ec0034250.txt) the code rests on:

* Art. 28 "恐吓威胁、滋事骚扰、攻击辱骂或者人身、财产受到侵害 … 应当及时告知当地公安机关并协助依法处置":
  the agency must tell the police *promptly* and then *assist*. A case therefore moves
  `reported` → `police_notified` → `assisting` (one or more assistance actions) → `closed`; closing
  without recorded assistance, or assisting before the police know, is refused. "Promptly" is a
  deadline (`police_notify_due_at`, settings.police_notify_hours after the report).
* Art. 29 "遭受不实投诉、诬告以及诽谤、侮辱，经调查认定不予追究责任的，应急管理部门应当以适当形式及时澄清事实":
  clarification follows an investigation that finds no liability. A case moves `reported` →
  `investigating` (`POST /incidents/{id}/investigation`, optional: the agency may record when its
  investigation started) → `found_not_liable` | `found_liable`. API.md lets a finding be posted on a
  new case directly; the finding then closes an investigation that started with it. Only a
  not-liable finding may be `clarified` (deadline settings.clarification_days after the finding),
  and a liable finding goes straight to `closed`.
* Art. 28 lists 辱骂 (insult) among the acts the police are told about, so `insult` is an Art. 28
  kind; Art. 29's 侮辱 is covered by `defamation` / `false_accusation` reports.
* Who acts for "应急管理部门": its staff — `agency_admin` (leadership) and `hr_admin` (the personnel
  office, which owns the inspectors' and supervisors' files) — of the reporter's agency or above.
  Officers are colleagues of the reporter, not the agency's administration: they neither see
  incident reports nor answer supervisors (Art. 20 "予以反馈" is the agency's formal answer).
* Social supervision (Art. 19, 20): a supervisor writes to an agency within their jurisdiction (own
  agency or below). Officers of the target agency or above may read submissions (clues of
  violations and hidden hazards are theirs to follow up), but the supervisor's identity is shown
  only to agency staff and to the supervisor themself, so that a criticised unit cannot single
  the supervisor out.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

from backend.core.auth import STAFF_ROLES, Principal
from backend.core.errors import Forbidden, GuardError, NotFound, validation_error
from backend.guards.access import in_jurisdiction, require_role

__all__ = [
    "ART28_KINDS",
    "ART29_KINDS",
    "INCIDENT_KINDS",
    "INCIDENT_STATUSES",
    "REPORTER_ROLES",
    "SUBMISSION_KINDS",
    "TRANSITIONS",
    "ancestor_paths",
    "article_for",
    "clarification_due_at",
    "incident_overdue",
    "incident_visible",
    "may_see_supervisor_identity",
    "police_notify_due_at",
    "require_incident_staff",
    "require_incident_visible",
    "require_may_answer",
    "require_reporter",
    "require_submission_target",
    "require_submission_visible",
    "require_supervisor",
    "require_transition",
    "require_victim",
    "submission_due_at",
    "submission_overdue",
    "submission_visible",
]

ART28_KINDS: Final = frozenset({
    "intimidation", "threat", "provocation", "harassment", "attack", "insult", "personal_harm", "property_harm",
})
ART29_KINDS: Final = frozenset({"false_complaint", "false_accusation", "defamation"})
INCIDENT_KINDS: Final = ART28_KINDS | ART29_KINDS
#: Incident kinds as a Chinese message names them (the wording of Art. 28 and 29).
KIND_ZH: Final = {
    "intimidation": "恐吓", "threat": "威胁", "provocation": "滋事", "harassment": "骚扰", "attack": "攻击",
    "insult": "辱骂", "personal_harm": "人身受到侵害", "property_harm": "财产受到侵害",
    "false_complaint": "不实投诉", "false_accusation": "诬告", "defamation": "诽谤、侮辱",
}

REPORTER_ROLES: Final = ("technical_inspector", "social_supervisor")

#: Allowed state changes per article. `assisting → assisting` is a further assistance action.
TRANSITIONS: Final[dict[str, dict[str, frozenset[str]]]] = {
    "28": {
        "reported": frozenset({"police_notified"}),
        "police_notified": frozenset({"assisting"}),
        "assisting": frozenset({"assisting", "closed"}),
        "closed": frozenset(),
    },
    "29": {
        "reported": frozenset({"investigating", "found_not_liable", "found_liable"}),
        "investigating": frozenset({"found_not_liable", "found_liable"}),
        "found_not_liable": frozenset({"clarified"}),
        "found_liable": frozenset({"closed"}),
        "clarified": frozenset({"closed"}),
        "closed": frozenset(),
    },
}
#: Case states as a Chinese message names them (no English enum names inside message_zh).
STATUS_ZH: Final = {
    "reported": "已报告", "police_notified": "已告知公安机关", "assisting": "协助处置中", "closed": "已结案",
    "investigating": "调查中", "found_not_liable": "经调查不予追究", "found_liable": "经调查应予追究",
    "clarified": "已澄清",
}
INCIDENT_STATUSES: Final = frozenset(s for graph in TRANSITIONS.values() for s in graph)

SUBMISSION_KINDS: Final = frozenset({"criticism", "opinion", "suggestion", "violation_clue", "hazard_clue"})


# ------------------------------------------------------------------------------------------------
# Incidents
# ------------------------------------------------------------------------------------------------


def article_for(kind: str) -> str:
    """"28" or "29" for an incident kind."""
    if kind in ART28_KINDS:
        return "28"
    if kind in ART29_KINDS:
        return "29"
    raise validation_error("kind", "invalid", f"unknown incident kind {kind!r}", "未知的事件类型")


def require_reporter(principal: Principal) -> None:
    """Only the people Art. 28/29 protect report: technical inspectors and social supervisors."""
    require_role(principal, *REPORTER_ROLES, article="28")


def require_victim(victim: str, relative_relation: str | None) -> None:
    """A harmed close relative (近亲属) needs the relation named; the reporter themself needs none."""
    relation = (relative_relation or "").strip()
    if victim == "relative" and not relation:
        raise validation_error("relative_relation", "required", "name the relation when a relative was the victim",
                               "受害人为近亲属时须注明亲属关系")
    if victim == "self" and relation:
        raise validation_error("relative_relation", "not_applicable",
                               "relative_relation applies only when victim is relative",
                               "受害人为本人时不填写亲属关系")


def require_transition(article: str, current: str, target: str) -> None:
    """409 INVALID_TRANSITION unless `current → target` is a step of the article's workflow."""
    allowed = TRANSITIONS.get(article, {}).get(current, frozenset())
    if target not in allowed:
        raise GuardError(
            f"An Art. {article} case cannot go from {current} to {target}",
            f"第{article}条案件不能从“{STATUS_ZH.get(current, current)}”转为“{STATUS_ZH.get(target, target)}”",
            code="INVALID_TRANSITION", article=article, status=409,
            detail={"from": current, "to": target, "allowed": sorted(allowed)},
        )


def police_notify_due_at(reported_at: datetime, hours: int) -> datetime:
    return reported_at + timedelta(hours=hours)


def clarification_due_at(found_at: datetime, days: int) -> datetime:
    return found_at + timedelta(days=days)


def incident_overdue(
    *,
    article: str,
    now: datetime,
    police_notify_due_at: datetime | None,
    police_notified_at: datetime | None,
    liable: bool | None,
    clarification_due_at: datetime | None,
    clarified_at: datetime | None,
) -> bool:
    """Past its deadline without the required step: Art. 28 — no police notification by
    `police_notify_due_at`; Art. 29 — a not-liable finding not clarified by `clarification_due_at`.
    Repositories filter with the same predicate in SQL."""
    if article == "28":
        return police_notified_at is None and police_notify_due_at is not None and now > police_notify_due_at
    return (liable is False and clarified_at is None and clarification_due_at is not None
            and now > clarification_due_at)


def incident_visible(principal: Principal, *, reporter_id: uuid.UUID, agency_path: str) -> bool:
    """The reporter, and staff of the reporter's agency or above; nobody else (not colleagues, not
    officers, not other cities)."""
    if principal.person_id == reporter_id:
        return True
    return principal.role in STAFF_ROLES and in_jurisdiction(principal, agency_path)


def require_incident_visible(principal: Principal, *, reporter_id: uuid.UUID, agency_path: str) -> None:
    if not incident_visible(principal, reporter_id=reporter_id, agency_path=agency_path):
        raise NotFound("No such incident", "未找到该事件")


def require_incident_staff(principal: Principal, *, agency_path: str, article: str) -> None:
    """Acts of the agency on a case (police notification, assistance, investigation, findings,
    clarification, closure): staff of the reporter's agency or above."""
    require_role(principal, *STAFF_ROLES, article=article)
    if not in_jurisdiction(principal, agency_path):
        raise Forbidden("Outside your agency's jurisdiction", "超出本机关管辖范围", article=article,
                        detail={"reason": "jurisdiction"})


def ancestor_paths(agency_path: str) -> list[str]:
    """The materialised paths of an agency and every agency above it:
    "210000/210100/" → ["210000/", "210000/210100/"]."""
    parts = [p for p in agency_path.split("/") if p]
    return ["".join(f"{p}/" for p in parts[: i + 1]) for i in range(len(parts))]


# ------------------------------------------------------------------------------------------------
# Social supervision
# ------------------------------------------------------------------------------------------------


def require_supervisor(principal: Principal) -> None:
    """Art. 19: submissions come from social supervisors."""
    require_role(principal, "social_supervisor", article="19")


def require_submission_target(principal: Principal, target_agency_path: str) -> None:
    """Supervisors write to their own agency or one below it."""
    if not in_jurisdiction(principal, target_agency_path):
        raise Forbidden("You may write only to your own agency or one below it",
                        "只能向本机关或下级机关反映", article="19", detail={"reason": "jurisdiction"})


def submission_due_at(received_at: datetime, days: int) -> datetime:
    return received_at + timedelta(days=days)


def submission_visible(principal: Principal, *, supervisor_id: uuid.UUID, target_agency_path: str) -> bool:
    """The supervisor who wrote it; staff and officers of the target agency or above."""
    if principal.person_id == supervisor_id:
        return True
    return principal.role in (*STAFF_ROLES, "officer") and in_jurisdiction(principal, target_agency_path)


def require_submission_visible(principal: Principal, *, supervisor_id: uuid.UUID, target_agency_path: str) -> None:
    if not submission_visible(principal, supervisor_id=supervisor_id, target_agency_path=target_agency_path):
        raise NotFound("No such submission", "未找到该监督意见")


def may_see_supervisor_identity(principal: Principal, *, supervisor_id: uuid.UUID, target_agency_path: str) -> bool:
    if principal.person_id == supervisor_id:
        return True
    return principal.role in STAFF_ROLES and in_jurisdiction(principal, target_agency_path)


def require_may_answer(principal: Principal, *, target_agency_path: str, status: str) -> None:
    """Art. 20: the agency (its staff, of the target agency or above) answers, once."""
    require_role(principal, *STAFF_ROLES, article="20")
    if not in_jurisdiction(principal, target_agency_path):
        raise Forbidden("Outside your agency's jurisdiction", "超出本机关管辖范围", article="20",
                        detail={"reason": "jurisdiction"})
    if status != "received":
        raise GuardError("This submission has already been answered", "该监督意见已反馈",
                         code="INVALID_TRANSITION", article="20", status=409,
                         detail={"from": status, "to": "answered", "allowed": []})


def submission_overdue(*, status: str, due_at: datetime, now: datetime) -> bool:
    return status == "received" and now > due_at
