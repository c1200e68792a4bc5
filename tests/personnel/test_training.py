"""Trainings and the Art. 14 yearly training report (JSON and CSV)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import demo_id
from tests.personnel.helpers import appointed_inspector, make_hr, make_person

pytestmark = pytest.mark.db


async def add_training(client, headers, person_id, **body):
    return await client.post(f"/api/v1/people/{person_id}/trainings", json=body, headers=headers)


async def test_training_recorded_and_listed(client, token_for):
    hr = token_for("sy.hr")
    ft = demo_id("sy.inspector.ft")
    r = await add_training(client, hr, ft, kind="special", start_date="2026-09-01", days=2)
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "special" and r.json()["assessment_passed"] is None
    listing = await client.get(f"/api/v1/people/{ft}/trainings", headers=token_for("sy.admin"))
    assert r.json()["id"] in {t["id"] for t in listing.json()["items"]}
    # The person sees their own file.
    own = await client.get(f"/api/v1/people/{ft}/trainings", headers=token_for("sy.inspector.ft"))
    assert own.status_code == 200
    # A colleague without a staff role does not.
    assert (await client.get(f"/api/v1/people/{ft}/trainings", headers=token_for("sy.officer1"))).status_code == 403
    assert (await client.get(f"/api/v1/people/{ft}/trainings", headers=token_for("dl.officer1"))).status_code == 404


async def test_training_refusals(client, token_for):
    hr = token_for("sy.hr")
    ft = demo_id("sy.inspector.ft")
    for bad in ({"kind": "rotation", "start_date": "2026-03-01", "days": 0},
                {"kind": "rotation", "start_date": "2026-03-01", "days": 366},
                {"kind": "yoga", "start_date": "2026-03-01", "days": 2},
                {"kind": "rotation", "start_date": "March", "days": 2},
                {"kind": "rotation", "start_date": "2026-03-01", "days": "two"},
                {"kind": "rotation", "start_date": "2026-03-01", "days": 2, "hours": 3}):
        r = await add_training(client, hr, ft, **bad)
        assert r.status_code == 422, bad
        assert r.json()["code"] == "VALIDATION_ERROR"
    for who in ("sy.officer1", "sy.inspector.ft", "sy.supervisor", "dl.officer1"):
        r = await add_training(client, token_for(who), ft, kind="rotation", start_date="2026-03-01", days=2)
        assert r.status_code == 403, who
    dl_hr = await make_hr(client, token_for, "210200")
    r = await add_training(client, dl_hr, ft, kind="rotation", start_date="2026-03-01", days=2)
    assert r.status_code == 403


async def test_training_report(client, token_for):
    hr = token_for("sy.hr")
    report = await client.get("/api/v1/reports/training?year=2026", headers=hr)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["year"] == 2026 and body["required_days"] == 7 and body["agency_code"] == "210100"
    rows = {r["person_id"]: r for r in body["items"]}
    ft, pt, new, untrained = (str(demo_id(u)) for u in
                              ("sy.inspector.ft", "sy.inspector.pt", "sy.inspector.new", "sy.inspector.untrained"))
    assert {ft, pt, new, untrained} <= set(rows)
    assert str(demo_id("sy.supervisor")) not in rows  # supervisors are not inspectors
    assert rows[ft]["rotation_days"] == 4 and rows[ft]["days"] == 4 and rows[ft]["compliant"] is False
    assert rows[ft]["shortfall_days"] == 3 and rows[ft]["pre_job_passed"] is True
    assert rows[untrained]["days"] == 0 and rows[untrained]["pre_job_passed"] is False
    # Pre-job training does not count; rotation + special does; another year's does not.
    await add_training(client, hr, ft, kind="pre_job", start_date="2026-02-01", days=5, assessment_passed=True)
    await add_training(client, hr, ft, kind="special", start_date="2027-01-05", days=5)
    still = (await client.get("/api/v1/reports/training?year=2026", headers=hr)).json()
    assert {r["person_id"]: r for r in still["items"]}[ft]["compliant"] is False
    await add_training(client, hr, ft, kind="special", start_date="2026-10-10", days=3)
    after = (await client.get("/api/v1/reports/training?year=2026", headers=hr)).json()
    row = {r["person_id"]: r for r in after["items"]}[ft]
    assert row["special_days"] == 3 and row["days"] == 7 and row["compliant"] is True and row["shortfall_days"] == 0
    assert after["compliant_count"] == body["compliant_count"] + 1
    # Nobody served in 2020.
    assert (await client.get("/api/v1/reports/training?year=2020", headers=hr)).json()["items"] == []


async def test_training_report_jurisdiction_and_filter(client, token_for):
    district = await appointed_inspector(client, token_for, agency_code="210102")
    dalian = await appointed_inspector(client, token_for, agency_code="210200", creator="ln.hr")
    sy = (await client.get("/api/v1/reports/training?year=2026", headers=token_for("sy.admin"))).json()
    ids = {r["person_id"] for r in sy["items"]}
    assert district["id"] in ids and dalian["id"] not in ids
    only_district = (await client.get("/api/v1/reports/training?year=2026&agency_code=210102",
                                      headers=token_for("sy.hr"))).json()
    assert [r["person_id"] for r in only_district["items"]] == [district["id"]]
    province = (await client.get("/api/v1/reports/training?year=2026", headers=token_for("ln.hr"))).json()
    assert {district["id"], dalian["id"]} <= {r["person_id"] for r in province["items"]}
    other_city = await client.get("/api/v1/reports/training?year=2026&agency_code=210200", headers=token_for("sy.hr"))
    assert other_city.status_code == 404
    for who in ("sy.officer1", "sy.inspector.ft", "dl.officer1"):
        assert (await client.get("/api/v1/reports/training?year=2026", headers=token_for(who))).status_code == 403
    assert (await client.get("/api/v1/reports/training?year=2026")).status_code == 401
    assert (await client.get("/api/v1/reports/training?year=1066", headers=token_for("sy.hr"))).status_code in (400, 422)
    assert (await client.get("/api/v1/reports/training?year=abc", headers=token_for("sy.hr"))).status_code in (400, 422)


async def test_training_report_csv(client, token_for):
    hr = token_for("sy.hr")
    # A name that would be a formula in Excel is neutralised.
    tricky = await make_person(client, hr, name="=HYPERLINK(1)")
    await client.post(f"/api/v1/people/{tricky['id']}/qualifications",
                      json={"kind": "registered_safety_engineer", "level": "assistant"}, headers=hr)
    r = await client.post(f"/api/v1/people/{tricky['id']}/appointments", headers=hr, json={
        "role": "technical_inspector", "start_date": "2026-03-01", "contract_type": "labor", "route": "exam",
        "declarations": {"full_civil_capacity": True}})
    assert r.status_code == 201, r.text
    res = await client.get("/api/v1/reports/training.csv?year=2026", headers=hr)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert "attachment" in res.headers["content-disposition"]
    raw = res.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    json_rows = (await client.get("/api/v1/reports/training?year=2026", headers=hr)).json()["items"]
    assert len(rows) == len(json_rows)
    by_id = {r["person_id"]: r for r in rows}
    ft = by_id[str(demo_id("sy.inspector.ft"))]
    # The demo name, in Chinese, comes through intact.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ft["name"])
    assert ft["name"] == {r["person_id"]: r for r in json_rows}[str(demo_id("sy.inspector.ft"))]["name"]
    assert ft["days"] == "4" and ft["compliant"] == "false"
    assert by_id[tricky["id"]]["name"] == "'=HYPERLINK(1)"
    assert (await client.get("/api/v1/reports/training.csv?year=2026", headers=token_for("sy.officer1"))).status_code == 403
