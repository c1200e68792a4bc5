"""Art. 28/29 and Art. 19/20 rules as pure functions: no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.core.auth import Principal
from backend.core.errors import Forbidden, GuardError, NotFound, Unprocessable
from backend.guards import protection as p

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SY = "210000/210100/"
SY_DISTRICT = "210000/210100/210102/"
DL = "210000/210200/"


def who(role: str, path: str = SY, person_id: uuid.UUID | None = None) -> Principal:
    code = path.rstrip("/").rsplit("/", 1)[-1]
    return Principal(person_id=person_id or uuid.uuid4(), role=role, agency_code=code, agency_path=path, name="x")


@pytest.mark.parametrize("kind", sorted(p.ART28_KINDS))
def test_art28_kinds(kind):
    assert p.article_for(kind) == "28"


@pytest.mark.parametrize("kind", sorted(p.ART29_KINDS))
def test_art29_kinds(kind):
    assert p.article_for(kind) == "29"


def test_kinds_are_disjoint_and_complete():
    assert not p.ART28_KINDS & p.ART29_KINDS
    assert len(p.INCIDENT_KINDS) == 11
    with pytest.raises(Unprocessable):
        p.article_for("sneezing")


@pytest.mark.parametrize("role", ["technical_inspector", "social_supervisor"])
def test_reporters(role):
    p.require_reporter(who(role))


@pytest.mark.parametrize("role", ["officer", "hr_admin", "agency_admin"])
def test_non_reporters(role):
    with pytest.raises(Forbidden) as exc:
        p.require_reporter(who(role))
    assert exc.value.code == "FORBIDDEN"


def test_victim_relation():
    p.require_victim("self", None)
    p.require_victim("relative", "spouse")
    for relation in (None, "", "   "):
        with pytest.raises(Unprocessable) as exc:
            p.require_victim("relative", relation)
        assert exc.value.detail["errors"][0]["field"] == "relative_relation"
    with pytest.raises(Unprocessable):
        p.require_victim("self", "spouse")


ART28_PATH = [("reported", "police_notified"), ("police_notified", "assisting"), ("assisting", "assisting"),
              ("assisting", "closed")]
ART29_PATHS = [("reported", "investigating"), ("reported", "found_not_liable"), ("reported", "found_liable"),
               ("investigating", "found_not_liable"),
               ("investigating", "found_liable"), ("found_not_liable", "clarified"), ("clarified", "closed"),
               ("found_liable", "closed")]


@pytest.mark.parametrize(("src", "dst"), ART28_PATH)
def test_art28_allowed(src, dst):
    p.require_transition("28", src, dst)


@pytest.mark.parametrize(("src", "dst"), ART29_PATHS)
def test_art29_allowed(src, dst):
    p.require_transition("29", src, dst)


def test_every_other_transition_is_refused():
    allowed = {("28", s, d) for s, d in ART28_PATH} | {("29", s, d) for s, d in ART29_PATHS}
    statuses = sorted(p.INCIDENT_STATUSES)
    refused = 0
    for article in ("28", "29"):
        for src in statuses:
            for dst in statuses:
                if (article, src, dst) in allowed:
                    continue
                with pytest.raises(GuardError) as exc:
                    p.require_transition(article, src, dst)
                err = exc.value
                assert (err.code, err.http_status, err.article) == ("INVALID_TRANSITION", 409, article)
                assert err.detail["from"] == src and err.detail["to"] == dst
                refused += 1
    assert refused == 2 * len(statuses) ** 2 - len(allowed)


def test_clarifying_a_liable_finding_is_refused():
    with pytest.raises(GuardError) as exc:
        p.require_transition("29", "found_liable", "clarified")
    assert exc.value.detail == {"from": "found_liable", "to": "clarified", "allowed": ["closed"]}


def test_deadlines():
    assert p.police_notify_due_at(T0, 24) == T0 + timedelta(hours=24)
    assert p.clarification_due_at(T0, 10) == T0 + timedelta(days=10)
    assert p.submission_due_at(T0, 15) == T0 + timedelta(days=15)


def test_art28_overdue():
    due = T0 + timedelta(hours=24)
    base = {"article": "28", "police_notify_due_at": due, "liable": None, "clarification_due_at": None,
            "clarified_at": None}
    assert not p.incident_overdue(now=due, police_notified_at=None, **base)  # at the deadline: still in time
    assert p.incident_overdue(now=due + timedelta(seconds=1), police_notified_at=None, **base)
    assert not p.incident_overdue(now=due + timedelta(days=9), police_notified_at=due + timedelta(days=1), **base)


def test_art29_overdue():
    due = T0 + timedelta(days=10)
    later = due + timedelta(seconds=1)
    base = {"article": "29", "police_notify_due_at": None, "police_notified_at": None}
    assert p.incident_overdue(now=later, liable=False, clarification_due_at=due, clarified_at=None, **base)
    assert not p.incident_overdue(now=due, liable=False, clarification_due_at=due, clarified_at=None, **base)
    assert not p.incident_overdue(now=later, liable=False, clarification_due_at=due, clarified_at=T0, **base)
    assert not p.incident_overdue(now=later, liable=True, clarification_due_at=None, clarified_at=None, **base)
    assert not p.incident_overdue(now=later, liable=None, clarification_due_at=None, clarified_at=None, **base)


def test_incident_visibility():
    reporter = uuid.uuid4()
    facts = {"reporter_id": reporter, "agency_path": SY}
    assert p.incident_visible(who("technical_inspector", SY, reporter), **facts)
    assert p.incident_visible(who("hr_admin", SY), **facts)
    assert p.incident_visible(who("agency_admin", SY), **facts)
    assert p.incident_visible(who("hr_admin", "210000/"), **facts)
    # Colleagues, officers, staff below the reporter's agency, other cities: nothing.
    for viewer in (who("technical_inspector", SY), who("social_supervisor", SY), who("officer", SY),
                   who("officer", "210000/"), who("hr_admin", SY_DISTRICT), who("agency_admin", DL)):
        assert not p.incident_visible(viewer, **facts)
        with pytest.raises(NotFound):
            p.require_incident_visible(viewer, **facts)


def test_incident_staff():
    p.require_incident_staff(who("hr_admin", "210000/"), agency_path=SY, article="28")
    with pytest.raises(Forbidden):
        p.require_incident_staff(who("technical_inspector", SY), agency_path=SY, article="28")
    with pytest.raises(Forbidden) as exc:
        p.require_incident_staff(who("agency_admin", DL), agency_path=SY, article="29")
    assert exc.value.article == "29" and exc.value.detail == {"reason": "jurisdiction"}


def test_ancestor_paths():
    assert p.ancestor_paths("210000/210100/210102/") == ["210000/", "210000/210100/", "210000/210100/210102/"]
    assert p.ancestor_paths("210000/") == ["210000/"]
    assert p.ancestor_paths("") == []


def test_supervision_submit():
    p.require_supervisor(who("social_supervisor"))
    for role in ("technical_inspector", "officer", "hr_admin", "agency_admin"):
        with pytest.raises(Forbidden):
            p.require_supervisor(who(role))
    p.require_submission_target(who("social_supervisor", SY), SY)
    p.require_submission_target(who("social_supervisor", SY), SY_DISTRICT)
    for target in ("210000/", DL):
        with pytest.raises(Forbidden) as exc:
            p.require_submission_target(who("social_supervisor", SY), target)
        assert exc.value.article == "19"


def test_submission_visibility_and_identity():
    sup = uuid.uuid4()
    facts = {"supervisor_id": sup, "target_agency_path": SY_DISTRICT}
    owner = who("social_supervisor", SY, sup)
    staff = who("hr_admin", SY)
    officer = who("officer", SY)
    assert p.submission_visible(owner, **facts) and p.may_see_supervisor_identity(owner, **facts)
    assert p.submission_visible(staff, **facts) and p.may_see_supervisor_identity(staff, **facts)
    assert p.submission_visible(officer, **facts) and not p.may_see_supervisor_identity(officer, **facts)
    for viewer in (who("social_supervisor", SY), who("technical_inspector", SY), who("officer", DL),
                   who("hr_admin", DL), who("agency_admin", "210000/210100/210103/")):
        assert not p.submission_visible(viewer, **facts)
        assert not p.may_see_supervisor_identity(viewer, **facts)
        with pytest.raises(NotFound):
            p.require_submission_visible(viewer, **facts)


def test_may_answer():
    p.require_may_answer(who("agency_admin", SY), target_agency_path=SY_DISTRICT, status="received")
    p.require_may_answer(who("hr_admin", "210000/"), target_agency_path=SY, status="received")
    for role in ("officer", "social_supervisor", "technical_inspector"):
        with pytest.raises(Forbidden):
            p.require_may_answer(who(role), target_agency_path=SY, status="received")
    with pytest.raises(Forbidden):
        p.require_may_answer(who("hr_admin", SY_DISTRICT), target_agency_path=SY, status="received")
    with pytest.raises(GuardError) as exc:
        p.require_may_answer(who("hr_admin", SY), target_agency_path=SY, status="answered")
    assert (exc.value.code, exc.value.http_status) == ("INVALID_TRANSITION", 409)


def test_submission_overdue():
    due = T0 + timedelta(days=15)
    assert not p.submission_overdue(status="received", due_at=due, now=due)
    assert p.submission_overdue(status="received", due_at=due, now=due + timedelta(seconds=1))
    assert not p.submission_overdue(status="answered", due_at=due, now=due + timedelta(days=1))
