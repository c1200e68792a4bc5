"""Eligibility at appointment (Art. 7, 9, 11, 17, 18) and term limits (Art. 22), as pure checks.

Owns the one decision "may this person be appointed on these facts?". `check_appointment` returns
every violation at once, so the personnel office can fix a file in one pass; `require_eligible`
turns a non-empty list into the `422 NOT_ELIGIBLE` of API.md. Facts come in already gathered (birth
date from the ID number, qualifications from the person's record): no database here.

Readings of the implementing rules (reference/000_fe79f26ec0034250.txt) that the code rests on:

* Art. 11 opens "有下列情形之一的人员，不得聘用为技术检查员" — its disqualifications bar
  appointment as a *technical inspector* only. Chapter 3 (Art. 17-20) sets no such list for social
  supervisors (they are "聘任", chosen by recommendation or invitation from people "具有较高政策水平和
  较强法治意识…有一定社会影响的人士"), so Art. 11 is not applied to supervisors.
* Art. 11's last paragraph "聘用为兼职技术检查员的，不受前款第（四）项的限制": the labour-contract /
  labour-dispute bar (item 4) applies to full-time inspectors only.
* Art. 6 and 7: full-time inspectors are recruited by exam (考试) or, for the Art. 7 second paragraph
  exception, by assessment (考核); another route is `ART7_ROUTE_INVALID`.
* Art. 22 "每届3年": a term of a part-time inspector or supervisor may end at the latest on the same
  calendar day three years after it starts (2026-01-01 → 2029-01-01 at the latest). A start on
  29 February maps to 28 February (the day that keeps the term within three years).
* "Under 18" (Art. 11(1), 未满18周岁): a person is 18 on their 18th birthday. Someone born on
  29 February turns 18 on 1 March in a common year: the day after 28 February is the first day on
  which every reading of "has completed 18 years" agrees, and a disqualification should not rest on
  the generous reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from backend.core.errors import Unprocessable, validation_error
from backend.guards.eligibility_facts import (
    DEGREE_LEVELS,
    EMPLOYMENTS,
    EXPERIENCE_EXCEPTION_YEARS,
    INVITEE_CATEGORIES,
    REGISTERED_SAFETY_ENGINEER_LEVELS,
    ROLES,
    TERM_YEARS,
    TITLE_LEVELS,
    VOCATIONAL_LEVELS,
    AppointmentFacts,
    Qualification,
    Violation,
    add_years,
    eighteenth_birthday,
)

__all__ = [
    "DEGREE_LEVELS",
    "INVITEE_CATEGORIES",
    "REGISTERED_SAFETY_ENGINEER_LEVELS",
    "TITLE_LEVELS",
    "VOCATIONAL_LEVELS",
    "AppointmentFacts",
    "Qualification",
    "Violation",
    "add_years",
    "check_appointment",
    "eighteenth_birthday",
    "require_eligible",
]


# --------------------------------------------------------------------------------------------------
# Small predicates
# --------------------------------------------------------------------------------------------------


def _at_least(ladder: Sequence[str], level: str, minimum: str) -> bool:
    # An unknown level counts for nothing: a typo must not qualify anyone.
    return level in ladder and ladder.index(level) >= ladder.index(minimum)


def _has(quals: Sequence[Qualification], kind: str, ladder: Sequence[str], minimum: str) -> bool:
    return any(q.kind == kind and _at_least(ladder, q.level, minimum) for q in quals)


def _blank(value: str | None) -> bool:
    return value is None or not str(value).strip()


def _consulted_recorded(consulted: Sequence[str] | str | None) -> bool:
    if consulted is None:
        return False
    if isinstance(consulted, str):
        return bool(consulted.strip())
    return any(isinstance(c, str) and c.strip() for c in consulted)


def _declared(declarations: Mapping[str, Any], key: str) -> bool:
    # A disqualifying circumstance counts when it is declared with any truthy value; a missing key
    # is "not declared" (the declaration form only lists what the person affirms).
    return bool(declarations.get(key, False))


def _consented(consents: Mapping[str, Any]) -> bool:
    # Consent must be an explicit True from both: silence, None or "yes"-ish strings are not consent.
    return consents.get("self") is True and consents.get("employer") is True


# --------------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------------

_ART11_DECLARATIONS: Final = (
    (
        "criminal_record",
        "ART11_CRIMINAL_RECORD",
        "Has received a criminal penalty (Art. 11(2)).",
        "受过刑事处罚的，不得聘用为技术检查员（第十一条第二项）。",
    ),
    (
        "pending_criminal_case",
        "ART11_PENDING_CRIMINAL_CASE",
        "Is suspected of a crime and the judicial proceedings have not ended (Art. 11(2)).",
        "涉嫌犯罪司法程序尚未终结的，不得聘用为技术检查员（第十一条第二项）。",
    ),
    (
        "dismissed_from_public_office",
        "ART11_DISMISSED_FROM_PUBLIC_OFFICE",
        "Was dismissed from public office or discharged by a state organ, public institution or "
        "state-owned enterprise (Art. 11(3)).",
        "曾被国家机关、事业单位、国有企业开除公职或者辞退的，不得聘用为技术检查员（第十一条第三项）。",
    ),
    (
        "dishonest_list",
        "ART11_DISHONEST_LIST",
        "Is listed for joint punishment for dishonesty (Art. 11(5)).",
        "被依法列为失信联合惩戒对象的，不得聘用为技术检查员（第十一条第五项）。",
    ),
)


def _art11(facts: AppointmentFacts, full_time: bool) -> list[Violation]:
    out: list[Violation] = []
    if facts.start_date < eighteenth_birthday(facts.birth_date):
        out.append(
            Violation(
                "ART11_UNDER_18",
                "11",
                f"Under 18 on the start date {facts.start_date.isoformat()} (Art. 11(1)).",
                f"聘用起始日{facts.start_date.isoformat()}未满18周岁（第十一条第一项）。",
            )
        )
    if facts.declarations.get("full_civil_capacity") is not True:
        out.append(
            Violation(
                "ART11_NO_CIVIL_CAPACITY",
                "11",
                "Full capacity for civil conduct is not declared (Art. 11(1)).",
                "未声明具备完全民事行为能力（第十一条第一项）。",
            )
        )
    for key, code, message, message_zh in _ART11_DECLARATIONS:
        if _declared(facts.declarations, key):
            out.append(Violation(code, "11", message, message_zh))
    if full_time and _declared(facts.declarations, "unresolved_labor_dispute"):
        out.append(
            Violation(
                "ART11_LABOR_DISPUTE",
                "11",
                "Cannot terminate the labour contract with the former employer or has an unresolved "
                "labour dispute (Art. 11(4); full-time only).",
                "与原工作单位无法解除劳动合同或者存在劳动纠纷尚未解决（第十一条第四项，适用于专职）。",
            )
        )
    return out


def _art7(facts: AppointmentFacts) -> list[Violation]:
    out: list[Violation] = []
    if facts.route not in ("exam", "assessment"):
        out.append(
            Violation(
                "ART7_ROUTE_INVALID",
                "7",
                "A full-time inspector is recruited by exam or by assessment (Art. 6, 7).",
                "专职技术检查员应当通过考试或者考核的方式聘用（第六条、第七条）。",
            )
        )
    # Art. 7 second paragraph: ten years in the field waives item (2), but only on the assessment
    # route ("通过考核的方式聘用").
    experienced = (
        facts.route == "assessment"
        and facts.experience_years is not None
        and facts.experience_years >= EXPERIENCE_EXCEPTION_YEARS
    )
    quals = facts.qualifications
    qualified = (
        any(
            q.kind == "degree" and q.safety_related and _at_least(DEGREE_LEVELS, q.level, "bachelor")
            for q in quals
        )
        or _has(quals, "professional_title", TITLE_LEVELS, "intermediate")
        or _has(quals, "vocational_qualification", VOCATIONAL_LEVELS, "level_2")
        or _has(quals, "registered_safety_engineer", REGISTERED_SAFETY_ENGINEER_LEVELS, "assistant")
    )
    if not (qualified or experienced):
        out.append(
            Violation(
                "ART7_QUALIFICATION_REQUIRED",
                "7",
                "Needs a safety-related bachelor's degree or above, an intermediate professional title "
                "or above, a level-2 (technician) vocational qualification or above, or a registered "
                "safety engineer qualification; or 10 years in the field on the assessment route (Art. 7).",
                "需具有安全类专业本科以上学历，或中级以上专业技术职称、二级（技师）以上职业资格，或注册安全"
                "工程师等职业资格；从业满10年的可通过考核方式聘用（第七条）。",
            )
        )
    return out


def _art9(facts: AppointmentFacts) -> list[Violation]:
    out: list[Violation] = []
    if facts.route not in ("expert_pool", "recommendation"):
        out.append(
            Violation(
                "ART9_ROUTE_INVALID",
                "9",
                "A part-time inspector is appointed from the expert pool or on recommendation (Art. 9).",
                "兼职技术检查员应当从专家库或者经有关方面推荐的专业技术人员中聘用（第九条）。",
            )
        )
    if not _consented(facts.consents):
        out.append(
            Violation(
                "ART9_CONSENT_REQUIRED",
                "9",
                "Needs the consent of the person and of their employer (Art. 9).",
                "聘用兼职技术检查员需经本人及所在单位同意（第九条）。",
            )
        )
    quals = facts.qualifications
    qualified = _has(quals, "professional_title", TITLE_LEVELS, "deputy_senior") or _has(
        quals, "registered_safety_engineer", REGISTERED_SAFETY_ENGINEER_LEVELS, "intermediate"
    )
    # "一般应当": the rule admits exceptions, but only recorded ones.
    if not qualified and _blank(facts.exception_reason):
        out.append(
            Violation(
                "ART9_QUALIFICATION_REQUIRED",
                "9",
                "Needs a deputy-senior professional title or above, or an intermediate registered safety "
                "engineer qualification or above, unless an exception reason is recorded (Art. 9).",
                "兼职技术检查员一般应当具有副高以上技术职称或者中级及以上注册安全工程师职业资格，"
                "特殊情况需记录理由（第九条）。",
            )
        )
    return out


def _art17_18(facts: AppointmentFacts) -> list[Violation]:
    out: list[Violation] = []
    # One ART17_ROUTE_INVALID at most, naming every gap: codes are unique within the result.
    problems: list[tuple[str, str]] = []
    if facts.route == "recommendation":
        if _blank(facts.recommended_by):
            problems.append(("the recommending body is not recorded", "未记录推荐单位"))
    elif facts.route == "invitation":
        if facts.invitee_category not in INVITEE_CATEGORIES:
            problems.append(
                (
                    "the invitee category must be people_congress_deputy, cppcc_member, lawyer or other",
                    "受邀人员类别应为人大代表、政协委员、律师或其他人士",
                )
            )
        if not _consulted_recorded(facts.consulted):
            problems.append(("the bodies consulted are not recorded", "未记录征求意见的单位"))
    else:
        problems.append(
            (
                "a supervisor is appointed by recommendation or invitation",
                "社会监督员应通过推荐或者邀请方式聘任",
            )
        )
    if problems:
        out.append(
            Violation(
                "ART17_ROUTE_INVALID",
                "17",
                "Route invalid: " + "; ".join(en for en, _ in problems) + " (Art. 17, 18).",
                "聘任方式不符合规定：" + "；".join(zh for _, zh in problems) + "（第十七条、第十八条）。",
            )
        )
    if not _consented(facts.consents):
        out.append(
            Violation(
                "ART18_CONSENT_REQUIRED",
                "18",
                "Needs the consent of the person and of their employer (Art. 18).",
                "聘任社会监督员需经本人及其所在单位同意（第十八条）。",
            )
        )
    return out


def _art22(facts: AppointmentFacts, limited: bool) -> list[Violation]:
    start, end = facts.start_date, facts.end_date
    if end is None:
        if not limited:
            return []  # full-time: the agency sets the term, open-ended is allowed
        return [
            Violation(
                "ART22_TERM_REQUIRED",
                "22",
                "Part-time inspectors and social supervisors need an end date (Art. 22).",
                "兼职技术检查员和社会监督员须设定聘用期限（第二十二条）。",
            )
        ]
    if end < start:
        return [
            Violation(
                "ART22_TERM_INVALID",
                "22",
                "The end date is before the start date (Art. 22).",
                "聘用期限的结束日期早于开始日期（第二十二条）。",
            )
        ]
    latest = add_years(start, TERM_YEARS)
    if limited and end > latest:
        return [
            Violation(
                "ART22_TERM_TOO_LONG",
                "22",
                f"A term is at most 3 years: it may end on {latest.isoformat()} at the latest (Art. 22).",
                f"每届聘期不超过3年，结束日期最迟为{latest.isoformat()}（第二十二条）。",
            )
        ]
    return []


def check_appointment(req: AppointmentFacts) -> list[Violation]:
    """Every rule the appointment breaks, in article order; empty when it may go ahead.

    Each code appears at most once. Malformed facts (unknown role, an inspector without a valid
    employment) are not eligibility questions and raise a 422 VALIDATION_ERROR instead.
    """
    if req.role not in ROLES:
        raise validation_error(
            "role",
            "INVALID",
            "must be technical_inspector or social_supervisor",
            "应为技术检查员或社会监督员",
        )
    if req.role == "social_supervisor":
        # Art. 11 is not applied to supervisors (see the module docstring); `employment` is ignored.
        return [*_art17_18(req), *_art22(req, limited=True)]

    if req.employment not in EMPLOYMENTS:
        raise validation_error(
            "employment",
            "INVALID",
            "a technical inspector is full_time or part_time",
            "技术检查员应为专职或兼职",
        )
    full_time = req.employment == "full_time"
    violations = _art11(req, full_time)
    violations += _art7(req) if full_time else _art9(req)
    violations += _art22(req, limited=not full_time)
    return violations


def require_eligible(req: AppointmentFacts) -> None:
    """Raise `422 NOT_ELIGIBLE` carrying `detail.violations` when `check_appointment` finds any."""
    violations = check_appointment(req)
    if not violations:
        return
    articles = {v.article for v in violations}
    raise Unprocessable(
        "Not eligible for appointment: " + ", ".join(v.code for v in violations),
        "不符合聘用条件：" + "；".join(v.message_zh for v in violations),
        code="NOT_ELIGIBLE",
        # `article` is the single article the refusal rests on, when there is one.
        article=articles.pop() if len(articles) == 1 else None,
        detail={"violations": [v.as_dict() for v in violations]},
    )
